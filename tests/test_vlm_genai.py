"""``runtime="genai"`` for a VLM export (openvino.genai's VLMPipeline, ``docs/genai-notes.md`` rule 9):
the language model as genai compiles it, the vision parts unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovmem.cli import main
from ovmem.devices import get_device
from ovmem.errors import UsageError
from ovmem.genai import GENAI_LIBRARY_BYTES, GENAI_PIPELINE_BYTES
from ovmem.vlm import analyze_pipeline
from ovmem.vlm.pipeline import compiled_graphs

FIXTURES = Path(__file__).parent / "fixtures"
QWEN, LLAVA, GEMMA = FIXTURES / "tiny-qwen2_5-vl-f16", FIXTURES / "tiny-llava-f16", FIXTURES / "tiny-gemma3-f16"


def _run(report, role, phase):
    return next(r for r in report.runs if r.role == role and r.phase == phase).report


@pytest.mark.parametrize("folder", [QWEN, LLAVA, GEMMA])
def test_language_model_logits_are_the_last_token(folder):
    genai = analyze_pipeline(folder, 64, prompt_tokens=8, runtime="genai", device="CPU")
    ov_report = analyze_pipeline(folder, 64, prompt_tokens=8, runtime="ov", device="CPU")
    tokens = genai.image_tokens + genai.prompt_tokens
    prefill = _run(genai, "language", "prefill")
    assert prefill.runtime == "genai" and _run(genai, "language", "decode").runtime == "genai"
    vocab = prefill.graph.outputs[0].type.shape[-1]
    assert prefill.graph.outputs[0].type.shape == (1, 1, vocab)
    assert _run(ov_report, "language", "prefill").graph.outputs[0].type.shape == (1, tokens, vocab)
    # the transform works from inputs_embeds (no input_ids in a VLM language model)
    assert "inputs_embeds" in {v.name for v in prefill.graph.inputs}
    # the vision parts and the text embeddings are the same under both runtimes
    for g, o in zip(genai.runs, ov_report.runs, strict=True):
        if g.role != "language":
            assert g.report.runtime == "ov" and g.working_bytes == o.working_bytes
    # the plugin's runtime for the graphs each compiles (genai's language model has other ops); genai's own parts
    # come once for the pipeline, not once per sub-model (their size is checked against a run below)
    cpu = get_device("CPU")
    assert ov_report.runtime_bytes == cpu.runtime_bytes(ov_report.target, compiled_graphs(ov_report.runs))
    plugin = cpu.runtime_bytes(genai.target, compiled_graphs(genai.runs))
    assert genai.runtime_bytes - plugin == GENAI_LIBRARY_BYTES + GENAI_PIPELINE_BYTES
    assert genai.to_dict()["runtime"] == "genai" and ov_report.to_dict()["runtime"] == "ov"


def test_mrope_position_ids_stay_three_rows():
    prefill = _run(analyze_pipeline(QWEN, 64, prompt_tokens=8, runtime="genai"), "language", "prefill")
    (position_ids,) = [v for v in prefill.graph.inputs if v.name == "position_ids"]
    assert position_ids.type.shape[0] == 3


def test_vision_alone_is_the_same_and_bad_runtime_fails():
    genai = analyze_pipeline(QWEN, 64, stages=("vision",), runtime="genai", device="CPU")
    ov_report = analyze_pipeline(QWEN, 64, stages=("vision",), runtime="ov", device="CPU")
    assert genai.total_bytes == ov_report.total_bytes and genai.runtime == "genai"
    with pytest.raises(UsageError, match="ov, genai"):
        analyze_pipeline(QWEN, 64, runtime="tgi")


def test_cli_vlm_defaults_to_genai(capsys):
    assert main(["vlm", str(QWEN), "64", "--prompt-tokens", "8", "--device", "CPU", "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["vlm", str(QWEN), "64", "--prompt-tokens", "8", "--device", "CPU", "--runtime", "ov", "--json"]) == 0
    ov_data = json.loads(capsys.readouterr().out)
    assert default["runtime"] == "genai" and ov_data["runtime"] == "ov"
    for data, runtime in ((default, "genai"), (ov_data, "ov")):  # the API's answer, as the command prints it
        assert data["total_bytes"] == analyze_pipeline(QWEN, 64, prompt_tokens=8, runtime=runtime).total_bytes
    assert main(["vlm", str(QWEN), "64", "--prompt-tokens", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Total VIT Runtime Memory") and lines[2].startswith("Total VIT + LLM + Embeddings")
    assert lines[3].startswith("# device CPU | target ") and "| runtime genai |" in lines[3]


def test_cli_vit_takes_the_flag(capsys):
    outs = []
    for runtime in ("ov", "genai"):
        assert main(["vit", str(QWEN), "64", "--device", "CPU", "--runtime", runtime, "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert [o["runtime"] for o in outs] == ["ov", "genai"] and outs[0]["lines"] == outs[1]["lines"]


try:
    import openvino_genai  # noqa: F401

    HAVE_GENAI = True
except ImportError:
    HAVE_GENAI = False
needs_genai = pytest.mark.skipif(not HAVE_GENAI, reason="openvino-genai is not installed (pip install 'ovmem[genai]')")


@needs_genai
def test_generated_tokenizer_with_image_tags(tmp_path):
    import openvino_genai as genai

    from ovmem.genai_measure import generated_tokenizer

    folder = generated_tokenizer(64, cache_dir=tmp_path, specials={60: "<image>", 61: "<|pad|>"})
    ids = genai.Tokenizer(str(folder)).encode("<image><image><|pad|>\n w1 w5", add_special_tokens=False).input_ids.data
    assert ids.tolist() == [[60, 60, 61, 1, 5]]
    with pytest.raises(UsageError, match="special token ids"):
        generated_tokenizer(64, cache_dir=tmp_path, specials={63: "<image>"})  # 63 is <eos>


@needs_genai
def test_vlm_pipeline_measurement(tmp_path):
    from ovmem.vlm.genai_measure import measure_genai_vlm

    before = sorted(p.name for p in QWEN.iterdir())
    m = measure_genai_vlm(QWEN, 8, 2, image=(112, 112), cache_dir=tmp_path)
    # 112x112: 8x8 patches of 14, merged 2x2 -> 16 image tokens, <|vision_start|> and <|vision_end|>, 8 words
    assert (m.input_tokens, m.generated_tokens) == (16 + 2 + 8, 2)
    assert "LLM with Paged Attention" in m.compiled_models
    assert 0 < m.loaded_rss_bytes <= m.peak_rss_bytes
    assert sorted(p.name for p in QWEN.iterdir()) == before  # nothing written into the export
    # the estimate of this run (16 image tokens; the tags and words are the prompt) against its measured peak;
    # genai's library and pipeline are measured constants: what they add is checked against the run
    report = analyze_pipeline(QWEN, image=(112, 112), prompt_tokens=m.input_tokens - 16, device="CPU", runtime="genai",
                              tokenizer=m.tokenizer_dir)  # fmt: skip
    error = report.total_bytes / m.peak_rss_bytes - 1
    assert abs(error) <= 0.10, f"estimate {report.total_bytes} vs measured {m.peak_rss_bytes}"
    without = report.total_bytes - GENAI_LIBRARY_BYTES - GENAI_PIPELINE_BYTES
    assert abs(without / m.peak_rss_bytes - 1) > 2 * abs(error)
    with pytest.raises(UsageError, match="not a VLM export"):
        measure_genai_vlm(FIXTURES / "tiny-qwen2-f16", 8, cache_dir=tmp_path)


@needs_genai
@pytest.mark.parametrize(("name", "image_tokens"), [
    ("tiny-minicpmv2_6-f16", 3 + 5 * (16 + 2) + 1),  # <image_id>0</image_id>, 5 parts of query_num 16 + tags, 1 newline
    ("tiny-internvl2_5-f16", 7 * 256 + 2),  # <img>, 3x2 tiles + thumbnail of 256, </img>
])
def test_remote_code_families_under_vlm_pipeline(name, image_tokens, tmp_path):
    from ovmem.vlm.genai_measure import measure_genai_vlm

    folder = FIXTURES / name
    m = measure_genai_vlm(folder, 8, 2, image=(1024, 682), cache_dir=tmp_path)
    estimate = analyze_pipeline(folder, image=(1024, 682), prompt_tokens=8, device="CPU", runtime="genai",
                                tokenizer=m.tokenizer_dir)  # fmt: skip
    # genai's prompt: the image's tokens, a newline after the image tag, the 8 words
    assert m.input_tokens == image_tokens + 1 + 8
    assert estimate.image_tokens == image_tokens - (2 if "internvl" in name else 0)  # InternVL's tags: prompt text
    assert m.generated_tokens == 2 and m.peak_rss_bytes > 0


def test_llm_on_a_vlm_export_defaults_to_genai(capsys):
    """A text-only prompt through a VLM export's models: genai's language model keeps one logits row."""
    assert main(["llm", str(LLAVA), "256", "--json"]) == 0
    genai = json.loads(capsys.readouterr().out)
    assert main(["llm", str(LLAVA), "256", "--runtime", "ov", "--json"]) == 0
    ov = json.loads(capsys.readouterr().out)
    assert (genai["runtime"], ov["runtime"]) == ("genai", "ov")
    vocab = 256
    held = genai["held_bytes"]["language"], ov["held_bytes"]["language"]
    assert held[1] - held[0] >= 255 * vocab * 4  # ov holds [256, vocab] f32 logits, genai [1, vocab]


def test_vlm_sweep_follows_the_runtime(capsys):
    assert main(["sweep", str(LLAVA), "--image", "336x336", "--seq-len", "64,256", "--runtime", "genai", "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    for point in points:
        alone = analyze_pipeline(LLAVA, image=(336, 336), prompt_tokens=point["length"], runtime="genai")
        assert point["total_bytes"] == alone.total_bytes
    # the graphs alone (no runtime counted): ov holds every prompt token's logits, genai the last one's
    generic = ["--device", "generic", "--json"]
    assert main(["sweep", str(LLAVA), "--image", "336x336", "--seq-len", "256", "--runtime", "genai", *generic]) == 0
    genai = json.loads(capsys.readouterr().out)["points"][0]["total_bytes"]
    assert main(["sweep", str(LLAVA), "--image", "336x336", "--seq-len", "256", *generic]) == 0
    assert json.loads(capsys.readouterr().out)["points"][0]["total_bytes"] > genai


@needs_genai
def test_minicpmv_under_genai_cuts_as_genais_own_copy(tmp_path):
    """genai re-implements the slicing in float32 with std::round: a 1014-px square ties the other way
    (2 columns x 3 rows where the processor picks 3 x 2), one more newline between rows."""
    from ovmem.vlm.genai_measure import measure_genai_vlm

    folder = FIXTURES / "tiny-minicpmv2_6-f16"
    m = measure_genai_vlm(folder, 8, 1, image=(1014, 1014), cache_dir=tmp_path)
    genai = analyze_pipeline(folder, image=(1014, 1014), prompt_tokens=8, device="CPU", runtime="genai")
    ov = analyze_pipeline(folder, image=(1014, 1014), prompt_tokens=8, device="CPU", runtime="ov")
    assert m.input_tokens == genai.image_tokens + 1 + 8 == ov.image_tokens + 2 + 8
