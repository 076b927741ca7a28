"""Dump the CPU plugin's runtime graph (layerType, output precision/shape, inputs) of an export.
usage: .venv/bin/python dump_runtime.py EXPORT_DIR SEQ_LEN [filter-substring]"""
import sys, openvino as ov
core = ov.Core()
m = core.read_model(sys.argv[1] + "/openvino_model.xml")
T = int(sys.argv[2]); flt = sys.argv[3] if len(sys.argv) > 3 else ""
m.reshape({"input_ids": [1, T], "attention_mask": [1, T], "position_ids": [1, T], "beam_idx": [1]})
cm = core.compile_model(m, "CPU", {"INFERENCE_NUM_THREADS": "2", "NUM_STREAMS": "1"})
rt = cm.get_runtime_model()
for op in rt.get_ordered_ops():
    info = op.get_rt_info()
    lt = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
    name = op.get_friendly_name()
    if flt and flt not in name:
        continue
    outs = [f"{info['outputPrecisions'].astype(str) if 'outputPrecisions' in info else ''}{o.get_partial_shape()}" for o in op.outputs()]
    ins = [i.get_source_output().get_node().get_friendly_name().split('/')[-1] for i in op.inputs()]
    print(f"{lt:22s} {name[-70:]:70s} -> {outs} <- {ins}")
