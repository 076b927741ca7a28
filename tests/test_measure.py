"""ovmem.measure: real runs in a fresh process on the tiny fixtures (each run well under a second)."""

from __future__ import annotations

import json

import openvino as ov
import pytest
from graphs import mlp

from ovmem import measure as measure_module
from ovmem.errors import ModelError, OvmemError, UsageError
from ovmem.measure import Measurement, format_measurement, measure, parse_properties

from conftest import ROOT

QWEN = ROOT / "tests" / "fixtures" / "tiny-qwen2-f16"
MiB = 2**20
VOCAB = 256


@pytest.fixture(scope="module")
def at64() -> Measurement:
    return measure(QWEN, seq_len=64)


def test_prefill_on_the_fixture(at64: Measurement) -> None:
    m = at64
    assert m.model == "tiny-qwen2-f16"
    assert m.inputs == {"input_ids": (1, 64), "attention_mask": (1, 64), "position_ids": (1, 64), "beam_idx": (1,)}
    assert m.peak_rss_bytes >= 64 * VOCAB * 4  # the f32 logits output alone
    assert m.peak_rss_bytes >= m.infer_peak_rss_bytes > m.infer_start.rss > 0
    assert m.peak_anon_bytes >= m.anon_at_peak and m.peak_file_bytes >= m.file_at_peak
    assert abs(m.anon_at_peak + m.file_at_peak - m.peak_rss_bytes) <= MiB  # VmRSS = anon + file (+ shmem)
    if m.hwm_rss_bytes is not None:  # the kernel's unsampled peak agrees with the sampled one
        assert abs(m.hwm_rss_bytes - m.peak_rss_bytes) <= MiB
    assert m.samples >= 1
    assert m.compile_seconds > 0 and m.infer_seconds > 0
    assert m.properties["KV_CACHE_PRECISION"] == "f16"  # from the IR's rt_info runtime_options
    assert set(m.properties) == set(measure_module.REPORTED_PROPERTIES)
    assert m.baseline.rss > 0 and m.openvino_version == ov.__version__
    data = m.to_dict()
    assert json.loads(json.dumps(data)) == data and data["baseline"]["anon"] == m.baseline.anon
    text = format_measurement(m)
    assert "tiny-qwen2-f16 on CPU" in text and "KV_CACHE_PRECISION=f16" in text and "anon" in text


def test_the_baseline_is_reported_and_can_be_included(at64: Measurement) -> None:
    from ovmem.units import format_bytes

    # above the baseline by default (what an estimate predicts: Python and import openvino are the process's)
    plain = format_measurement(at64).splitlines()
    assert f"peak RSS     {format_bytes(at64.peak_rss_bytes)} above baseline" in plain[3]
    assert any(line.startswith(f"  baseline     {format_bytes(at64.baseline.rss)}") for line in plain)
    # --include-baseline: the whole process's peak first
    absolute = format_measurement(at64, include_baseline=True).splitlines()[3]
    assert absolute.startswith(f"  peak RSS     {format_bytes(at64.peak_rss_bytes + at64.baseline.rss)} with the baseline")


def test_the_command_line_includes_the_baseline_when_asked(capsys) -> None:
    from ovmem.cli import main

    assert main(["measure", str(QWEN), "--seq-len", "8", "--include-baseline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "with the baseline" in lines[3] and "above baseline" not in lines[3]
    assert main(["measure", str(QWEN), "--seq-len", "8"]) == 0
    assert "above baseline" in capsys.readouterr().out.splitlines()[3]


def test_longer_sequence_needs_more(at64: Measurement) -> None:
    at1024 = measure(QWEN, seq_len=1024)
    # The [1, 1, S, S] f32 attention mask alone is 4 MiB at S = 1024 (16 KiB at 64).
    assert at1024.peak_rss_bytes - at64.peak_rss_bytes > 4 * MiB
    assert at1024.peak_anon_bytes - at64.peak_anon_bytes > 4 * MiB


def test_past_len_fills_the_cache_first(at64: Measurement) -> None:
    m = measure(QWEN, seq_len=16, past_len=100)
    assert m.past_len == 100
    assert m.inputs["attention_mask"] == (1, 116) and m.inputs["input_ids"] == (1, 16)
    # The prefill of 100 tokens ran before the measured step: weights packed, buffers and cache grown.
    assert m.infer_start.rss > at64.infer_start.rss
    assert m.infer_peak_rss_bytes >= m.infer_start.rss


def test_new_tokens_are_decode_steps_inside_the_window(at64: Measurement) -> None:
    m = measure(QWEN, seq_len=64, new_tokens=200)
    assert m.new_tokens == 200 and m.inputs["input_ids"] == (1, 64)  # the prompt's inputs are reported
    assert m.infer_start.rss == pytest.approx(at64.infer_start.rss, abs=8 * MiB)  # the window opens at the prompt
    assert m.infer_seconds > at64.infer_seconds  # and runs through the 200 steps
    assert "then 200 decode steps" in format_measurement(m)


def test_non_llm_model_with_declared_shapes_and_properties(tmp_path) -> None:
    xml = tmp_path / "mlp.xml"
    ov.save_model(mlp(), xml, compress_to_fp16=False)
    m = measure(xml, seq_len=8, batch=2, properties={"INFERENCE_PRECISION_HINT": "f32"})
    assert m.model == "mlp"
    assert m.inputs == {"x": (2, 8, 16)}
    assert m.properties["INFERENCE_PRECISION_HINT"] == "f32"
    assert m.peak_rss_bytes > 0 and m.samples >= 1


@pytest.mark.parametrize("path", ["does/not/exist", "tests", "README.md"])
def test_bad_path_is_one_line(path: str) -> None:
    with pytest.raises(UsageError) as info:
        measure(ROOT / path, seq_len=8)
    assert "\n" not in str(info.value)


def test_bad_options() -> None:
    with pytest.raises(UsageError, match="seq-len"):
        measure(QWEN, seq_len=0)
    with pytest.raises(UsageError, match="names no model input"):
        measure(QWEN, seq_len=8, shapes={"pixel_values": (1, 3)})
    with pytest.raises(UsageError, match="new-tokens"):
        measure(QWEN, seq_len=8, new_tokens=-1)
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_properties(["NUM_STREAMS"])
    assert parse_properties(["NUM_STREAMS=1", " INFERENCE_PRECISION_HINT = f32"]) == {
        "NUM_STREAMS": "1",
        "INFERENCE_PRECISION_HINT": "f32",
    }


def _one_clean_line(exc: OvmemError) -> str:
    text = str(exc)
    assert "\n" not in text
    assert "Traceback" not in text and "Exception from" not in text and 'File "' not in text
    return text


def test_unknown_device_is_a_model_error() -> None:
    with pytest.raises(ModelError) as info:
        measure(QWEN, seq_len=8, device="NPU_DOES_NOT_EXIST")
    text = _one_clean_line(info.value)
    assert "compile_model failed" in text and "NPU_DOES_NOT_EXIST" in text


def test_child_crashes_and_timeouts(monkeypatch) -> None:
    monkeypatch.setattr(measure_module, "_BOOTSTRAP", "raise RuntimeError('first\\nthe reason')")
    with pytest.raises(ModelError, match="exit code 1.*the reason") as info:
        measure(QWEN, seq_len=8)
    _one_clean_line(info.value)

    monkeypatch.setattr(measure_module, "_BOOTSTRAP", "import os; os.abort()")
    with pytest.raises(ModelError, match="killed by SIGABRT") as info:
        measure(QWEN, seq_len=8)
    _one_clean_line(info.value)

    monkeypatch.setattr(measure_module, "_BOOTSTRAP", "import time; time.sleep(60)")
    with pytest.raises(ModelError, match="timed out after 0.2 s") as info:
        measure(QWEN, seq_len=8, timeout=0.2)
    _one_clean_line(info.value)


def test_synthetic_inputs_by_name_and_type() -> None:
    import numpy as np

    from ovmem.ir.specialize import Specialization

    params = {
        "inputs_embeds": ov.opset13.parameter([-1, -1, 32], ov.Type.f32),
        "position_ids": ov.opset13.parameter([3, -1, -1], ov.Type.i64),
        "attention_mask": ov.opset13.parameter([-1, -1], ov.Type.i64),
        "pixel_values": ov.opset13.parameter([-1, 3, 4, 4], ov.Type.bf16),
    }
    for name, p in params.items():
        p.output(0).set_names({name})
    total = ov.opset13.reduce_sum(ov.opset13.convert(params["pixel_values"], ov.Type.f32), [0, 1, 2, 3])
    model = ov.Model([ov.opset13.result(p) for p in params.values()] + [ov.opset13.result(total)], list(params.values()))
    runs, decode = measure_module._plan_runs(model, Specialization(seq_len=5, batch=2, past_len=3))
    assert len(runs) == 1 and decode is None  # not stateful: no prefill; no generation asked
    plan = runs[0]["inputs"]
    assert {k: v["shape"] for k, v in plan.items()} == {
        "inputs_embeds": [2, 5, 32],
        "position_ids": [3, 2, 5],
        "attention_mask": [2, 8],
        "pixel_values": [2, 3, 4, 4],
    }
    rng = np.random.default_rng(0)
    made = {k: measure_module._make_input(v, params[k].get_element_type(), rng) for k, v in plan.items()}
    assert made["inputs_embeds"].dtype == np.float32 and 0 < np.abs(made["inputs_embeds"]).max() < 1
    assert (made["position_ids"][2, 1] == np.arange(3, 8)).all()
    assert (made["attention_mask"] == 1).all()
    assert isinstance(made["pixel_values"], ov.Tensor) and made["pixel_values"].element_type == ov.Type.bf16
