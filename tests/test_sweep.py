"""Sweeps: every point equals ``ovmem.analyze`` at that length, however its graph was obtained;
the shape template is used only where it is checked, and falls back when shapes are not affine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

import ovmem
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.ir import lift
from ovmem.ir.template import ShapeTemplate, TemplateMismatch
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.sweeps import parse_lengths
from ovmem.vlm import analyze_pipeline

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def demo():
    return build_llama(LlamaConfig(num_layers=2))


def windowed_model(window: int = 8) -> ov.Model:
    """Keeps the last min(seq, window) rows of its input: a shape that is not affine in the length."""
    x = ops.parameter([1, -1, 16], ov.Type.f32, name="inputs_embeds")
    seq = ops.gather(ops.shape_of(x), ops.constant(np.array([1], dtype=np.int64)), ops.constant(np.int64(0)))
    start = ops.subtract(seq, ops.minimum(seq, ops.constant(np.array([window], dtype=np.int64))))
    end, one = ops.constant(np.array([2**31], dtype=np.int64)), ops.constant(np.array([1], dtype=np.int64))
    window = ops.slice(x, start, end, one, one)
    out = ops.matmul(window, ops.constant(np.ones((16, 32), dtype=np.float32)), False, False)
    return ov.Model([ops.result(ops.relu(out))], [x], "windowed")


def test_parse_lengths():
    assert parse_lengths("256:32768:x2") == [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
    assert parse_lengths("100:1000:x2") == [100, 200, 400, 800, 1000]  # the last length always included
    assert parse_lengths("0:10:+4") == parse_lengths("0:10:4") == [0, 4, 8, 10]
    assert parse_lengths("4096,256,256") == [256, 4096]
    assert parse_lengths("16:64") == [16, 32, 64]
    assert parse_lengths("7") == [7]
    assert parse_lengths([3, 1, 2]) == [1, 2, 3]
    for bad in ("", "x", "10:1", "1:10:x1", "0:10:x2", "1:10:+0", "1:10:+1.5", "a,b", "1:1000000:+1"):
        with pytest.raises(UsageError):
            parse_lengths(bad)


def test_template_instantiates_the_graph_lift_builds(demo):
    template = ShapeTemplate(lift(demo, seq_len=16), lift(demo, seq_len=256))
    template.check(lift(demo, seq_len=64))
    for n in (1, 100, 5000):
        assert template.instantiate(n).dump() == lift(demo, seq_len=n).dump()
    copy = ShapeTemplate(lift(demo, seq_len=32))
    assert copy.instantiate(32).dump() == lift(demo, seq_len=32).dump()
    with pytest.raises(TemplateMismatch):
        copy.instantiate(33)


def test_template_check_catches_shapes_that_are_not_affine():
    model = windowed_model()
    template = ShapeTemplate(lift(model, seq_len=4), lift(model, seq_len=64))  # min(4, 8), min(64, 8)
    with pytest.raises(TemplateMismatch, match="Slice"):
        template.check(lift(model, seq_len=16))


@pytest.mark.parametrize(
    ("model", "device"),
    [("tiny-qwen2-f16", "generic"), ("tiny-qwen2-int4", "CPU"), ("tiny-gemma3-text-f16", "GPU"), ("demo", "CPU")],
)
def test_sweep_points_equal_individual_analyses(model, device, demo):
    source = demo if model == "demo" else FIXTURES / model
    result = ovmem.sweep(source, "16:1024:x2", device=device, kv_cache_precision="u8", new_tokens=3)
    assert [p.length for p in result.points] == [16, 32, 64, 128, 256, 512, 1024]
    assert {p.method for p in result.points} == {"lift", "shapes"}  # the template was used, and checked
    assert result.lifts == 3
    for point in result.points:
        alone = ovmem.analyze(source, seq_len=point.length, device=device, kv_cache_precision="u8", new_tokens=3)
        assert point.report.to_dict() == alone.to_dict()
        assert point.total_bytes == alone.total_bytes == sum(point.parts.values())


def test_sweep_falls_back_to_lifting_where_shapes_are_not_affine():
    model = windowed_model()
    result = ovmem.sweep(model, "1:64:x2")
    assert {p.method for p in result.points} == {"lift"} and result.lifts == 7
    assert "not affine" in result.notes[0]
    for point in result.points:
        assert point.report.to_dict() == ovmem.analyze(model, seq_len=point.length).to_dict()


def test_sweep_of_a_vlm_pipeline_varies_the_prompt():
    folder = FIXTURES / "tiny-llava-f16"
    result = ovmem.sweep(folder, [0, 40], kind="vlm", image=(336, 336))
    assert result.variable == "prompt_tokens" and {p.method for p in result.points} == {"pipeline"}
    for point in result.points:
        alone = analyze_pipeline(folder, image=(336, 336), prompt_tokens=point.length)
        assert point.report.to_dict() == alone.to_dict()
        assert sum(point.parts.values()) == point.total_bytes


def test_sweep_options_are_checked(demo):
    with pytest.raises(UsageError, match="unknown option"):
        ovmem.sweep(demo, "1,2", kv_precision="u8")
    with pytest.raises(UsageError, match="kind"):
        ovmem.sweep(demo, "1,2", kind="vit")
    with pytest.raises(UsageError, match="not batch"):
        ovmem.sweep(FIXTURES / "tiny-llava-f16", "1,2", kind="llm", batch=2)


def test_cli_sweep_prints_a_table_and_json(capsys, tmp_path):
    folder = str(FIXTURES / "tiny-qwen2-f16")
    assert main(["sweep", folder, "--seq-len", "64:1024:x2", "--budget", "5MiB", "--device", "generic"]) == 0
    out = capsys.readouterr().out
    assert "seq_len 64 to 1024, 5 points" in out and "KV cache" in out and "over by" in out
    assert "longest seq_len that fits" in out
    assert main(["sweep", folder, "--seq-len", "64,128", "--json", "--relift"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lengths"] == [64, 128] and {p["method"] for p in data["points"]} == {"lift"}
    assert data["points"][1]["total_bytes"] == ovmem.analyze(folder, seq_len=128).total_bytes


def test_cli_sweep_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "sweep.svg"
    assert main(["sweep", str(FIXTURES / "tiny-qwen2-f16"), "--seq-len", "64:256:x2", "--plot", str(target)]) == 0
    assert target.read_text().lstrip().startswith("<?xml")
    # a VLM export sweeps its prompt: each sub-model's kept memory is a line
    vlm = tmp_path / "vlm.svg"
    assert main(["sweep", str(FIXTURES / "tiny-llava-f16"), "--image", "336x336", "--seq-len", "1,2",
                 "--plot", str(vlm)]) == 0  # fmt: skip
    svg = vlm.read_text()
    assert "language (kept)" in svg and "vision embeddings (kept)" in svg and "prompt tokens" in svg


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", "--seq-len", "10:1"],
        ["sweep", "--seq-len", "1:10:x1"],
        ["sweep"],
        ["sweep", "--seq-len", "1,2", "--kind", "vlm"],
        ["sweep", "--seq-len", "1,2", "--image", "10x10"],
        ["sweep", str(FIXTURES / "tiny-llava-f16"), "--seq-len", "1,2", "--kind", "llm", "--batch", "2"],
        ["sweep", "--seq-len", "1,2", "--budget", "lots"],
    ],
)
def test_cli_sweep_bad_input_is_one_line(capsys, args):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ovmem: error:") and err.count("\n") == 1
