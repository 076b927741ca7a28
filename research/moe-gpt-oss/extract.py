"""Cut a block of layer 0 out of an export into its own IR, fed by Parameters (for `ovmem measure`).
usage: .venv/bin/python extract.py EXPORT_DIR OUT_DIR
writes OUT_DIR/moe0.xml (post_attention_layernorm output -> MoE ReduceSum) and
OUT_DIR/attn0.xml (q/k/v after RoPE + bool mask -> SDPA with sinks)."""
import sys, openvino as ov
from openvino import opset13 as ops
core = ov.Core()
src, out = sys.argv[1], sys.argv[2]
m = core.read_model(src + "/openvino_model.xml")
by = {op.get_friendly_name(): op for op in m.get_ordered_ops()}
L = "__module.model.layers.0"

def cut(out_node_name, feed, name):
    """feed: {friendly_name_of_producer: (param_name, pshape, etype)} -> replace producer outputs with Parameters."""
    params = []
    for prod, (pname, shape, et) in feed.items():
        p = ops.parameter(shape, et, name=pname); p.output(0).get_tensor().set_names({pname})
        for inp in list(by[prod].output(0).get_target_inputs()):
            inp.replace_source_output(p.output(0))
        params.append(p)
    r = ops.result(by[out_node_name].output(0))
    try:
        sub = ov.Model([r], params, name)
    except RuntimeError:  # shape-only uses of original inputs (e.g. input_ids' ShapeOf): keep them
        used = [p for p in m.get_parameters() if any(
            t.get_node() is not None for t in p.output(0).get_target_inputs())]
        sub = ov.Model([r], params + [p for p in m.get_parameters() if p.get_friendly_name() == "input_ids"], name)
    sub.get_rt_info()  # keep it simple
    ov.save_model(sub, f"{out}/{name}.xml", compress_to_fp16=False)
    print(name, [o.get_type_name() for o in sub.get_ordered_ops()].count("MatMul"), "MatMuls")

cut(f"{L}.mlp.experts/aten::sum/ReduceSum",
    {f"{L}.post_attention_layernorm/aten::mul/Multiply": ("hidden", ov.PartialShape([1, -1, 1440]), ov.Type.f32)},
    "moe0")
for variant in ("sinks", "nosinks"):
    m = core.read_model(src + "/openvino_model.xml")
    sdpa = [op for op in m.get_ordered_ops() if op.get_friendly_name() == f"{L}.self_attn/aten::matmul/MatMul_1"][0]
    q = ops.parameter([1, 64, -1, 64], ov.Type.f32, name="q")
    k = ops.parameter([1, 8, -1, 64], ov.Type.f32, name="k")
    v = ops.parameter([1, 8, -1, 64], ov.Type.f32, name="v")
    mask = ops.parameter([1, 1, -1, -1], ov.Type.boolean, name="mask")
    for p in (q, k, v, mask):
        p.output(0).get_tensor().set_names({p.get_friendly_name()})
    # GQA: k/v [1,8,T,64] -> [1,64,T,64] the way the export does it (unsqueeze+broadcast+reshape)
    def rep(x):
        u = ops.unsqueeze(x, ops.constant([2]))
        shp = ops.concat([ops.constant([1, 8, 8], ov.Type.i64), ops.gather(ops.shape_of(x), ops.constant([2]), ops.constant(0)), ops.constant([64], ov.Type.i64)], 0)
        b = ops.broadcast(u, shp)
        return ops.reshape(b, ops.constant([1, 64, -1, 64]), False)
    if variant == "sinks":
        for idx, new in ((0, q), (1, rep(k)), (2, rep(v)), (3, mask)):
            sdpa.input(idx).replace_source_output(new.output(0))
        node = sdpa
    else:
        node = ops.scaled_dot_product_attention(q, rep(k), rep(v), mask, sdpa.input_value(4), causal=False)
    sub = ov.Model([ops.result(node)], [q, k, v, mask], "attn0_" + variant)
    ov.save_model(sub, f"{out}/attn0_{variant}.xml", compress_to_fp16=False)
    print(variant, [str(i.get_partial_shape()) for i in node.inputs()])
