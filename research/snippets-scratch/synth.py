"""Synthetic SDPA model under the malloc tracer.
usage: ALLOC_TRACE=F LD_PRELOAD=/tmp/shim.so python synth.py H D N '{props}' [rank=3] [mask=1] [layers=1] [Nkv=N]
Builds layers x SDPA(q,k,v,mask) with dynamic N (q,k,v [H,N,D] or [1,H,N,D]), mask [1,N,N] f32, chained
(output of layer i is q of layer i+1), runs one inference with N, writes F.rt.json (runtime model)."""
import os, sys, json, numpy as np
import openvino as ov, openvino.opset13 as op
trace = os.environ.get("ALLOC_TRACE", "/dev/null")
def mark(s):
    with open(trace, "a") as f: f.write(f"M {s}\n")
H, D, N = map(int, sys.argv[1:4]); props = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
rank = int(sys.argv[5]) if len(sys.argv) > 5 else 3
use_mask = int(sys.argv[6]) if len(sys.argv) > 6 else 1
layers = int(sys.argv[7]) if len(sys.argv) > 7 else 1
Nkv = int(sys.argv[8]) if len(sys.argv) > 8 else N
# XPOSE=1: q/k/v parameters are [N,H,D] and go through a Transpose to [H,N,D] (as in Qwen2.5-VL vision, whose
# Subgraph gets q/k^T/v from Transposes: with bf16 the Subgraph inputs are then bf16 instead of f32 Parameters)
xpose = int(os.environ.get("XPOSE", "0"))
pre = [1] if rank == 4 else []
if xpose:
    assert rank == 3
    params = [op.parameter([-1, H, D], ov.Type.f32, name=n) for n in "qkv"]
    q, k, v = [op.transpose(p, op.constant(np.array([1, 0, 2], np.int64))) for p in params]
else:
    q = op.parameter(pre + [H, -1, D], ov.Type.f32, name="q")
    k = op.parameter(pre + [H, -1, D], ov.Type.f32, name="k")
    v = op.parameter(pre + [H, -1, D], ov.Type.f32, name="v")
    params = [q, k, v]
if use_mask:
    m = op.parameter([1, -1, -1], ov.Type.f32, name="mask"); params.append(m)
x = q
for i in range(layers):
    kk = op.multiply(k, op.constant(np.float32(1.0 + i)))  # make layers distinct
    x = op.scaled_dot_product_attention(x, kk, v, m, op.constant(np.float32(1.0 / np.sqrt(D))), causal=False) if use_mask \
        else op.scaled_dot_product_attention(x, kk, v, causal=False)
if xpose:  # consumer in bf16 as in the real model (SDPA -> Transpose -> Reshape -> FC): Subgraph output becomes bf16
    x = op.transpose(x, op.constant(np.array([1, 0, 2], np.int64)))
model = ov.Model([op.result(x)], params)
core = ov.Core()
mark("compile")
c = core.compile_model(model, "CPU", props)
req = c.create_infer_request()
rng = np.random.default_rng(0)
sh = (lambda n: [n, H, D]) if xpose else (lambda n: pre + [H, n, D])
inp = {"q": rng.standard_normal(sh(N)).astype(np.float32), "k": rng.standard_normal(sh(Nkv)).astype(np.float32),
       "v": rng.standard_normal(sh(Nkv)).astype(np.float32)}
if use_mask: inp["mask"] = np.zeros([1, N, Nkv], np.float32)
mark("infer")
req.infer(inp)
mark("done")
rt = c.get_runtime_model()
nodes = []
for o in rt.get_ordered_ops():
    info = o.get_rt_info(); g = lambda kk: info[kk].astype(str) if kk in info else ""
    nodes.append({"name": o.get_friendly_name(), "type": g("layerType"), "exec": g("execOrder"), "prec": g("runtimePrecision"),
                  "ins": [str(i.get_element_type()) + str(i.get_partial_shape()) for i in o.inputs()],
                  "outs": [str(t.get_element_type()) + str(t.get_partial_shape()) for t in o.outputs()]})
json.dump(nodes, open(trace + ".rt.json", "w"), indent=0)
