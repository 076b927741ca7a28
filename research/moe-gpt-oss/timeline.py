"""RSS timeline of one inference mapped onto the executed nodes (dynamic shapes, PERF_COUNT).
A thread samples /proc/self/statm every ~0.5 ms while infer() runs (it releases the GIL); nodes are
laid end to end in execution order with their measured real_time, so node k's window is approximate.
usage: .venv/bin/python timeline.py IR.xml NAME=d0,d1,... [...] [--min-mib 20] [--prop K=V]"""
import sys, time, threading, numpy as np, openvino as ov
shapes, props, min_mib = {}, {"PERF_COUNT": "YES", "INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1"}, 20.0
args = sys.argv[2:]
while args:
    a = args.pop(0)
    if a == "--min-mib": min_mib = float(args.pop(0)); continue
    if a == "--prop": k, v = args.pop(0).split("="); props[k] = v; continue
    k, v = a.split("="); shapes[k] = [int(x) for x in v.split(",")]
PAGE = 4096
def rss(): return int(open("/proc/self/statm").read().split()[1]) * PAGE / 2**20
core = ov.Core(); m = core.read_model(sys.argv[1])
cm = core.compile_model(m, "CPU", props); req = cm.create_infer_request()
rng = np.random.default_rng(0)
for p in cm.inputs:
    name = p.get_any_name(); shp = shapes[name]; et = p.get_element_type()
    if et == ov.Type.boolean: a = np.tril(np.ones(shp, dtype=bool))
    elif et in (ov.Type.i64, ov.Type.i32):
        a = (np.ones(shp) if name == "attention_mask" else np.arange(int(np.prod(shp))).reshape(shp) % 50000).astype(np.int64) if name != "beam_idx" else np.zeros(shp, np.int32)
    else: a = rng.standard_normal(shp).astype(np.float32)
    req.set_tensor(name, ov.Tensor(a))
samples, stop = [], False
def sampler():
    while not stop:
        samples.append((time.perf_counter(), rss())); time.sleep(0.0005)
base = rss(); th = threading.Thread(target=sampler); th.start()
t0 = time.perf_counter(); req.infer(); t1 = time.perf_counter(); stop = True; th.join()
print(f"rss before infer {base:.0f} MiB; peak {max(s[1] for s in samples):.0f} MiB (+{max(s[1] for s in samples)-base:.0f}); wall {t1-t0:.2f}s")
infos = [pi for pi in req.profiling_info if pi.status == pi.Status.EXECUTED and pi.real_time.total_seconds() > 0]
tot = sum(pi.real_time.total_seconds() for pi in infos); scale = (t1 - t0) / tot if tot else 1
t = t0; prev = base
for pi in infos:
    d = pi.real_time.total_seconds() * scale
    win = [s[1] for s in samples if t <= s[0] <= t + d]
    hi = max(win) if win else prev; end = win[-1] if win else prev
    if hi - prev >= min_mib or end - prev <= -min_mib:
        print(f"{pi.node_type:22s} {pi.exec_type:26s} {d*1e3:8.1f} ms  rss max {hi:7.0f} end {end:7.0f} (start {prev:7.0f})  {pi.node_name[-75:]}")
    prev = end; t += d
