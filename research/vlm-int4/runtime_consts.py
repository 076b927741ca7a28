"""Compile each sub-model on CPU and summarize the runtime model: op counts, constants by element
type (bytes), FullyConnected weight-port precisions, and the exported model's constants by type.
usage: runtime_consts.py FOLDER"""
import sys, collections
from pathlib import Path
import openvino as ov
core = ov.Core()
M = 2**20
folder = Path(sys.argv[1])
for xml in sorted(folder.glob("openvino_*_model.xml")):
    model = core.read_model(xml)
    src = collections.Counter()
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant":
            src[str(op.get_output_element_type(0))] += op.get_byte_size()
    cm = core.compile_model(model, "CPU")
    rt = cm.get_runtime_model()
    types = collections.Counter(); consts = collections.Counter(); fc = collections.Counter()
    big = []
    for op in rt.get_ordered_ops():
        info = op.get_rt_info()
        layer = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
        types[layer] += 1
        if layer == "Const" or op.get_type_name() == "Constant" and False:
            pass
        if layer in ("Const",):
            et = str(op.get_output_element_type(0)); shape = op.get_output_partial_shape(0)
            n = 1
            for d in shape: n *= d.get_length()
            nbytes = n * op.get_output_element_type(0).bitwidth // 8
            consts[et] += nbytes
            big.append((nbytes, et, str(shape), op.get_friendly_name()))
        if layer == "FullyConnected" or layer == "Gather":
            ins = tuple(str(op.input(i).get_element_type()) for i in range(op.get_input_size()))
            rp = info["runtimePrecision"].astype(str) if "runtimePrecision" in info else "?"
            fc[(layer, ins, rp, info["outputPrecisions"].astype(str) if "outputPrecisions" in info else "?")] += 1
    print(f"== {folder.name}/{xml.name}")
    print("  exported constants MiB by type:", {k: round(v / M, 2) for k, v in src.items()})
    print("  runtime op counts:", dict(types.most_common()))
    print("  runtime Const MiB by type:", {k: round(v / M, 2) for k, v in consts.items()})
    for k, v in fc.items():
        print("  ", v, "x", k)
    big.sort(reverse=True)
    for b in big[:6]:
        print("   big const", round(b[0] / M, 2), "MiB", b[1:])
    del cm, rt
