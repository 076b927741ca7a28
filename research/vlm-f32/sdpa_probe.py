"""One (or K) SDPA [1,16,N,80] f32 + additive mask [1,N,N] under ONEDNN_MAX_CPU_ISA=AVX512_CORE, f32: RSS growth of the
inference beyond the inputs (written) and output. usage: sdpa_probe.py N K [host]"""
import os, sys
if "host" not in sys.argv: os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE"
import numpy as np, openvino as ov, openvino.opset13 as ops
from ovmem import measure as base
N, K = int(sys.argv[1]), int(sys.argv[2]); H, D = 16, 80; M = 2**20
DYN = "dyn" in sys.argv
x = ops.parameter([1, -1 if DYN else N, H * D], np.float32, name="x")
mask = ops.parameter([1, -1, -1] if DYN else [1, N, N], np.float32, name="mask")
h = x
for i in range(K):
    r = ops.reshape(h, ops.constant(np.array([1, -1, H, D], np.int64)), False)
    t = ops.transpose(r, ops.constant(np.array([0, 2, 1, 3], np.int64)))
    q = ops.multiply(t, ops.constant(np.float32(1.0 + i)))
    a = ops.scaled_dot_product_attention(q, t, t, mask, causal=False)
    a = ops.transpose(a, ops.constant(np.array([0, 2, 1, 3], np.int64)))
    h = ops.add(ops.reshape(a, ops.constant(np.array([1, -1, H * D], np.int64)), False), h)
model = ov.Model([h], [x, mask])
sampler, (b, ba, bf), _ = base._start_sampling(0.001)
core = ov.Core()
props = {} if "host" in sys.argv else {"INFERENCE_PRECISION_HINT": "f32"}
cm = core.compile_model(model, "CPU", props)
req = cm.create_infer_request()
xi = np.random.default_rng(0).standard_normal((1, N, H * D), dtype=np.float32); mi = np.empty((1, N, N), np.float32); mi[...] = 0
s0 = sampler.open_window()
req.start_async({0: xi, 1: mi}, share_inputs=True); req.wait()
pk = sampler.close_window()
types = {}
for op in cm.get_runtime_model().get_ordered_ops():
    lt = op.get_rt_info()["layerType"].astype(str); types[lt] = types.get(lt, 0) + 1
act = N * H * D * 4 / M
print(f"N={N} K={K} infer growth {(pk - s0[0]) / M:.1f} MiB; one [N,1280] f32 = {act:.2f} MiB; growth/act = {(pk - s0[0]) / M / act:.2f}; types {types}")
