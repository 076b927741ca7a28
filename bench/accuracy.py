#!/usr/bin/env python3
"""Estimate accuracy: ``ovmem.analyze`` against the measured peak RSS of real-width models.

    python bench/accuracy.py                                   # every /work/bigmodels/*/ export, seq 256 1024 4096
    python bench/accuracy.py --model /work/bigmodels/qwen2-0.5b-f16 --seq-len 256 1024
    python bench/accuracy.py --root DIR --json points.json     # the exports under DIR, raw points as JSON
    python bench/accuracy.py --device CPU --timeout 900

The models are the random-weight real-width exports of ``tools/export_fixtures.py --big --out
/work/bigmodels`` (not in the repository; export them first). For every model and sequence length it
runs ``ovmem.validate.validate(path, [seq], device=...)``: the estimate (``ovmem.analyze``) and one
measurement (``ovmem.measure``: read → compile → one inference in a fresh process, peak RSS above the
post-``import openvino`` baseline, anonymous + file-backed). A 4096-token point of Qwen2-0.5B f16 takes
~40 s; run nothing else heavy at the same time (the measurement is the process's own RSS, but a
starved machine slows it down and can push it into the timeout).

Prints one Markdown table (estimate, measured peak, error = (estimate - measured) / measured, the
estimate's parts next to the measurement's anon/file split at its peak), then the summary: median
|error|, max |error|, points within ±10 %, and the targets of the accuracy issue — every point within
±10 %, median |error| ≤ 5 % — as PASS/MISS. A point whose analysis or measurement fails is listed
with its error and counts as a miss. Exit status 0 when both targets pass, 1 otherwise, 2 on a usage
error.

``--device`` goes to ``validate``: the device the estimate models and the measurement runs on.
``--timeout`` is the per-measurement limit of ``ovmem.measure``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ovmem.errors import OvmemError  # noqa: E402
from ovmem.api import analyze  # noqa: E402
from ovmem.measure import measure  # noqa: E402
from ovmem.validate import ValidationPoint  # noqa: E402

DEFAULT_ROOT = Path("/work/bigmodels")
DEFAULT_SEQ_LENS = (256, 1024, 4096)
TARGET_EVERY = 0.10
"""Every point's |error| must be within this."""
TARGET_MEDIAN = 0.05
"""The median |error| must be at most this."""
MIB = 1 << 20


def find_models(root: Path) -> list[Path]:
    """Every export folder directly under ``root`` (one with an ``openvino_model.xml``), sorted by name."""
    return sorted(p.parent for p in root.glob("*/openvino_model.xml"))


def run_point(path: Path, seq: int, device: str, timeout: float, lifts: list[str]) -> list[ValidationPoint]:
    """One measurement, and an estimate for each way of lifting the model (the first is the primary)."""
    measurement = measure(path, seq_len=seq, device=device, timeout=timeout)
    return [ValidationPoint(seq, analyze(path, seq_len=seq, device=device, lift_from=lift), measurement) for lift in lifts]


def mib(n: int) -> str:
    return f"{n / MIB:,.1f}"


def markdown_table(rows: list[dict], others: list[str]) -> str:
    extra = "".join(f" {lift} lift MiB | error |" for lift in others)
    head = (
        "| model | seq | estimate MiB | measured MiB | error |" + extra + " est. weights | est. KV | est. io | est. temp "
        "| meas. anon | meas. file | time s |"
    )
    lines = [head, "|" + "|".join(["---"] + ["---:"] * (head.count("|") - 2)) + "|"]
    for r in rows:
        if "error_message" in r:
            lines.append(
                f"| {r['model']} | {r['seq_len']} | – | – | **failed** | {r['error_message']} |"
                + "  |" * (5 + 2 * len(others)) + f" {r['seconds']:.1f} |"
            )
            continue
        e, m = r["estimate"], r["measurement"]
        extra = "".join(f" {mib(r['also'][lift]['total_bytes'])} | {r['also'][lift]['error']:+.1%} |" for lift in others)
        lines.append(
            f"| {r['model']} | {r['seq_len']} | {mib(e['total_bytes'])} | {mib(m['peak_rss_bytes'])} "
            f"| {r['error']:+.1%} |{extra} {mib(e['weights_bytes'])} | {mib(e['state_bytes'])} | {mib(e['io_bytes'])} "
            f"| {mib(e['temp_peak_bytes'])} | {mib(m['anon_at_peak'])} | {mib(m['file_at_peak'])} "
            f"| {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict], lift: str | None = None) -> tuple[list[str], bool]:
    """Error statistics and the targets, of the primary estimate or of the ``lift`` one."""
    errors = [abs(r["error"] if lift is None else r["also"][lift]["error"]) for r in rows if "error_message" not in r]
    failed = len(rows) - len(errors)
    lines = []
    if errors:
        within = sum(1 for e in errors if e <= TARGET_EVERY)
        median, worst = statistics.median(errors), max(errors)
        lines += [
            f"- points: {len(rows)} ({failed} failed)" if failed else f"- points: {len(rows)}",
            f"- median |error|: {median:.1%}",
            f"- max |error|: {worst:.1%}",
            f"- within ±{TARGET_EVERY:.0%}: {within} of {len(rows)}",
        ]
        every_ok = within == len(rows)
        median_ok = median <= TARGET_MEDIAN and not failed
    else:
        lines.append(f"- points: {len(rows)}, all failed")
        every_ok = median_ok = False
    lines += [
        "",
        f"- target: every point within ±{TARGET_EVERY:.0%}: **{'PASS' if every_ok else 'MISS'}**",
        f"- target: median |error| ≤ {TARGET_MEDIAN:.0%}: **{'PASS' if median_ok else 'MISS'}**"
        + (" (failed points)" if failed and errors else ""),
    ]
    return lines, every_ok and median_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ovmem estimate vs measured peak RSS (see module docstring).")
    parser.add_argument(
        "--model",
        action="append",
        type=Path,
        metavar="DIR",
        help="an export folder (or .xml); repeatable (default: every */openvino_model.xml under --root)",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"where to look by default ({DEFAULT_ROOT})")
    parser.add_argument(
        "--seq-len", nargs="+", type=int, default=list(DEFAULT_SEQ_LENS), metavar="N", help="default: 256 1024 4096"
    )
    parser.add_argument("--device", default="CPU", help="device of the measurement (passed to validate; CPU)")
    parser.add_argument(
        "--lift", nargs="+", choices=("graph", "runtime"), default=["graph", "runtime"],
        help="what the estimates analyse, each against the same measurement; the first is the primary (default: both)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the raw points (bytes, seconds) here")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds per measurement before it is killed (default 600)"
    )
    args = parser.parse_args(argv)

    models = args.model or find_models(args.root)
    if not models:
        parser.error(
            f"no */openvino_model.xml under {args.root}; pass --model DIR "
            "or export some with tools/export_fixtures.py --big"
        )
    if any(n < 1 for n in args.seq_len):
        parser.error("--seq-len values must be positive")

    import openvino

    started = time.perf_counter()
    rows: list[dict] = []
    for path in models:
        name = path.parent.name if path.suffix == ".xml" else path.name
        for seq in args.seq_len:
            t0 = time.perf_counter()
            print(f"[accuracy] {name} seq {seq} ...", file=sys.stderr, flush=True)
            try:
                point, *others = run_point(path, seq, args.device, args.timeout, args.lift)
            except OvmemError as exc:  # one failed point does not stop the run
                row = {"model": name, "path": str(path), "seq_len": seq, "error_message": str(exc).splitlines()[0]}
                print(f"[accuracy]   failed: {row['error_message']}", file=sys.stderr, flush=True)
            else:
                row = {"model": name, "path": str(path), **point.to_dict()}
                row["also"] = {
                    lift: {"total_bytes": p.estimate.total_bytes, "error": p.error, "estimate": p.estimate.to_dict()}
                    for lift, p in zip(args.lift[1:], others)
                }
                print(
                    f"[accuracy]   estimate {mib(point.estimate.total_bytes)} MiB, measured "
                    f"{mib(point.measurement.peak_rss_bytes)} MiB, error {point.error:+.1%}"
                    + "".join(f"; {lift} lift {p.error:+.1%}" for lift, p in zip(args.lift[1:], others)),
                    file=sys.stderr,
                    flush=True,
                )
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
    elapsed = time.perf_counter() - started

    devices = sorted({r["estimate"]["device"] for r in rows if "estimate" in r})
    print(
        f"ovmem estimate (device {', '.join(devices) or '?'}) vs measured peak RSS on {args.device}, "
        f"OpenVINO {openvino.__version__}; sizes in MiB, error = (estimate - measured) / measured\n"
    )
    print(markdown_table(rows, args.lift[1:]))
    print()
    lines, ok = summary(rows)
    print(f"{args.lift[0]} lift (primary):")
    print("\n".join(lines))
    for lift in args.lift[1:]:
        print(f"\n{lift} lift:")
        print("\n".join(summary(rows, lift)[0]))
    print(f"\n{len(rows)} point(s) in {elapsed:.0f} s")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": [sys.executable, *sys.argv],
                    "device": args.device,
                    "openvino_version": openvino.__version__,
                    "python": platform.python_version(),
                    "seconds": elapsed,
                    "points": rows,
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
