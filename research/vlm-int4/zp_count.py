"""Decompression constants of every int model in a folder: weights, scales, zero points by type.
The plugin stores scales as f32 and (without dynamic quantization) zero points as f32
(openvinotoolkit/openvino src/plugins/intel_cpu/src/nodes/executors/dnnl/dnnl_fullyconnected_primitive.cpp:
dstPrc = useDynamicQuantization ? u8 : f32)."""
import sys, collections
from pathlib import Path
import openvino as ov
M = 2**20
core = ov.Core()
for xml in sorted(Path(sys.argv[1]).glob("openvino_*_model.xml")):
    m = core.read_model(xml)
    acc = collections.Counter()
    for op in m.get_ordered_ops():
        if op.get_type_name() != "Constant":
            continue
        et = op.get_output_element_type(0); n = 1
        for d in op.get_output_shape(0): n *= d
        readers = [t.get_node().get_type_name() for t in op.output(0).get_target_inputs()]
        # Constant -> Convert -> Subtract(port1) means zero point; Multiply scale; Convert->Subtract(port0) weight
        role = "other"
        for t in op.output(0).get_target_inputs():
            c = t.get_node()
            if c.get_type_name() == "Convert":
                for t2 in c.output(0).get_target_inputs():
                    role = {("Subtract", 0): "weight", ("Multiply", 0): "weight", ("Subtract", 1): "zero_point"}.get((t2.get_node().get_type_name(), t2.get_index()), "convert->" + t2.get_node().get_type_name())
            elif c.get_type_name() == "Multiply" and str(et) in ("<Type: 'float16'>", "<Type: 'float32'>"):
                role = "scale"
        acc[(role, str(et))] += n
    print(xml.name)
    for (role, et), n in sorted(acc.items()):
        if n > 1000:
            print(f"   {role:12s} {et:22s} elements {n:>12d}")
