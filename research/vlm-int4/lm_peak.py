"""ovmem's temp peak of the language model: the step and the buffers live there (int4 vs f16)."""
import sys
import ovmem
M = 2**20
seq = int(sys.argv[1]) if len(sys.argv) > 1 else 920
for name in ("qwen2.5-vl-3b-2l-int4", "qwen2.5-vl-3b-2l-f16"):
    r = ovmem.analyze(f"/work/bigmodels/{name}/openvino_language_model.xml", device="CPU", seq_len=seq)
    p = r.plan
    print(name, "peak", r.peak, "arena %.1f lower %.1f" % (r.temp_peak_bytes / M, r.temp_lower_bound_bytes / M), "scratch", {k: round(v / M, 2) for k, v in r.scratch.items()})
    live = [q for q in p.requests if q.start <= r.peak.step <= q.end]
    for q in sorted(live, key=lambda q: -q.size)[:8]:
        print("   %.2f MiB" % (q.size / M), q.start, q.end, str(q.id)[:90])
    big = sorted(p.requests, key=lambda q: -q.size)[:6]
    print("  largest requests:", [(round(q.size / M, 1), str(q.id)[:50]) for q in big])
