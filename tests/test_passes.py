"""Pass infrastructure and the first passes: results, lifetimes, pipeline strings, plugins."""

from __future__ import annotations

import io
import textwrap

import attrs
import pytest
from graphs import kv_cache, mlp

from ovmem.errors import UsageError
from ovmem.ir import lift
from ovmem.ir.core import Graph
from ovmem.passes import (
    CATEGORY,
    LIFETIME,
    Category,
    FoldWeights,
    Lifetime,
    LifetimeAnalysis,
    Pass,
    PassPreconditionError,
    PassResult,
    Pipeline,
    PrintAfterInstrument,
    TimingInstrument,
    available_passes,
    parse_pipeline,
    register_pass,
)
from ovmem.passes import registry


def _by_name(graph: Graph) -> dict:
    return {n.name: n for n in graph.nodes}


def test_fold_weights_marks_constants_and_reports_modified_once():
    graph = lift(mlp(), seq_len=4)
    first = FoldWeights()(graph)
    assert first.modified and first.graph is graph
    nodes = _by_name(graph)
    assert CATEGORY.get(nodes["w1"].outputs[0]) is Category.WEIGHT
    assert not CATEGORY.is_set(nodes["fc1"].outputs[0])
    assert FoldWeights()(graph).modified is False  # nothing left to do


def test_lifetime_spans_producer_to_last_reader():
    graph = lift(mlp(), seq_len=4)
    parse_pipeline("fold-weights,placement,lifetime")(graph)
    nodes = _by_name(graph)
    fc1, act, fc2 = nodes["fc1"], nodes["act"], nodes["fc2"]
    assert LIFETIME.get(fc1.outputs[0]) == Lifetime(fc1.order, act.order)
    assert LIFETIME.get(act.outputs[0]) == Lifetime(act.order, fc2.order)
    assert CATEGORY.get(act.outputs[0]) is Category.TEMP
    last = len(graph.nodes) - 1
    assert LIFETIME.get(graph.inputs[0]) == Lifetime(0, last)  # inputs and outputs are pinned
    assert CATEGORY.get(graph.outputs[0]) is Category.IO
    assert not LIFETIME.is_set(nodes["w1"].outputs[0])  # weights are not runtime buffers


def test_states_are_pinned_and_not_temporaries():
    graph = lift(kv_cache(), seq_len=4, past_len=2)
    parse_pipeline("fold-weights,placement,lifetime")(graph)
    (state,) = graph.states
    last = len(graph.nodes) - 1
    for value in (state.read.outputs[0], state.assign.inputs[0]):
        assert CATEGORY.get(value) is Category.STATE
        assert LIFETIME.get(value) == Lifetime(0, last)
    reorder = _by_name(graph)["past.0.key/reorder"].outputs[0]
    assert CATEGORY.get(reorder) is Category.TEMP


def test_unread_value_lives_one_step():
    graph = Graph("g")
    from ovmem.ir.types import TensorType

    a = graph.add_node("Parameter", [], [TensorType("f32", (4,))]).outputs[0]
    graph.inputs.append(a)
    b = graph.add_node("Split", [a], [TensorType("f32", (2,)), TensorType("f32", (2,))])
    graph.add_node("Result", [b.outputs[0]])
    graph.outputs.append(b.outputs[0])
    LifetimeAnalysis()(graph)
    assert LIFETIME.get(b.outputs[1]) == Lifetime(1, 1)


def test_lifetime_requires_consistent_order():
    graph = lift(mlp(), seq_len=2)
    graph.nodes.reverse()
    with pytest.raises(PassPreconditionError, match="node.order"):
        LifetimeAnalysis()(graph)


def test_pipeline_runs_in_order_with_instruments():
    graph = lift(mlp(), seq_len=2)
    timing, out = TimingInstrument(), io.StringIO()
    result = parse_pipeline("fold-weights,placement,lifetime", instruments=[timing, PrintAfterInstrument(out)])(graph)
    assert result.modified
    assert [name for name, _ in timing.timings] == ["fold-weights", "placement", "lifetime"]
    assert all(seconds >= 0 for _, seconds in timing.timings)
    text = out.getvalue()
    assert text.index("// after fold-weights") < text.index("// after lifetime")
    assert "category=weight" in text.split("// after lifetime")[0]
    assert "lifetime=" not in text.split("// after lifetime")[0]


@attrs.frozen
class _Scale(Pass):
    """A test pass with options of every kind."""

    name = "test-scale"
    factor: float = 1.0
    times: int = 1
    enabled: bool = True
    label: str = "x"

    def call(self, graph: Graph) -> PassResult:
        graph.meta["ovmem.test"] = (self.factor, self.times, self.enabled, self.label)
        return PassResult(graph, True)


@pytest.fixture
def scale_pass():
    with registry.PASSES.scratch():
        register_pass(_Scale)
        yield _Scale


def test_pipeline_string_options_are_typed(scale_pass):
    pipeline = parse_pipeline("fold-weights, test-scale{factor=2.5,times=3,enabled=false,label=a b}")
    assert pipeline.passes == (FoldWeights(), _Scale(2.5, 3, False, "a b"))
    assert str(pipeline) == "fold-weights,test-scale{factor=2.5,times=3,enabled=false,label=a b}"
    assert parse_pipeline(str(pipeline)).passes == pipeline.passes  # round trip
    graph = pipeline(lift(mlp(), seq_len=1)).graph
    assert graph.meta["ovmem.test"] == (2.5, 3, False, "a b")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fold-weights,nope", "unknown pass 'nope'"),
        ("lifetime{x=1}", "has no option 'x=1'"),
        ("test-scale{times=two}", "expected int"),
        ("test-scale{enabled=maybe}", "expected true or false"),
        ("test-scale{times=1", "unbalanced"),
        ("test-scale}", "unbalanced"),
    ],
)
def test_bad_pipeline_strings_are_usage_errors(scale_pass, spec, message):
    with pytest.raises(UsageError, match=message):
        parse_pipeline(spec)


def test_register_pass_needs_kebab_case_name():
    @attrs.frozen
    class Bad(Pass):
        name = "Bad Name"

    with pytest.raises(ValueError, match="kebab-case"):
        register_pass(Bad)


def test_pass_checks_pre_and_postconditions():
    @attrs.frozen
    class Breaks(Pass):
        name = "breaks"

        def call(self, graph: Graph) -> PassResult:
            graph.nodes.reverse()
            return PassResult(graph, True)

        def ensures(self, graph: Graph) -> None:
            if graph.nodes and graph.nodes[0].order != 0:
                raise PassPreconditionError("order broken")

    with pytest.raises(PassPreconditionError, match="order broken"):
        Pipeline([Breaks()])(lift(mlp(), seq_len=1))


def test_plugin_passes_register_through_entry_points(tmp_path, monkeypatch):
    """A tiny installed package exposes a pass in the ``ovmem.passes`` entry-point group."""
    pkg = tmp_path / "ovmem_test_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            '''
            import attrs
            from ovmem.passes import Pass, PassResult

            @attrs.frozen
            class MarkPlugin(Pass):
                """Marks the graph."""
                name = "mark-plugin"
                def call(self, graph):
                    graph.meta["ovmem.plugin"] = True
                    return PassResult(graph, True)
            '''
        )
    )
    dist = tmp_path / "ovmem_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ovmem-test-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ovmem.passes]\nmark-plugin = ovmem_test_plugin:MarkPlugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with registry.PASSES.scratch():
        assert "mark-plugin" in available_passes()
        graph = parse_pipeline("fold-weights,mark-plugin")(lift(mlp(), seq_len=1)).graph
        assert graph.meta["ovmem.plugin"] is True
    monkeypatch.undo()  # the package is no longer installed: neither registered nor found again
    assert "mark-plugin" not in available_passes()


def test_aliases_share_one_buffer_spanning_all_of_them():
    from ovmem.passes import ALIAS_OF, buffers

    graph = lift(mlp(), seq_len=4)
    nodes = _by_name(graph)
    fc1, act = nodes["fc1"].outputs[0], nodes["act"].outputs[0]
    parse_pipeline("fold-weights,placement")(graph)
    ALIAS_OF.set(act, fc1)  # Relu writes in place over its input
    LifetimeAnalysis()(graph)
    temps = [b for b in buffers(graph) if b.category is Category.TEMP]
    assert len(temps) == 1 and temps[0].members == (fc1, act)
    span = Lifetime(nodes["fc1"].order, nodes["fc2"].order)
    assert LIFETIME.get(fc1) == LIFETIME.get(act) == span
    assert temps[0].nbytes == 512


def test_alias_of_an_output_is_pinned_and_view_of_a_weight_is_folded():
    from ovmem.passes import ALIAS_OF, FOLDED_BY

    graph = lift(mlp(), seq_len=4)
    nodes = _by_name(graph)
    parse_pipeline("fold-weights,placement")(graph)
    ALIAS_OF.set(nodes["act"].outputs[0], nodes["x"].outputs[0])  # pretend: written over the input
    ALIAS_OF.set(nodes["fc1"].outputs[0], nodes["w1"].outputs[0])  # pretend: a view of a weight
    LifetimeAnalysis()(graph)
    assert CATEGORY.get(nodes["act"].outputs[0]) is Category.IO
    assert LIFETIME.get(nodes["act"].outputs[0]) == Lifetime(0, len(graph.nodes) - 1)
    assert CATEGORY.get(nodes["fc1"].outputs[0]) is Category.FOLDED
    assert FOLDED_BY.get(nodes["fc1"].outputs[0]) == "view of a weight or folded value"


def test_placement_counts_the_callers_copy_of_the_logits():
    """optimum-intel's forward clones ``logits`` after the run; openvino.genai reads them in place."""
    from pathlib import Path

    import ovmem
    from ovmem.passes import CLIENT_COPY_BYTES

    fixture = Path(__file__).parent / "fixtures" / "tiny-qwen2-f16"
    for passes, copied in (("placement", True), ("placement{client_copies=()}", False)):
        graph = parse_pipeline(f"fold-weights,{passes},lifetime")(lift(fixture, seq_len=16)).graph
        (logits,) = graph.outputs
        assert CLIENT_COPY_BYTES.get(logits, None) == (16 * 256 * 4 if copied else None)
    ov_run = ovmem.analyze(fixture, seq_len=16, device="generic")
    genai_run = ovmem.analyze(fixture, seq_len=16, device="generic", runtime="genai")
    assert [CLIENT_COPY_BYTES.get(v, None) for v in ov_run.graph.outputs] == [16 * 256 * 4]
    assert [CLIENT_COPY_BYTES.get(v, None) for v in genai_run.graph.outputs] == [None]  # genai: no copy
