"""Micro graph: batched MatMul [E,T,K] x [E,K,N] with 3-D constant weights, as gpt-oss experts export.
usage: .venv/bin/python micro_bmm.py E T K N WEIGHTS(u8|f16|f32) [dyn|static] [out=slice|full]
Prints RSS after compile and the peak growth during one inference (VmHWM reset)."""
import sys, numpy as np, openvino as ov
from openvino import opset13 as ops
E, T, K, N = map(int, sys.argv[1:5]); wt = sys.argv[5]
mode = sys.argv[6] if len(sys.argv) > 6 else "dyn"; outm = sys.argv[7] if len(sys.argv) > 7 else "slice"
def st(key):
    for l in open("/proc/self/status"):
        if l.startswith(key): return int(l.split()[1]) / 1024
rng = np.random.default_rng(0)
a = ops.parameter([E, -1 if mode == "dyn" else T, K], ov.Type.f32, name="a")
if wt == "u8":
    w = ops.constant(rng.integers(0, 255, (E, K, N), dtype=np.uint8))
    zp = ops.constant(rng.integers(0, 255, (E, 1, N), dtype=np.uint8))
    sc = ops.constant(rng.random((E, 1, N), dtype=np.float32) * 0.01)
    w = ops.multiply(ops.subtract(ops.convert(w, "f32"), ops.convert(zp, "f32")), sc)
elif wt == "f16":
    w = ops.convert(ops.constant(rng.standard_normal((E, K, N)).astype(np.float16)), "f32")
else:
    w = ops.constant(rng.standard_normal((E, K, N)).astype(np.float32))
mm = ops.matmul(a, w, False, False)
out = ops.slice(mm, ops.constant([0, 0, 0]), ops.constant([1, 1, 8]), ops.constant([1, 1, 1])) if outm == "slice" else mm
model = ov.Model([ops.result(out)], [a])
core = ov.Core()
r0 = st("VmRSS")
cm = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1"})
req = cm.create_infer_request()
x = ov.Tensor(rng.standard_normal((E, T, K)).astype(np.float32))
req.set_tensor("a", x)
r1 = st("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
req.infer()
r2 = st("VmHWM")
ideal_out = E * T * N * 2 / 2**20
print(f"E={E} T={T} K={K} N={N} w={wt} {mode} out={outm}: compile +{r1-r0:.0f} MiB, infer +{r2-r1:.0f} MiB "
      f"(bf16 A copy {E*T*K*2/2**20:.0f}, bf16 dst {ideal_out:.0f} MiB)")
