"""ovmem.genai_measure: openvino_genai.LLMPipeline runs in a fresh process on the tiny Qwen2 fixture.

Skipped when openvino-genai is not installed (``pip install 'ovmem[genai]'``); the input checks that
need no run are not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import ROOT

import ovmem
from ovmem import genai_measure
from ovmem.cli import main
from ovmem.errors import UsageError

QWEN = ROOT / "tests" / "fixtures" / "tiny-qwen2-f16"
VOCAB = 256
MiB = 2**20

try:
    import openvino_genai  # noqa: F401

    HAVE_GENAI = True
except ImportError:
    HAVE_GENAI = False

needs_genai = pytest.mark.skipif(not HAVE_GENAI, reason="openvino-genai is not installed (pip install 'ovmem[genai]')")


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ovmem-cache")


@pytest.fixture(scope="module")
def run(cache: Path):
    before = _listing(QWEN)
    m = genai_measure.measure_genai(QWEN, 48, 5, cache_dir=cache)
    return m, before


@needs_genai
def test_exact_prompt_and_new_tokens(run) -> None:
    m, _ = run
    assert (m.seq_len, m.new_tokens) == (48, 5)
    assert (m.prompt_tokens, m.generated_tokens) == (48, 5)  # read back from genai's PerfMetrics
    assert m.prompt_source == "text"
    assert m.tokenizer.startswith(f"generated word-level ({VOCAB} tokens)")


@needs_genai
def test_peak_and_split(run) -> None:
    m, _ = run
    assert m.peak_rss_bytes > 0
    assert m.peak_rss_bytes >= m.generate_peak_rss_bytes >= m.loaded.rss > 0
    assert m.peak_anon_bytes >= m.anon_at_peak and m.peak_file_bytes >= m.file_at_peak
    assert abs(m.anon_at_peak + m.file_at_peak - m.peak_rss_bytes) <= MiB
    if m.hwm_rss_bytes is not None:
        assert abs(m.hwm_rss_bytes - m.peak_rss_bytes) <= MiB
    assert m.load_seconds > 0 and m.generate_seconds > 0


@needs_genai
def test_the_genai_estimate_tracks_the_measured_run(run) -> None:
    """The estimate of this very run (same prompt, new tokens and generated tokenizer) against its measured
    peak; genai's library and pipeline terms are measured constants, so what they must add is checked here
    against a run, not against their own sum."""
    from ovmem.genai import GENAI_LIBRARY_BYTES, GENAI_PIPELINE_BYTES

    m, _ = run
    report = ovmem.analyze(QWEN, seq_len=48, device="CPU", runtime="genai", new_tokens=5, tokenizer=m.tokenizer_dir)
    error = report.total_bytes / m.peak_rss_bytes - 1
    assert abs(error) <= 0.10, f"estimate {report.total_bytes} vs measured {m.peak_rss_bytes}"
    without = report.total_bytes - GENAI_LIBRARY_BYTES - GENAI_PIPELINE_BYTES
    assert abs(without / m.peak_rss_bytes - 1) > 2 * abs(error)  # the genai terms are what makes it match


@needs_genai
def test_genai_decisions_reported(run) -> None:
    m, _ = run
    assert m.backend == "PA"
    llm = m.compiled_models["LLM with Paged Attention"]  # genai's continuous-batching backend on x86 CPU
    assert llm["KV_CACHE_PRECISION"] == "f16"  # the IR's runtime_options, as for the plain compile
    assert {"OV Tokenizer", "OV Detokenizer"} <= set(m.compiled_models)
    text = genai_measure.format_genai_measurement(m)
    assert "prompt 48 tokens, 5 new tokens" in text and "PA, KV cache f16" in text
    data = m.to_dict()
    json.dumps(data)
    assert data["runtime"] == "genai" and data["loaded"]["rss"] == m.loaded.rss


@needs_genai
def test_model_folder_untouched(run, cache: Path) -> None:
    _, before = run
    assert _listing(QWEN) == before  # no new, changed or removed file
    made = list((cache / "genai-tokenizers").iterdir())
    assert len(made) == 1 and {p.name for p in made[0].iterdir()} >= {"openvino_tokenizer.xml", "openvino_detokenizer.xml"}


@needs_genai
def test_generated_tokenizer_is_word_level(cache: Path) -> None:
    import openvino_genai as genai

    folder = genai_measure.generated_tokenizer(VOCAB, cache_dir=cache)
    assert genai_measure.generated_tokenizer(VOCAB, cache_dir=cache) == folder  # cached
    tokenizer = genai.Tokenizer(str(folder))
    ids = tokenizer.encode("w1 w7 w254 w3").input_ids.data.tolist()
    assert ids == [[1, 7, 254, 3]]
    assert tokenizer.decode([1, 7]).split() == ["w1", "w7"]
    assert tokenizer.get_eos_token_id() == VOCAB - 1


@needs_genai
def test_sdpa_backend(cache: Path) -> None:
    m = genai_measure.measure_genai(QWEN, 16, 2, properties={"ATTENTION_BACKEND": "SDPA"}, cache_dir=cache)
    assert m.backend == "SDPA" and (m.prompt_tokens, m.generated_tokens) == (16, 2)
    assert not any(title.startswith("LLM with Paged Attention") for title in m.compiled_models)


@needs_genai
def test_cli(capsys, cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("OVMEM_CACHE", str(cache))
    assert main(["measure", "--runtime", "genai", str(QWEN), "--seq-len", "20", "--new-tokens", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["prompt_tokens"], data["generated_tokens"]) == (20, 3)


@needs_genai
def test_emulated_target(cache: Path) -> None:
    """LLMPipeline with oneDNN capped and the target's precision, labelled an emulation."""
    from ovmem.target import ISAS, get_target

    if list(ISAS).index(get_target("host").isa.name) < list(ISAS).index("avx512"):
        pytest.skip("this host cannot emulate avx512")
    m = genai_measure.measure_genai(QWEN, 16, 2, emulate_target="avx512", cache_dir=cache)
    llm = next(p for title, p in m.compiled_models.items() if title.startswith("LLM"))
    assert m.emulated_target == "avx512" and m.properties["INFERENCE_PRECISION_HINT"] == "f32"
    assert llm.get("INFERENCE_PRECISION_HINT", "f32") == "f32" and "emulating avx512" in genai_measure.format_genai_measurement(m)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--seq-len", "0"], "--seq-len"),
        (["--new-tokens", "0"], "--new-tokens"),
        (["--batch", "2"], "--batch: not with --runtime genai"),
        (["--image", "64x64"], "--image: not with --runtime genai"),
        (["--property", "ATTENTION_BACKEND=XX"], "ATTENTION_BACKEND must be PA or SDPA"),
    ],
)
def test_cli_bad_input(args, words, capsys) -> None:
    if not HAVE_GENAI and "ATTENTION" in words:
        pytest.skip("checked after the install check")
    assert main(["measure", "--runtime", "genai", str(QWEN), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err


def test_new_tokens_of_a_vlm_need_genai_runtime(capsys) -> None:
    vlm = Path(__file__).parent / "fixtures" / "tiny-qwen2_5-vl-f16"
    assert main(["measure", str(vlm), "--image", "56x56", "--new-tokens", "3"]) == 2
    assert "--new-tokens: not for a VLM export with --runtime ov" in capsys.readouterr().err


def test_bad_paths(tmp_path: Path) -> None:
    if not HAVE_GENAI:
        pytest.skip("the install check comes first")
    with pytest.raises(UsageError, match="no such file"):
        genai_measure.measure_genai(tmp_path / "missing", 8)
    with pytest.raises(UsageError, match="no openvino_model.xml"):
        genai_measure.measure_genai(tmp_path, 8)
    (tmp_path / "openvino_model.xml").write_text("<net/>")
    with pytest.raises(UsageError, match="vocab_size"):  # no tokenizer, no config.json
        genai_measure.measure_genai(tmp_path, 8)
    (tmp_path / "config.json").write_text(json.dumps({"vocab_size": 2}))
    with pytest.raises(UsageError, match="vocab_size"):
        genai_measure.measure_genai(tmp_path, 8)
    assert sorted(os.listdir(tmp_path)) == ["config.json", "openvino_model.xml"]  # nothing written there


def test_bad_sizes() -> None:
    for seq_len, new_tokens in ((0, 1), (8, 0), (8, True), ("8", 1)):
        with pytest.raises(UsageError):
            genai_measure.measure_genai(QWEN, seq_len, new_tokens)


def test_not_installed(monkeypatch, capsys) -> None:
    real = genai_measure.importlib.util.find_spec
    monkeypatch.setattr(
        genai_measure.importlib.util, "find_spec", lambda name, *a: None if name == "openvino_genai" else real(name, *a)
    )
    with pytest.raises(UsageError, match=r"pip install 'ovmem\[genai\]'"):
        genai_measure.measure_genai(QWEN, 8)
    assert main(["measure", "--runtime", "genai", str(QWEN), "--seq-len", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'ovmem[genai]'" in err
