"""Tiny RSS helper for the overhead probes: per-stage RSS and exact per-stage peak (VmHWM reset by
writing 5 to /proc/self/clear_refs before each stage). All numbers are MiB above the baseline."""
import gc
import json
import os
import sys

MiB = 1024 * 1024


def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def reset_hwm():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class Stages:
    def __init__(self, label):
        self.label = label
        gc.collect()
        s = status()
        self.base = s
        self.rows = []
        self.maxpeak = 0
        reset_hwm()

    def mark(self, name, **extra):
        gc.collect()
        s = status()
        row = {
            "stage": name,
            "rss": (s["VmRSS"] - self.base["VmRSS"]) / MiB,
            "anon": (s["RssAnon"] - self.base["RssAnon"]) / MiB,
            "file": (s["RssFile"] - self.base["RssFile"]) / MiB,
            "stage_peak": (s["VmHWM"] - self.base["VmRSS"]) / MiB,
            **extra,
        }
        self.maxpeak = max(self.maxpeak, row["stage_peak"])
        row["peak_so_far"] = self.maxpeak
        self.rows.append(row)
        reset_hwm()
        return row

    def dump(self):
        print("RESULT " + json.dumps({"label": self.label, "base_rss": self.base["VmRSS"] / MiB, "rows": self.rows}), flush=True)
        for r in self.rows:
            ex = {k: v for k, v in r.items() if k not in ("stage", "rss", "anon", "file", "stage_peak", "peak_so_far")}
            print(f"  {r['stage']:<34} rss {r['rss']:8.2f}  anon {r['anon']:8.2f}  file {r['file']:7.2f}  "
                  f"stage peak {r['stage_peak']:8.2f}  peak {r['peak_so_far']:8.2f} {ex if ex else ''}", file=sys.stderr, flush=True)
