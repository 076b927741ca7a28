"""rtdump.py MODEL OUT.json [props-json]: the compiled runtime model (dynamic shapes, execOrder).
MODEL: an export folder (its openvino_model.xml) or an .xml."""
import sys, json, openvino as ov
path, out = sys.argv[1], sys.argv[2]; props = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
xml = path if path.endswith(".xml") else path + "/openvino_model.xml"
core = ov.Core(); c = core.compile_model(xml, "CPU", props)
rt = c.get_runtime_model()
nodes = []
for op in rt.get_ordered_ops():
    info = op.get_rt_info()
    g = lambda k: info[k].astype(str) if k in info else ""
    nodes.append({"name": op.get_friendly_name(), "type": g("layerType"), "exec": int(g("execOrder")),
                  "outs": [[str(o.get_element_type().get_type_name()), str(o.get_partial_shape())] for o in op.outputs()],
                  "ins": [[i.get_source_output().get_node().get_friendly_name(), i.get_source_output().get_index()] for i in op.inputs()],
                  "orig": g("originalLayersNames"), "prim": g("primitiveType")})
json.dump(nodes, open(out, "w"))
print(len(nodes))
