"""``inplace``: each rule on and off, with the runtime's conditions (declared shapes, readers)."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from graphs import named

from ovmem.ir import lift
from ovmem.passes import ALIAS_OF, FOLDED_BY, KERNEL, Category, alias_root, buffers, parse_pipeline


def _run(model: ov.Model, spec: str = "inplace", seq_len: int = 4):
    graph = lift(model, seq_len=seq_len)
    parse_pipeline(f"fold-weights,fold-shapes,{spec},placement,lifetime")(graph)
    return graph, {n.name: n.outputs[0] for n in graph.nodes if n.outputs}


def _temps(graph):
    return [b for b in buffers(graph) if b.category is Category.TEMP]


def _view_model() -> ov.Model:
    x = named(ops.parameter([-1, -1, 8], ov.Type.f32, name="x"), "x")
    a = named(ops.relu(x), "a")
    r = named(ops.reshape(a, ops.constant([0, -1], ov.Type.i64), True), "r")
    b = named(ops.relu(r), "b")
    return ov.Model([ops.result(b)], [x])


def test_views_share_their_input_buffer():
    graph, v = _run(_view_model())
    assert alias_root(v["r"]) is v["a"]
    (temp,) = [b for b in _temps(graph) if v["a"] in b.members]
    assert temp.members == (v["a"], v["r"])
    assert temp.lifetime.end == next(n.order for n in graph.nodes if n.name == "b")


def test_views_rule_off():
    graph, v = _run(_view_model(), "inplace{view=false}")
    assert not ALIAS_OF.is_set(v["r"])
    assert len(_temps(graph)) == 2


def _transpose_model(order: list[int]) -> ov.Model:
    """``[T, 1, 4, 8]`` (T dynamic) transposed by ``order``, as genai's paged graph moves its unit axis."""
    x = named(ops.parameter([-1, 1, 4, 8], ov.Type.f32, name="x"), "x")
    a = named(ops.relu(x), "a")
    t = named(ops.transpose(a, ops.constant(order, ov.Type.i64)), "t")
    return ov.Model([ops.result(named(ops.relu(t), "b"))], [x])


@pytest.mark.parametrize(
    ("order", "view"),
    [([0, 2, 1, 3], True), ([1, 0, 2, 3], True), ([0, 1, 3, 2], False), ([2, 1, 0, 3], False)],
)
def test_transpose_of_unit_axes_is_a_view(order, view):
    # TransposeToReshape: only the static-1 axis moves, the others keep their order -> a Reshape
    graph, v = _run(_transpose_model(order))
    assert (alias_root(v["t"]) is v["a"]) is view
    assert len(_temps(graph)) == (1 if view else 2)  # b is the model output
    _, v = _run(_transpose_model(order), "inplace{transpose=false}")
    assert not ALIAS_OF.is_set(v["t"])


def _concat_model(leading: int) -> ov.Model:
    """Two Relus of [leading, 4, 8] concatenated on axis 1; ``leading = -1`` declares it dynamic."""
    x = named(ops.parameter([leading, 4, 8], ov.Type.f32, name="x"), "x")
    a, b = named(ops.relu(x), "a"), named(ops.sigmoid(x), "b")
    c = named(ops.concat([a, b], 1), "c")
    return ov.Model([ops.result(named(ops.tanh(c), "out"))], [x])


def test_concat_in_place_needs_static_leading_ones():
    graph, v = _run(_concat_model(1), "inplace{eltwise=off}")  # keep Tanh from writing over c
    assert alias_root(v["a"]) is v["c"] and alias_root(v["b"]) is v["c"]
    (temp,) = _temps(graph)
    assert temp.nbytes == 1 * 8 * 8 * 4  # the output holds both inputs
    _, v = _run(_concat_model(-1), "inplace{eltwise=off}")  # batch declared dynamic: the runtime copies
    assert not ALIAS_OF.is_set(v["a"])
    _, v = _run(_concat_model(1), "inplace{concat=false}")
    assert not ALIAS_OF.is_set(v["a"])


def _split_model(leading: int) -> ov.Model:
    x = named(ops.parameter([leading, 8, 4], ov.Type.f32, name="x"), "x")
    a = named(ops.relu(x), "a")
    parts = named(ops.split(a, ops.constant(1, ov.Type.i64), 2), "split")
    joined = named(ops.add(ops.tanh(parts.output(0)), ops.tanh(parts.output(1))), "out")
    return ov.Model([ops.result(joined)], [x])


def test_split_outputs_are_views_when_leading_dims_are_one():
    graph, _ = _run(_split_model(1))
    split = next(n for n in graph.nodes if n.name == "split")
    a = next(n for n in graph.nodes if n.name == "a").outputs[0]
    assert all(alias_root(o) is a for o in split.outputs)
    graph, _ = _run(_split_model(-1))
    split = next(n for n in graph.nodes if n.name == "split")
    assert not any(ALIAS_OF.is_set(o) for o in split.outputs)
    graph, _ = _run(_split_model(1), "inplace{split=false}")
    split = next(n for n in graph.nodes if n.name == "split")
    assert not any(ALIAS_OF.is_set(o) for o in split.outputs)


def _eltwise_model(batch: int, second_reader: bool = False) -> ov.Model:
    x = named(ops.parameter([batch, 4, 8], ov.Type.f32, name="x"), "x")
    a = named(ops.relu(x), "a")
    b = named(ops.add(a, ops.constant(np.ones((1, 1, 8), np.float32) * 2)), "b")
    outs = [ops.result(named(ops.tanh(b), "out"))]
    if second_reader:
        outs.append(ops.result(named(ops.sigmoid(a), "other")))
    return ov.Model(outs, [x])


@pytest.mark.parametrize(
    ("batch", "option", "second_reader", "in_place"),
    [
        (1, "auto", False, True),  # static node, a read only by the Add: written over
        (-1, "auto", False, False),  # dynamic node: the CPU plugin never does it
        (-1, "on", False, True),  # forced on
        (1, "off", False, False),
        (1, "auto", True, False),  # a still needed by another reader
    ],
)
def test_eltwise_in_place(batch, option, second_reader, in_place):
    _, v = _run(_eltwise_model(batch, second_reader), f"inplace{{eltwise={option}}}")
    assert (alias_root(v["b"]) is v["a"]) is in_place


def test_eltwise_never_writes_over_a_model_input():
    x = named(ops.parameter([1, 4, 8], ov.Type.f32, name="x"), "x")
    y = named(ops.relu(x), "y")
    model = ov.Model([ops.result(named(ops.tanh(y), "out"))], [x])
    _, v = _run(model, "inplace{eltwise=on}")
    assert not ALIAS_OF.is_set(v["y"])


def _rope_roots(graph):
    return {KERNEL.get(n) for n in graph.nodes if n.outputs and FOLDED_BY.get(n.outputs[0], "") == "fuse.rope"}


def test_llm_rope_absorbs_its_transpose_and_writes_anew():
    from ovmem.models.llama import LlamaConfig, build_llama

    model = build_llama(LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=1,
                                    num_heads=4, num_kv_heads=2, head_dim=16))  # fmt: skip
    graph, _ = _run(model, "fuse,inplace", seq_len=8)
    roots = _rope_roots(graph)
    assert len(roots) == 2  # q and k, each with its [B, S, H, D] -> [B, H, S, D] transpose (input_trans0213)
    assert all(not ALIAS_OF.is_set(r.outputs[0]) for r in roots)
    graph, _ = _run(model, "fuse,inplace{rope=on}", seq_len=8)  # the what-if: every RoPE in place
    for root in _rope_roots(graph):
        source = alias_root(root.outputs[0])
        assert source is not root.outputs[0] and source.nbytes == root.outputs[0].nbytes


def _vit_rope(source: str = "split", second_reader: bool = False, full_tables: bool = False) -> ov.Model:
    """A ViT's attention input: ``qkv [T, 3, H, D]`` permuted to ``[3, T, H, D]`` and split into q, k, v;
    q rotated (rotate half) before any head transpose, as Qwen2.5-VL's vision blocks do. ``full_tables``:
    cos and sin as large as q (one per head, as with a single KV head) and read elsewhere too."""
    qkv = named(ops.parameter([-1, 3, 2, 8], ov.Type.f32, name="qkv"), "qkv")
    table = [-1, 2, 8] if full_tables else [-1, 1, 8]
    cos, sin = (named(ops.relu(ops.parameter(table, ov.Type.f32, name=n)), n) for n in ("cos", "sin"))
    c = lambda v: ops.constant(np.array(v, np.int64))
    permuted = named(ops.transpose(ops.relu(qkv), c([1, 0, 2, 3])), "permuted")
    if source == "split":
        parts = ops.split(permuted, c(0), 3)
        q = named(ops.squeeze(parts.output(0), c([0])), "q")
        k = named(ops.squeeze(parts.output(1), c([0])), "k")
    else:  # q is the rotary part of a wider tensor (a partial rotation, or slice_start/slice_stop)
        wide = named(ops.squeeze(ops.split(permuted, c(0), 3).output(0), c([0])), "wide")
        q = named(ops.slice(wide, c([0]), c([8]), c([1]), c([2])), "q")
        k = named(ops.relu(wide), "k")
    x1 = ops.slice(q, c([0]), c([4]), c([1]), c([2]))
    x2 = ops.slice(q, c([4]), c([8]), c([1]), c([2]))
    rotated = ops.concat([ops.negative(x2), x1], -1)
    rope = named(ops.add(ops.multiply(q, cos), ops.multiply(rotated, sin)), "rope")
    out = ops.add(named(ops.relu(rope), "after"), k)
    results = [ops.result(out)] + ([ops.result(ops.tanh(q))] if second_reader else [])
    results += [ops.result(ops.tanh(cos)), ops.result(ops.tanh(sin))] if full_tables else []
    return ov.Model(results, [qkv, *(t.input_value(0).get_node() for t in (cos, sin))])


@pytest.mark.parametrize(
    ("source", "second_reader", "in_place"),
    [
        ("split", False, True),  # written over q's part of the permuted qkv buffer
        ("split", True, False),  # q read again after the RoPE: the plugin copies it first
        ("slice", False, False),  # a slice of a wider tensor: the RoPE reads it at an offset
    ],
)
def test_vit_rope_writes_over_its_input_as_the_cpu_plugin_does(source, second_reader, in_place):
    graph, v = _run(_vit_rope(source, second_reader), "fuse,inplace", seq_len=6)
    (root,) = _rope_roots(graph)
    assert (alias_root(root.outputs[0]) is alias_root(v["q"])) is in_place
    if in_place:
        assert alias_root(root.outputs[0]) is v["permuted"]
    graph, v = _run(_vit_rope(source, second_reader), "fuse,inplace{rope=off}", seq_len=6)
    (root,) = _rope_roots(graph)
    assert not ALIAS_OF.is_set(root.outputs[0])


def test_rope_writes_over_x_not_over_tables_as_large_as_x():
    """The plugin's RoPE writes over its input 0, x (the tensor it rotates in halves), never over cos or
    sin; with tables as large as x the choice used to follow a set's order and change between runs."""
    for _ in range(12):  # fresh graphs: fresh node identities, as separate runs would have
        graph, v = _run(_vit_rope(full_tables=True), "fuse,inplace", seq_len=6)
        (root,) = _rope_roots(graph)
        assert alias_root(root.outputs[0]) is v["permuted"]
