"""Run the Qwen2.5-VL merger under the malloc tracer. drive.py N [props-json]"""
import os, sys, json, numpy as np
import openvino as ov
trace = os.environ["ALLOC_TRACE"]
def mark(s):
    with open(trace, "a") as f: f.write(f"M {s}\n")
xml = "/work/bigmodels/qwen2.5-vl-3b-2l-int4/openvino_vision_embeddings_merger_model.xml"
N = int(sys.argv[1]); props = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
shapes = {"hidden_states": (N, 1280), "attention_mask": (1, N, N), "window_attention_mask": (1, N, N),
          "window_index": (N // 4,), "rotary_pos_emb": (N, 40)}
core = ov.Core()
m = core.read_model(xml)
mark("compile")
c = core.compile_model(m, "CPU", props)
req = c.create_infer_request()
rng = np.random.default_rng(0)
inp = {}
for port in c.inputs:
    n = port.get_any_name(); t = port.get_element_type().to_dtype(); s = shapes[n]
    a = np.empty(s, t)
    if n == "window_index": a[:] = rng.permutation(s[0])
    elif "mask" in n: a.fill(0); a[..., : s[-1] // 2] = 1 if t != np.float32 else 0.0
    else: a[:] = rng.standard_normal(s).astype(t)
    inp[n] = a
mark("infer")
req.start_async(inp, share_inputs=True); req.wait()
mark("done")
rt = c.get_runtime_model()
nodes = []
for op in rt.get_ordered_ops():
    info = op.get_rt_info()
    g = lambda k: info[k].astype(str) if k in info else ""
    nodes.append({"name": op.get_friendly_name(), "type": g("layerType"), "exec": g("execOrder"),
                  "outs": [str(o.get_element_type()) + str(o.get_partial_shape()) for o in op.outputs()],
                  "prec": g("outputPrecisions"), "ins": [i.get_source_output().get_node().get_friendly_name() + ":" + str(i.get_source_output().get_index()) for i in op.inputs()],
                  "orig": g("originalLayersNames")})
json.dump(nodes, open(trace + ".rt.json", "w"))
open(trace + ".maps", "w").write(open("/proc/self/maps").read())
