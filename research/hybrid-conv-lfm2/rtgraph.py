"""rtgraph.py MODEL N [filter]: compile on CPU, run one prefill of N tokens, print the runtime graph
(execOrder, layerType, primitiveType, output precision/shape, inputs) of ops whose name matches filter."""
import sys, re
import numpy as np
import openvino as ov

path, n = sys.argv[1], int(sys.argv[2])
flt = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
xml = path if path.endswith(".xml") else path + "/openvino_model.xml"
core = ov.Core()
c = core.compile_model(xml, "CPU")
req = c.create_infer_request()
req.infer({"input_ids": np.ones((1, n), np.int64), "attention_mask": np.ones((1, n), np.int64),
           "beam_idx": np.zeros((1,), np.int32)})
rt = c.get_runtime_model()
ops = sorted(rt.get_ordered_ops(), key=lambda op: int(op.get_rt_info()["execOrder"].astype(str)))
from collections import Counter
cnt = Counter(op.get_rt_info()["layerType"].astype(str) for op in ops)
print("layer types:", dict(cnt))
for op in ops:
    info = op.get_rt_info()
    name = op.get_friendly_name()
    if flt and not flt.search(name):
        continue
    outs = ", ".join(f"{o.get_element_type().get_type_name()}{o.get_partial_shape()}" for o in op.outputs())
    ins = ", ".join(f"{i.get_source_output().get_node().get_friendly_name()}:{i.get_source_output().get_index()}" for i in op.inputs())
    print(f"{info['execOrder'].astype(str):>5} {info['layerType'].astype(str):<22} {info['primitiveType'].astype(str):<22} {name}  -> {outs}   <- {ins}")
for s in req.query_state():
    st = s.state
    print("state", s.name, st.element_type, st.shape)
