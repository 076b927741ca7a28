"""Run synth.py under the 4 KiB-threshold malloc tracer for many (prec, N, H, D, threads, rank, layers) and compare
the Subgraph's scratchpad request (A lines whose 5th frame ends in b772, after 'M infer') with model.request.
usage: python validate.py [shim.so]   (needs /tmp/shim4k.so: gcc -O2 -shared -fPIC -DTHRESH=4096 -o /tmp/shim4k.so ../cpu-planner-trace/shim.c)"""
import os, sys, subprocess, json
from model import request
shim = sys.argv[1] if len(sys.argv) > 1 else "/tmp/shim4k.so"
here = os.path.dirname(os.path.abspath(__file__))
cases = [  # prec, N, H, D, threads, rank, layers
    ("f32", 1024, 16, 80, 2, 3, 1), ("f32", 2048, 16, 80, 2, 3, 1), ("f32", 3552, 16, 80, 2, 3, 1),
    ("f32", 257, 16, 80, 1, 3, 1), ("f32", 1450, 16, 80, 2, 3, 1), ("f32", 1456, 16, 80, 2, 3, 1),
    ("f32", 1000, 16, 64, 2, 3, 1), ("f32", 777, 8, 72, 2, 3, 1), ("f32", 4000, 4, 128, 2, 3, 1),
    ("f32", 2048, 16, 80, 1, 3, 1), ("f32", 1024, 1, 80, 2, 3, 1), ("f32", 3000, 1, 80, 2, 3, 1),
    ("f32", 1024, 16, 80, 2, 4, 1), ("f32", 2048, 16, 80, 2, 3, 3), ("f32", 1024, 16, 80, 2, 3, 3),
    ("bf16", 3552, 16, 80, 2, 3, 1), ("bf16", 1024, 16, 80, 2, 3, 1), ("bf16", 257, 16, 80, 1, 3, 1),
    ("bf16", 300, 16, 80, 1, 3, 1), ("bf16", 3100, 16, 80, 2, 3, 1), ("bf16", 3200, 16, 80, 2, 3, 1),
    ("bf16", 2000, 16, 64, 2, 3, 1), ("bf16", 1500, 8, 128, 1, 3, 1), ("bf16", 5000, 4, 72, 2, 3, 1),
    ("bf16", 1024, 1, 80, 2, 3, 1), ("bf16", 3552, 16, 80, 2, 3, 3), ("f32", 1021, 1, 80, 2, 3, 1),
]
rows = []
for prec, N, H, D, T, R, L in cases:
    f = f"/tmp/val_{prec}_{N}_{H}_{D}_{T}_{R}_{L}"
    if os.path.exists(f): os.remove(f)
    env = dict(os.environ, ALLOC_TRACE=f, LD_PRELOAD=shim)
    props = {"INFERENCE_NUM_THREADS": T}
    if prec == "f32":
        env["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE"; props["INFERENCE_PRECISION_HINT"] = "f32"
    # XPOSE=1 (3-D): q/k/v and output go through Transposes, so with bf16 the Subgraph I/O is bf16 as in Qwen2.5-VL
    env["XPOSE"] = "1" if R == 3 else "0"
    subprocess.run([sys.executable, f"{here}/synth.py", str(H), str(D), str(N), json.dumps(props), str(R), "1", str(L)],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reqs, on = [], False
    for line in open(f):
        t = line.split()
        if t[:2] == ["M", "infer"]: on = True
        elif on and t[0] == "A" and len(t) > 8 and t[8].endswith("b772"): reqs.append(int(t[3]))
    pred = request(prec, N, H, D, T, parts=True)
    meas = max(reqs) if reqs else 0
    rows.append((prec, N, H, D, T, R, L, len(reqs), meas, pred["total"], pred["mode"]))
    print(f"{prec:4} N={N:5} H={H:2} D={D:3} T={T} rank={R} layers={L}  requests={reqs}  formula={pred['total']} "
          f"({pred['mode']})  {'OK' if meas == pred['total'] else 'DIFF %+d' % (meas - pred['total'])}", flush=True)
json.dump(rows, open(f"{here}/validate_results.json", "w"))
