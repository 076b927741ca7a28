import os, sys, json, numpy as np
import openvino as ov
trace = os.environ["ALLOC_TRACE"]
def mark(s):
    with open(trace, "a") as f: f.write(f"M {s}\n")
path, T = sys.argv[1], int(sys.argv[2]); props = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
core = ov.Core()
m = core.read_model(path + "/openvino_model.xml")
mark("compile")
c = core.compile_model(m, "CPU", props)
req = c.create_infer_request()
names = [i.get_any_name() for i in c.inputs]
inp = {}
for n in names:
    if n == "input_ids": inp[n] = np.random.randint(0, 1000, (1, T)).astype(np.int64)
    elif n == "attention_mask": inp[n] = np.ones((1, T), np.int64)
    elif n == "position_ids": inp[n] = np.arange(T, dtype=np.int64)[None]
    elif n == "beam_idx": inp[n] = np.zeros((1,), np.int32)
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
