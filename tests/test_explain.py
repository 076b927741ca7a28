"""Explaining the peak: the step the hand derivation names, what is live there, and by layer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import ovmem
from ovmem._layers import OTHER, layer_key
from ovmem.cli import main
from ovmem.explain import explain_peak, format_explanation, layer_breakdown, live_by_step, peak_part
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.vlm import analyze_pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
S, HIDDEN, INTER, HEAD_DIM = 1024, 512, 1408, 64
MiB = 2**20


@pytest.fixture(scope="module")
def demo() -> ovmem.MemoryReport:
    return ovmem.analyze(build_llama(LlamaConfig()), seq_len=S, device="generic")


def test_explanation_names_the_hand_derived_peak(demo):
    """tests/test_golden.py derives the live set at the demo's peak by hand: layer 0's gate * up
    Multiply, with the gate (Swish fused in), up and product tensors, the attention residual, the
    causal mask and the rotary tables live there."""
    e = explain_peak(demo, top=10)
    assert (e.step, e.op_type, e.name, e.layer) == (demo.peak.step, "Multiply", "model.layers.0.mlp/gated", "model.layers.0")
    temp = e.group("temp")
    assert temp.count == len(temp.tensors) == 7 and temp.nbytes == 23 * MiB == demo.temp_lower_bound_bytes
    assert {t.producer: t.nbytes for t in temp.tensors} == {
        "model.rotary_emb/cos": S * HEAD_DIM * 4,
        "model.rotary_emb/sin": S * HEAD_DIM * 4,
        "causal_mask": S * S * 4,
        "model.layers.0/attn_residual": S * HIDDEN * 4,
        "model.layers.0.mlp.act_fn": S * INTER * 4,
        "model.layers.0.mlp.up_proj": S * INTER * 4,
        "model.layers.0.mlp/gated": S * INTER * 4,
    }
    assert [t.nbytes for t in temp.tensors] == sorted((t.nbytes for t in temp.tensors), reverse=True)
    gated = next(t for t in temp.tensors if t.producer == "model.layers.0.mlp/gated")
    assert (gated.dtype, gated.shape, gated.producer_op) == ("f32", (1, S, INTER), "Multiply")
    assert (gated.last_user_op, gated.last_user) == ("MatMul", "model.layers.0.mlp.down_proj")
    assert gated.start == e.step < gated.end
    mask = next(t for t in temp.tensors if t.producer == "causal_mask")
    assert mask.last_user.startswith("model.layers.3.") and mask.layer == OTHER  # every layer reads it


def test_pinned_groups_add_up_to_the_report(demo):
    e = explain_peak(demo, top=2)
    io, state = e.group("io"), e.group("state")
    assert io.nbytes == demo.io_bytes and io.count == 5 and len(io.tensors) == 2
    assert io.tensors[0].name == "logits" and io.tensors[0].shape == (1, S, 32000)
    assert state.nbytes == demo.state_bytes and state.count == 8
    assert state.tensors[0].producer_op == "Concat" and state.tensors[0].last_user_op == "Assign"
    assert len(e.group("temp").tensors) == 2 and e.group("temp").count == 7
    assert e.resident["weights"] == demo.weights_bytes


def test_layer_breakdown_by_hand(demo):
    layers = {u.layer: u for u in layer_breakdown(demo)}
    assert list(layers) == ["model.layers.0", "model.layers.1", "model.layers.2", "model.layers.3", OTHER]
    assert sum(u.weights_bytes for u in layers.values()) == demo.weights_bytes
    # f16 q, o [512, 512], k, v [128, 512], gate, up, down [1408, 512] and two RMSNorm scales [512];
    # a few hundred bytes of shape constants besides
    per_layer = (2 * HIDDEN * HIDDEN + 2 * 128 * HIDDEN + 3 * INTER * HIDDEN + 2 * HIDDEN) * 2
    for i in range(4):
        assert per_layer <= layers[f"model.layers.{i}"].weights_bytes < per_layer + 1024
    embed_and_head = 2 * 32000 * HIDDEN * 2
    assert embed_and_head <= layers[OTHER].weights_bytes < embed_and_head + 4096
    # at the peak: layer 0's gate, up, product and residual; the mask and rotary tables are shared
    assert layers["model.layers.0"].temp_at_peak_bytes == (3 * INTER + HIDDEN) * S * 4
    assert layers[OTHER].temp_at_peak_bytes == (S * S + 2 * S * HEAD_DIM) * 4
    assert sum(u.temp_at_peak_bytes for u in layers.values()) == max(live_by_step(demo.graph)) == 23 * MiB
    assert layers["model.layers.0"].temp_peak_step == demo.peak.step
    assert all(layers[f"model.layers.{i}"].temp_peak_bytes <= 23 * MiB for i in range(4))


def test_format_explanation_text(demo):
    short = format_explanation(explain_peak(demo))
    assert short.splitlines()[0] == (
        f"explain: the peak is step {demo.peak.step} (of 0..{len(demo.graph.nodes) - 1}) in model.layers.0: "
        "Multiply 'model.layers.0.mlp/gated'"
    )
    assert "23.00 MiB of temporaries live there, 7 tensors (the greedy-by-size arena: 23.00 MiB)" in short
    assert "Swish 'model.layers.0.mlp.act_fn' -> Multiply 'model.layers.0.mlp/gated'" in short
    assert "in 2 more" in short and "by layer" not in short
    # the logits (125 MiB) and the caller's copy of them (optimum-intel's clone), counted with the tensor
    assert "inputs + outputs, held for the whole run: 250.02 MiB, 5 tensors; largest 250.00 MiB f32[1,1024,32000] 'logits'" in short
    long = format_explanation(explain_peak(demo, top=20), verbose=True)
    assert "more (--explain" not in long and "by layer (friendly-name prefix)" in long
    assert "Parameter 'input_ids' -> Gather 'model.embed_tokens'" in long


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("model.layers.3.mlp/gated", "model.layers.3"),
        ("__module.model.layers.12.self_attn/aten::scaled_dot_product_attention/SDPA", "model.layers.12"),
        ("self.model.layers.0.self_attn.q_proj._openvino_orig_weight", "model.layers.0"),
        ("__module.model.vision_tower.vision_model.encoder.layers.2.mlp/aten::gelu/Gelu",
         "model.vision_tower.vision_model.encoder.layers.2"),
        ("vision_model.encoder.layers.7", "vision_model.encoder.layers.7"),
        ("__module.blocks.0.attn/aten::cat/Concat_1", "blocks.0"),
        ("transformer.h.5.attn.c_attn", "transformer.h.5"),
        ("bert.encoder.layer.1/Add", "bert.encoder.layer.1"),
        ("model.embed_tokens", None),
        ("Constant_13312_compressed", None),
        ("model.layersx.1", None),
    ],
)  # fmt: skip
def test_layer_keys_from_friendly_names(name, key):
    assert layer_key(name) == key


@pytest.mark.parametrize("device", ["generic", "CPU"])
def test_llm_fixture_explained_and_added_up(device):
    report = ovmem.analyze(FIXTURES / "tiny-llama-f16", seq_len=64, device=device)
    e = explain_peak(report)
    assert (e.step, e.op_type, e.name) == (report.peak.step, report.peak.op_type, report.peak.name)
    assert e.group("temp").nbytes == max(live_by_step(report.graph)) <= report.temp_peak_bytes
    assert e.group("io").nbytes == report.io_bytes and e.group("state").nbytes == report.state_bytes
    keys = [u.layer for u in e.layers]
    assert keys == ["model.layers.0", "model.layers.1", OTHER]
    assert sum(u.weights_bytes for u in e.layers) == report.weights_bytes
    assert sum(u.temp_at_peak_bytes for u in e.layers) == e.group("temp").nbytes
    assert json.loads(json.dumps(e.to_dict()))["groups"][0]["tensors"][0]["nbytes"] > 0


def test_vlm_fixture_explains_its_largest_part():
    pipeline = analyze_pipeline(FIXTURES / "tiny-llava-f16", image=(336, 336), prompt_tokens=16, device="generic")
    part = peak_part(pipeline)
    run = max((r for r in pipeline.runs if r.phase != "loaded"), key=lambda r: r.working_bytes)
    assert part.model == f"tiny-llava-f16 {run.role} ({run.phase})" == "tiny-llava-f16 language (prefill)"
    e = explain_peak(part)
    assert e.step == run.report.peak.step and e.layer == "model.language_model.layers.0"
    assert format_explanation(e, named=True).startswith("explain tiny-llava-f16 language (prefill): the peak is step")
    vision = next(r.report for r in pipeline.runs if r.role == "vision_embeddings")
    layers = layer_breakdown(vision)
    assert layers[0].layer == "model.vision_tower.vision_model.encoder.layers.0"
    assert sum(u.weights_bytes for u in layers) == vision.weights_bytes
    encoder = analyze_pipeline(FIXTURES / "tiny-qwen2_5-vl-f16", 64, stages=("vision",), device="generic")
    merger = next(r.report for r in encoder.runs if r.role == "vision_embeddings_merger")
    assert explain_peak(merger).layer == "blocks.0"
    patches = next(r.report for r in encoder.runs if r.role == "vision_embeddings")
    assert patches.peak is None and "no temporary tensors" in format_explanation(explain_peak(patches))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_explains_by_default_and_on_request(capsys):
    code, out, err = run(capsys, "demo", "--device", "generic", "--seq-len", "1024")
    assert code == 0, err
    table, _, explained = out.partition("explain: ")
    assert "temporaries peak at step" in table and explained.startswith("the peak is step")
    assert "Multiply 'model.layers.0.mlp/gated'" in explained and "by layer" not in explained
    assert len(explained.splitlines()) < 14  # short by default
    code, out0, _ = run(capsys, "demo", "--device", "generic", "--seq-len", "1024", "--explain", "0")
    assert out0 == table  # --explain 0: the table alone, as before
    code, out, _ = run(capsys, "demo", "--device", "generic", "--seq-len", "1024", "--explain", "3")
    assert "by layer (friendly-name prefix)" in out and "in 4 more" in out
    code, out, _ = run(capsys, "demo", "--device", "generic", "--seq-len", "1024", "--json", "--explain", "2")
    data = json.loads(out)
    assert data["explain"]["name"] == "model.layers.0.mlp/gated" and len(data["explain"]["groups"][0]["tensors"]) == 2
    assert [u["layer"] for u in data["explain"]["layers"]][-1] == OTHER


def test_classic_lines_stay_first(capsys):
    folder = str(FIXTURES / "tiny-llava-f16")
    code, plain, err = run(capsys, "vlm", folder, "--image", "336x336", "--prompt-tokens", "16", "--runtime", "ov")
    assert code == 0, err
    assert "explain" not in plain  # only on request: scripts read these lines
    code, out, err = run(capsys, "vlm", folder, "--image", "336x336", "--prompt-tokens", "16", "--runtime", "ov", "--explain", "2")
    assert code == 0, err
    assert out.startswith(plain) and re.search(r"^explain tiny-llava-f16 \w+ \(\w+\): the peak is step", out, re.MULTILINE)
    code, out, err = run(capsys, "llm", str(FIXTURES / "tiny-qwen2-f16"), "64", "--explain", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["explain"]["model"] == "tiny-qwen2-f16"
