"""Runtime model of a vision part under the AVX512_CORE cap + f32 (or host bf16 with argv[3]=host): node types, big outputs."""
import os, sys
if len(sys.argv) < 4 or sys.argv[3] != "host":
    os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE"
import collections, numpy as np
from ovmem.vlm.layout import detect_layout
from ovmem.vlm.vision import image_sequence, plan_vision
from ovmem.vlm.measure import _vision_shapes, _vision_input
import openvino as ov
folder, role = sys.argv[1], sys.argv[2]
layout = detect_layout(folder); plan = plan_vision(layout, image_sequence(layout, 1024, 682)); shapes, _ = _vision_shapes(layout, plan)
core = ov.Core()
props = {"INFERENCE_PRECISION_HINT": "f32"} if os.environ.get("ONEDNN_MAX_CPU_ISA") else {}
part = layout.part(role)
cm = core.compile_model(part.xml, "CPU", props)
rng = np.random.default_rng(0)
req = cm.create_infer_request()
req.infer({p.get_any_name(): _vision_input(p.get_any_name(), p.get_element_type(), tuple(shapes[role][p.get_any_name()]), rng) for p in cm.inputs})
rt = cm.get_runtime_model()
types = collections.Counter(); big = []
for op in rt.get_ordered_ops():
    info = op.get_rt_info()
    lt = info["layerType"].astype(str); types[lt] += 1
    prec = info["outputPrecisions"].astype(str) if "outputPrecisions" in info else "?"
    for o in op.outputs():
        ps = o.get_partial_shape()
        if ps.is_static:
            n = int(np.prod([d.get_length() for d in ps])) if ps.rank.get_length() else 1
            bpe = {"f32": 4, "bf16": 2, "f16": 2, "i64": 8, "i32": 4, "u8": 1, "i8": 1}.get(prec.split(",")[0], 4)
            big.append((n * bpe, lt, op.get_friendly_name()[:70], str(ps), prec))
print(dict(types))
big.sort(reverse=True)
for b in big[:25]:
    print(f"{b[0]/2**20:8.1f} MiB  {b[1]:<22} {b[4]:<8} {b[3]:<22} {b[2]}")
