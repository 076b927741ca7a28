"""Tests for the built-in Llama-style demo model (ovmem.models.llama)."""

from __future__ import annotations

import collections

import attrs
import numpy as np
import openvino as ov
import pytest

from ovmem.models.llama import LlamaConfig, build_llama

TINY = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=2,
                   num_heads=4, num_kv_heads=2, head_dim=16)
VARIABLE_IDS = [f"past_key_values.{i}.{kind}present.{i}.{kind}"
                for i in range(TINY.num_layers) for kind in ("key", "value")]
LARGE_CONST = 1000  # elements; every weight matrix of TINY is bigger, every norm/shape constant smaller


def _ops(model: ov.Model, type_name: str) -> list[ov.Node]:
    return [op for op in model.get_ordered_ops() if op.get_type_name() == type_name]


def _named(model: ov.Model, name: str) -> ov.Node:
    (node,) = [op for op in model.get_ordered_ops() if op.get_friendly_name() == name]
    return node


def _producer(node: ov.Node, port: int = 0) -> ov.Node:
    return node.input_value(port).get_node()


def _consumers(node: ov.Node) -> list[ov.Node]:
    return [t.get_node() for t in node.output(0).get_target_inputs()]


def _large_constants(model: ov.Model) -> list[ov.Node]:
    return [c for c in _ops(model, "Constant") if int(np.prod(c.get_output_shape(0))) >= LARGE_CONST]


@pytest.fixture(scope="module")
def model() -> ov.Model:
    return build_llama(TINY)


@pytest.fixture(scope="module")
def compiled(model: ov.Model) -> ov.CompiledModel:
    return ov.Core().compile_model(model, "CPU")


@pytest.fixture(scope="module")
def exact(model: ov.Model) -> ov.CompiledModel:
    """Compiled without lossy defaults, so different execution paths can be compared tightly.

    The CPU plugin by default quantizes the KV cache to u8 (``KV_CACHE_PRECISION``) and may
    run in bf16 (``INFERENCE_PRECISION_HINT``); both would blur the comparisons below.
    """
    return ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                  "KV_CACHE_PRECISION": "f32"})


def _inputs(ids, mask=None, positions=None, beam=None) -> dict[str, np.ndarray]:
    ids = np.asarray(ids, np.int64)
    batch, seq = ids.shape
    return {
        "input_ids": ids,
        "attention_mask": np.ones((batch, seq), np.int64) if mask is None else np.asarray(mask, np.int64),
        "position_ids": np.tile(np.arange(seq), (batch, 1)) if positions is None
        else np.asarray(positions, np.int64),
        "beam_idx": np.arange(batch, dtype=np.int32) if beam is None else np.asarray(beam, np.int32),
    }


def test_inputs_and_outputs(model: ov.Model) -> None:
    expected = {"input_ids": (ov.Type.i64, "[?,?]"), "attention_mask": (ov.Type.i64, "[?,?]"),
                "position_ids": (ov.Type.i64, "[?,?]"), "beam_idx": (ov.Type.i32, "[?]")}
    assert [p.get_friendly_name() for p in model.get_parameters()] == list(expected)
    for name, (dtype, shape) in expected.items():
        port = model.input(name)
        assert port.get_names() == {name}
        assert port.get_element_type() == dtype
        assert str(port.get_partial_shape()) == shape
    assert len(model.outputs) == 1
    assert model.output(0).get_names() == {"logits"}
    assert model.output(0).get_element_type() == ov.Type.f32
    assert model.output(0).get_partial_shape() == ov.PartialShape([-1, -1, TINY.vocab_size])
    assert model.get_friendly_name() == "llama-demo"


def test_kv_cache_is_stateful(model: ov.Model) -> None:
    reads, assigns = _ops(model, "ReadValue"), _ops(model, "Assign")
    expected_ids = set(VARIABLE_IDS)
    assert len(reads) == len(assigns) == 2 * TINY.num_layers
    assert {r.get_variable_id() for r in reads} == expected_ids
    assert {a.get_variable_id() for a in assigns} == expected_ids
    assert len(model.get_sinks()) == 2 * TINY.num_layers
    for read in reads:
        assert read.get_output_element_type(0) == ov.Type.f32
        assert read.get_output_partial_shape(0) == ov.PartialShape([-1, TINY.num_kv_heads, -1, TINY.head_dim])
        (gather,) = _consumers(read)  # past state is reordered by beam_idx ...
        assert gather.get_type_name() == "Gather"
        assert _producer(gather, 1).get_friendly_name() == "beam_idx"
        (concat,) = _consumers(gather)  # ... then extended along the sequence axis
        assert concat.get_type_name() == "Concat" and concat.get_attributes()["axis"] == 2
        users = {u.get_type_name() for u in _consumers(concat)}
        assert "Assign" in users and len(users) == 2  # feeds the Assign and the attention


def test_op_mix(model: ov.Model) -> None:
    counts = collections.Counter(op.get_type_name() for op in model.get_ordered_ops())
    layers = TINY.num_layers
    assert counts["ScaledDotProductAttention"] == layers
    assert counts["MatMul"] == 7 * layers + 1 + 1  # q,k,v,o,gate,up,down + lm_head + RoPE angles
    assert counts["ReduceMean"] == 2 * layers + 1  # two RMSNorms per layer + final norm
    assert counts["Swish"] == layers
    assert counts["Cos"] == counts["Sin"] == 1
    for sdpa in _ops(model, "ScaledDotProductAttention"):
        assert sdpa.get_attributes()["causal"] is False
        assert _producer(sdpa, 3).get_friendly_name() == "causal_mask"
    assert _named(model, "model.layers.1.self_attn.q_proj").get_type_name() == "MatMul"
    assert _named(model, "model.layers.0.mlp.down_proj").get_type_name() == "MatMul"
    assert _named(model, "model.embed_tokens").get_type_name() == "Gather"
    for name in ("model.norm", "lm_head"):
        _named(model, name)


def test_compressed_weights() -> None:
    f16, f32 = build_llama(TINY), build_llama(attrs.evolve(TINY, weight_dtype="f32"))
    q16 = _producer(_named(f16, "model.layers.0.self_attn.q_proj"), 1)
    assert q16.get_type_name() == "Convert" and q16.get_output_element_type(0) == ov.Type.f32
    assert _producer(q16).get_element_type() == ov.Type.f16
    assert _producer(q16).get_output_shape(0) == [TINY.num_heads * TINY.head_dim, TINY.hidden_size]
    q32 = _producer(_named(f32, "model.layers.0.self_attn.q_proj"), 1)
    assert q32.get_type_name() == "Constant" and q32.get_element_type() == ov.Type.f32
    assert {c.get_element_type() for c in _large_constants(f16)} == {ov.Type.f16}
    assert {c.get_element_type() for c in _large_constants(f32)} == {ov.Type.f32}
    np.testing.assert_array_equal(_producer(q16).get_data().astype(np.float32), q32.get_data())


def test_tied_embeddings_share_the_table() -> None:
    untied = build_llama(TINY)
    tied = build_llama(attrs.evolve(TINY, tie_word_embeddings=True))
    assert len(_large_constants(tied)) == len(_large_constants(untied)) - 1
    # lm_head reads the very same (decompressed) table the embedding Gather reads.
    embed_table = _named(tied, "model.embed_tokens").input_value(0)
    assert _named(tied, "lm_head").input_value(1) == embed_table
    assert _producer(embed_table.get_node()).get_friendly_name() == "model.embed_tokens.weight"
    assert _producer(_producer(_named(untied, "lm_head"), 1)).get_friendly_name() == "lm_head.weight"


def test_default_config_is_deterministic() -> None:
    a, b = build_llama(TINY), build_llama(TINY)
    c = build_llama(attrs.evolve(TINY, seed=1))
    wa, wb, wc = (_producer(_producer(_named(m, "lm_head"), 1)).get_data() for m in (a, b, c))
    np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(wa, wc)
    assert 0.005 < float(np.std(wa.astype(np.float32))) < 0.05


def test_prefill_then_decode_carries_state(compiled: ov.CompiledModel) -> None:
    request = compiled.create_infer_request()
    first = request.infer(_inputs([[3, 17, 42, 99, 7]]))["logits"].copy()
    assert first.shape == (1, 5, TINY.vocab_size)
    assert {tuple(s.state.shape) for s in request.query_state()} == {(1, TINY.num_kv_heads, 5, TINY.head_dim)}

    second = request.infer(_inputs([[64]], mask=np.ones((1, 6)), positions=[[5]]))["logits"].copy()
    assert second.shape == (1, 1, TINY.vocab_size)
    assert np.isfinite(first).all() and np.isfinite(second).all()
    states = request.query_state()
    assert sorted(s.name for s in states) == sorted(VARIABLE_IDS)
    for state in states:
        assert list(state.state.shape) == [1, TINY.num_kv_heads, 6, TINY.head_dim]


def test_cached_decode_matches_full_prefill(exact: ov.CompiledModel) -> None:
    tokens = [3, 17, 42, 99, 7, 64]
    request = exact.create_infer_request()
    first = request.infer(_inputs([tokens[:5]]))["logits"].copy()
    second = request.infer(_inputs([tokens[5:]], mask=np.ones((1, 6)), positions=[[5]]))["logits"].copy()
    full = exact.create_infer_request().infer(_inputs([tokens]))["logits"]
    np.testing.assert_allclose(first, full[:, :5], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(second[:, 0], full[:, 5], rtol=1e-4, atol=1e-5)
    assert not np.allclose(full[:, 5], full[:, 4], atol=1e-3)  # logits actually depend on the input

    request.reset_state()  # a fresh sequence must not see the old cache
    again = request.infer(_inputs([tokens[:5]]))["logits"]
    np.testing.assert_allclose(again, first, rtol=1e-5, atol=1e-6)


def test_beam_idx_reorders_the_cache(exact: ov.CompiledModel) -> None:
    prompts = [[5, 6, 7], [80, 81, 82]]
    step = dict(mask=np.ones((2, 4)), positions=[[3], [3]])
    straight, swapped = exact.create_infer_request(), exact.create_infer_request()
    for request in (straight, swapped):
        request.infer(_inputs(prompts))
    a = straight.infer(_inputs([[9], [9]], beam=[0, 1], **step))["logits"].copy()
    b = swapped.infer(_inputs([[9], [9]], beam=[1, 0], **step))["logits"].copy()
    np.testing.assert_allclose(b[0], a[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b[1], a[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0], a[1], atol=1e-3)


def test_padding_mask_hides_pad_tokens(exact: ov.CompiledModel) -> None:
    padded = exact.create_infer_request().infer(
        _inputs([[0, 0, 11, 12, 13]], mask=[[0, 0, 1, 1, 1]], positions=[[1, 1, 0, 1, 2]]))["logits"]
    plain = exact.create_infer_request().infer(_inputs([[11, 12, 13]]))["logits"]
    assert np.isfinite(padded).all()
    np.testing.assert_allclose(padded[:, 2:], plain, rtol=1e-4, atol=1e-5)


def test_rope_depends_only_on_relative_positions(exact: ov.CompiledModel) -> None:
    tokens = [[3, 17, 42, 99, 7]]
    base = exact.create_infer_request().infer(_inputs(tokens))["logits"].copy()
    shifted = exact.create_infer_request().infer(_inputs(tokens, positions=[np.arange(5) + 7]))["logits"]
    spread = exact.create_infer_request().infer(_inputs(tokens, positions=[np.arange(5) * 3]))["logits"]
    np.testing.assert_allclose(shifted, base, rtol=1e-4, atol=1e-5)  # a true rotation: shift-invariant
    assert not np.allclose(spread[:, 1:], base[:, 1:], atol=1e-4)  # ... yet positions do matter
