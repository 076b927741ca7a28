"""table.py MODEL N... : ovmem analyze (graph and --lift runtime) vs ovmem measure, one N at a time
(measure runs sequentially, fresh process each). Appends JSON lines to MODEL-name.jsonl here and prints a table."""
import json, subprocess, sys
from pathlib import Path

OVMEM = "/work/main/.venv/bin/ovmem"
HERE = Path(__file__).parent
MiB = 1 << 20


def run(args):
    out = subprocess.run([OVMEM, *args, "--json"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    model = sys.argv[1]
    # table.py MODEL N [N...] [-- extra ovmem args, e.g. --past-len 256 --property INFERENCE_PRECISION_HINT=f32]
    args = sys.argv[2:]
    cut = args.index("--") if "--" in args else len(args)
    ns, extra = [int(a) for a in args[:cut]], args[cut + 1:]
    log = HERE / (Path(model).name + ".jsonl")
    rows = []
    for n in ns:
        g = run(["analyze", model, "--seq-len", str(n), "--explain", "0", *extra])
        r = run(["analyze", model, "--seq-len", str(n), "--lift", "runtime", "--explain", "0", *extra])
        m = run(["measure", model, "--seq-len", str(n), *extra])
        rec = {"model": model, "n": n, "extra": extra, "graph": {k: v for k, v in g.items() if k.endswith("_bytes")},
               "runtime": {k: v for k, v in r.items() if k.endswith("_bytes")}, "measure": m}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        rows.append(rec)
        print(n, m["peak_rss_bytes"], flush=True)
    print(f"{'N':>6} {'graph':>10} {'runtime':>10} {'measured':>10} {'anon':>9} {'file':>8} {'miss(g)':>9} {'%':>6} {'miss(rt)':>9} {'%':>6}")
    for rec in rows:
        g, r, m = rec["graph"]["total_bytes"], rec["runtime"]["total_bytes"], rec["measure"]
        peak = m["peak_rss_bytes"]
        anon, file = m["anon_at_peak"], m["file_at_peak"]
        print(f"{rec['n']:>6} {g/MiB:>10.1f} {r/MiB:>10.1f} {peak/MiB:>10.1f} {(anon or 0)/MiB:>9.1f} {(file or 0)/MiB:>8.1f} "
              f"{(peak-g)/MiB:>9.1f} {100*(peak-g)/peak:>6.2f} {(peak-r)/MiB:>9.1f} {100*(peak-r)/peak:>6.2f}")


if __name__ == "__main__":
    main()
