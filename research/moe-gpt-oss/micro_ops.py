"""Micro graphs of the other gpt-oss expert ops (dynamic shapes, bf16 inference on AMX hosts).
usage: .venv/bin/python micro_ops.py OP E T H   with OP in tile | slice2 | slice1 | slice2x2
  tile    : x[T,H] -> Tile(E,1) -> [E*T,H] -> tiny Slice
  slice2  : x[E,T,2H] -> StridedSlice [..., 1::2] (gate_up[..., 1::2]) -> tiny Slice
  slice1  : x[E,T,2H] -> StridedSlice [..., :H] step 1 (control)
Prints RSS growth of one inference (VmHWM reset) and the input/output sizes."""
import sys, numpy as np, openvino as ov
from openvino import opset13 as ops
op = sys.argv[1]; E, T, H = map(int, sys.argv[2:5])
def st(key):
    for l in open("/proc/self/status"):
        if l.startswith(key): return int(l.split()[1]) / 1024
tiny = lambda n: ops.slice(n, ops.constant([0, 0]), ops.constant([1, 8]), ops.constant([1, 1]), ops.constant([0, 1]))
if op == "tile":
    x = ops.parameter([-1, H], ov.Type.f32, name="x"); shp = (T, H)
    y = ops.tile(ops.relu(x), ops.constant([E, 1]))
    out = tiny(y); osz = E * T * H * 2
else:
    x = ops.parameter([E, -1, 2 * H], ov.Type.f32, name="x"); shp = (E, T, 2 * H)
    r = ops.relu(x)
    if op == "slice2":
        y = ops.slice(r, ops.constant([1]), ops.constant([2**62]), ops.constant([2]), ops.constant([2]))
    else:
        y = ops.slice(r, ops.constant([0]), ops.constant([H]), ops.constant([1]), ops.constant([2]))
    y = ops.relu(y)
    out = ops.slice(y, ops.constant([0, 0, 0]), ops.constant([1, 1, 8]), ops.constant([1, 1, 1])); osz = E * T * H * 2
model = ov.Model([ops.result(out)], [x])
cm = ov.Core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1"})
req = cm.create_infer_request(); req.set_tensor("x", ov.Tensor(np.ones(shp, np.float32)))
r1 = st("VmRSS"); open("/proc/self/clear_refs", "w").write("5"); req.infer(); r2 = st("VmHWM")
print(f"{op} E={E} T={T} H={H}: infer +{r2-r1:.0f} MiB; bf16 input copy {np.prod(shp)*2/2**20:.0f} MiB, bf16 op output {osz/2**20:.0f} MiB")
