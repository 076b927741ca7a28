"""Per-op cost of a compiled graph, independent of weights/vocab: a synthetic chain of K small blocks
(RMSNorm-like ops + a 64x64 MatMul + Add), saved to IR, then read_model + compile + infer in a fresh process.
usage: python ops_probe.py K"""
import os
import sys
import numpy as np
import openvino as ov
import openvino.opset13 as ops
from _rss import Stages

K = int(sys.argv[1])
path = f"/tmp/ovmem-ops-probe/k{K}.xml"
if not os.path.exists(path):
    rng = np.random.default_rng(0)
    p = ops.parameter([-1, 64], ov.Type.f32, name="x")
    x = p.output(0)
    for i in range(K):
        sq = ops.multiply(x, x)
        mean = ops.reduce_mean(sq, np.array([-1], np.int64), keep_dims=True)
        inv = ops.sqrt(ops.add(mean, np.float32(1e-6)))
        y = ops.divide(x, inv)
        y = ops.multiply(y, ops.constant(rng.standard_normal(64).astype(np.float32)))
        w = ops.constant((rng.standard_normal((64, 64)) * 0.1).astype(np.float32))
        y = ops.matmul(y, w, False, True)
        x = ops.add(x, y).output(0)
    m = ov.Model([ops.result(x)], [p], "chain")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ov.save_model(m, path, compress_to_fp16=False)
    del m, p, x
st = Stages(f"ops K={K}")
core = ov.Core()
p0 = ops.parameter([1, 8], ov.Type.f32)
tiny = core.compile_model(ov.Model([ops.relu(p0)], [p0]), "CPU")
tiny(np.ones((1, 8), np.float32))
st.mark("CPU plugin loaded (1-op model)")
model = core.read_model(path)
n = len(model.get_ops())
st.mark("read_model", ops=n)
cm = core.compile_model(model, "CPU")
del model
st.mark("compile + del model", runtime_nodes=len(cm.get_runtime_model().get_ops()))
req = cm.create_infer_request()
req.infer({0: np.ones((256, 64), np.float32)})
st.mark("infer [256,64]")
st.dump()
