"""Run one model under the malloc tracer (ALLOC_TRACE=FILE LD_PRELOAD=./shim.so):
    drive.py MODEL T [props-json]
MODEL: an LLM export folder (its openvino_model.xml; inputs input_ids/attention_mask/position_ids/beam_idx
of T tokens) or an .xml with the shapes of its inputs from ovmem's VLM planner for T patches
(a vision part of an export folder: plan_vision / _vision_shapes), every input written."""
import os, sys, json, numpy as np
import openvino as ov
trace = os.environ["ALLOC_TRACE"]
def mark(s):
    with open(trace, "a") as f: f.write(f"M {s}\n")
path, T = sys.argv[1], int(sys.argv[2]); props = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}


def vision_shapes(xml, n):
    from pathlib import Path
    from ovmem.vlm import detect_layout, plan_vision
    from ovmem.vlm.measure import _vision_shapes
    layout = detect_layout(Path(xml).parent)
    shapes, _ = _vision_shapes(layout, plan_vision(layout, n))
    return next(s for part, s in shapes.items() if layout.part(part).xml.name == Path(xml).name)


xml = path if path.endswith(".xml") else path + "/openvino_model.xml"
core = ov.Core()
m = core.read_model(xml)
mark("compile")
c = core.compile_model(m, "CPU", props)
req = c.create_infer_request()
rng = np.random.default_rng(0)
llm = {"input_ids": lambda: rng.integers(0, 1000, (1, T)).astype(np.int64), "attention_mask": lambda: np.ones((1, T), np.int64),
       "position_ids": lambda: np.arange(T, dtype=np.int64)[None], "beam_idx": lambda: np.zeros((1,), np.int32)}
shapes = vision_shapes(xml, T) if path.endswith(".xml") else None  # a folder: an LLM export
inp = {}
for port in c.inputs:
    n = port.get_any_name()
    if shapes is None:
        inp[n] = llm[n]()
        continue
    t, s = port.get_element_type().to_dtype(), tuple(shapes[n])
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
