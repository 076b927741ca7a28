"""Compile an IR with PERF_COUNT, run once, print each executed node's layer type / exec type / time,
and the process peak RSS growth during inference (VmHWM reset via /proc/self/clear_refs).
usage: .venv/bin/python profile_iso.py IR.xml NAME=d0,d1,... [NAME=...] [--prop KEY=VAL]"""
import sys, re, numpy as np, openvino as ov

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
shapes, props = {}, {"PERF_COUNT": "YES", "INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1"}
args = sys.argv[2:]
while args:
    a = args.pop(0)
    if a == "-q":
        continue
    if a == "--prop":
        k, v = args.pop(0).split("="); props[k] = v
    else:
        k, v = a.split("="); shapes[k] = [int(x) for x in v.split(",")]
core = ov.Core()
m = core.read_model(sys.argv[1])
m.reshape({k: v for k, v in shapes.items()})
cm = core.compile_model(m, "CPU", props)
req = cm.create_infer_request()
for p in cm.inputs:
    shp = list(p.get_shape()); et = p.get_element_type()
    if et == ov.Type.boolean:
        T = shp[-1]; a = np.tril(np.ones(shp, dtype=bool))
    elif et in (ov.Type.i64, ov.Type.i32):
        a = np.zeros(shp, dtype=np.int64)
    else:
        a = np.random.default_rng(0).standard_normal(shp).astype(np.float32)
    req.set_tensor(p, ov.Tensor(a))
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
req.infer()
peak = status("VmHWM")
print(f"rss before infer {before/2**20:.1f} MiB, peak during infer {peak/2**20:.1f} MiB, +{(peak-before)/2**20:.1f} MiB")
if "-q" not in sys.argv:
    for pi in req.profiling_info:
        if pi.status == pi.Status.EXECUTED or True:
            print(f"{pi.node_type:24s} {pi.exec_type:28s} {pi.real_time.total_seconds()*1e3:9.2f} ms  {pi.node_name[-80:]}")
