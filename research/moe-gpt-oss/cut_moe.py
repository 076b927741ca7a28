"""Cut layer-0's MoE of an export at successive nodes (prefix sub-models, dynamic shapes) to see
which stage costs what under `ovmem measure`.  usage: .venv/bin/python cut_moe.py EXPORT OUT_DIR"""
import sys, openvino as ov
from openvino import opset13 as ops
core = ov.Core()
src, out = sys.argv[1], sys.argv[2]
L = "__module.model.layers.0"
STAGES = {
    "tile": f"{L}.mlp.experts/aten::view/Reshape",
    "mm1": f"{L}.mlp.experts/ov_ext::bmm/MatMul",
    "glu": f"{L}.mlp.experts/aten::mul/Multiply_2",
    "mm2": f"{L}.mlp.experts/ov_ext::bmm/MatMul_1",
    "wsum": f"{L}.mlp.experts/aten::sum/ReduceSum",
}
for tag, node_name in STAGES.items():
    m = core.read_model(src + "/openvino_model.xml")
    by = {op.get_friendly_name(): op for op in m.get_ordered_ops()}
    p = ops.parameter(ov.PartialShape([1, -1, 1440]), ov.Type.f32, name="hidden")
    p.output(0).get_tensor().set_names({"hidden"})
    for inp in list(by[f"{L}.post_attention_layernorm/aten::mul/Multiply"].output(0).get_target_inputs()):
        inp.replace_source_output(p.output(0))
    x = by[node_name].output(0)
    # reduce the stage output to a small result so the output buffer itself is not the thing measured
    red = ops.reduce_sum(x, ops.constant([0]), keep_dims=False) if tag != "wsum" else x
    params = [p] + [q for q in m.get_parameters() if q.get_friendly_name() == "input_ids"]
    try:
        sub = ov.Model([ops.result(red)], [p], "moe0_" + tag)
    except RuntimeError:
        sub = ov.Model([ops.result(red)], params, "moe0_" + tag)
    ov.save_model(sub, f"{out}/moe0_{tag}.xml", compress_to_fp16=False)
    print(tag, [q.get_friendly_name() for q in sub.get_parameters()])
