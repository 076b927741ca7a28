"""``fold-weights`` and ``fold-shapes``: what holds no runtime buffer, and what still does."""

from __future__ import annotations

from graphs import int4_linear, shape_arithmetic

import ovmem
from ovmem.ir import lift
from ovmem.passes import CATEGORY, COMPILE_TIME, FOLDED_BY, LIFETIME, Category, parse_pipeline


def _nodes(graph):
    return {n.name: n for n in graph.nodes}


def test_int4_weights_count_as_stored_and_decompression_is_no_temporary():
    report = ovmem.analyze(int4_linear(hidden=16, out=32), seq_len=4, device="generic")
    assert report.weights_bytes == 32 * 16 // 2 + 32 // 2 + 32 * 2  # u4 W, u4 zero points, f16 scales
    assert report.counts["temps"] == 0 and report.temp_peak_bytes == 0
    graph = parse_pipeline("fold-weights,placement,lifetime")(lift(int4_linear(), seq_len=4)).graph
    for name in ("w/subtract", "w/multiply", "w/convert"):
        value = _nodes(graph)[name].outputs[0]
        assert CATEGORY.get(value) is Category.FOLDED
        assert FOLDED_BY.get(value) == "fold-weights.decompression"


def test_decompression_rule_can_be_switched_off():
    off = ovmem.analyze(int4_linear(hidden=16, out=32), seq_len=4, passes="fold-weights{decompression=false},placement,lifetime", device="generic")
    # the f16 Subtract/Multiply chain and the f32 copy become temporaries: 32x16 f32 = 2 KiB at the peak
    assert off.counts["temps"] == 5  # two Converts, Subtract, Multiply, final Convert
    assert off.temp_lower_bound_bytes >= 32 * 16 * 4
    assert off.weights_bytes == 32 * 16 // 2 + 32 // 2 + 32 * 2


def test_shape_arithmetic_is_folded_but_big_shape_derived_tensors_are_not():
    graph = parse_pipeline("fold-weights,fold-shapes,placement,lifetime")(lift(shape_arithmetic(), seq_len=6)).graph
    nodes = _nodes(graph)
    for name in ("h/shape", "h/batch", "h/seq", "h/flat", "h/target", "seq/scalar", "positions"):
        assert CATEGORY.get(nodes[name].outputs[0]) is Category.FOLDED, name
        assert COMPILE_TIME.get(nodes[name]) is True
    assert FOLDED_BY.get(nodes["h/shape"].outputs[0]) == "fold-shapes.shape-of"
    assert FOLDED_BY.get(nodes["h/target"].outputs[0]) == "fold-shapes.arithmetic"
    for name in ("rows", "cols", "mask"):  # rank > 1: computed at run time
        assert CATEGORY.get(nodes[name].outputs[0]) is Category.TEMP, name
    assert nodes["mask"].outputs[0].nbytes == 6 * 6 * 4


def test_shape_of_does_not_keep_its_input_alive():
    model = shape_arithmetic()
    graph = parse_pipeline("fold-weights,placement,lifetime")(lift(model, seq_len=6)).graph
    h = _nodes(graph)["h"].outputs[0]
    with_shape_of = LIFETIME.get(h).end
    graph = parse_pipeline("fold-weights,fold-shapes,placement,lifetime")(lift(model, seq_len=6)).graph
    nodes = _nodes(graph)
    h = nodes["h"].outputs[0]
    last_real_reader = max(u.node.order for u in h.uses() if u.node.name != "h/shape")
    assert LIFETIME.get(h).end == last_real_reader
    assert nodes["h/shape"].order <= with_shape_of
