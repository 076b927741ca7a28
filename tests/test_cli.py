"""The command line end to end: the demo model, JSON, and every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openvino as ov
import pytest
from graphs import mlp

from ovmem.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASIC = "fold-weights,placement,lifetime"  # every op output a buffer: the hand-computed numbers below


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def mlp_ir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mlp")
    ov.save_model(mlp(), folder / "openvino_model.xml", compress_to_fp16=False)
    return folder


def test_cli_py_runs_the_demo_from_a_checkout():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "analyze", "--seq-len", "128", "--device", "generic", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"].startswith("built-in demo")
    assert data["seq_len"] == 128 and data["batch"] == 1
    assert 80 * 2**20 < data["weights_bytes"] < 90 * 2**20  # 44M parameters in f16
    assert data["state_bytes"] == 4 * 2 * 1 * 2 * 128 * 64 * 4  # layers x (K,V) x [1,2,128,64] f32
    assert data["temp_lower_bound_bytes"] <= data["temp_peak_bytes"]


def test_human_output_has_every_part(capsys):
    code, out, err = run(capsys, "demo", "--seq-len", "64")
    assert code == 0, err
    for label in ("weights", "states (KV cache)", "inputs + outputs", "peak temporary", "lower bound", "total"):
        assert label in out


def test_analyze_a_folder_and_an_xml(capsys, mlp_ir):
    code, out, _ = run(capsys, "analyze", str(mlp_ir), "--seq-len", "4", "--json", "--passes", BASIC, "--device", "generic")
    by_folder = json.loads(out)
    code2, out2, _ = run(capsys, "analyze", str(mlp_ir / "openvino_model.xml"), "--seq-len", "4", "--json",
                         "--passes", BASIC, "--device", "generic")  # fmt: skip
    assert code == code2 == 0
    assert json.loads(out2) == by_folder
    assert by_folder["weights_bytes"] == 3072 and by_folder["total_bytes"] == 4480


def test_dump_prints_the_annotated_ir(capsys, mlp_ir):
    code, out, _ = run(capsys, "dump", str(mlp_ir), "--seq-len", "4", "--passes", BASIC)
    assert code == 0
    assert "MatMul 'fc1'" in out and "category=temp lifetime=2..3" in out


def test_print_after_all_goes_to_stderr(capsys, mlp_ir):
    code, out, err = run(capsys, "analyze", str(mlp_ir), "--seq-len", "4", "--print-after-all")
    assert code == 0
    assert "// after fold-weights" in err and "// after lifetime" in err
    assert "// after" not in out


def test_list_names_passes_and_allocators(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("fold-weights", "lifetime", "naive", "greedy-by-size"):
        assert name in out


def _bad_inputs(tmp_path: Path, mlp_ir: Path) -> dict[str, tuple[list[str], int, str]]:
    empty = tmp_path / "empty"
    empty.mkdir()
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.xml", "b.xml"):
        (two / name).write_text("<net/>")
    not_ir = tmp_path / "notir.xml"
    not_ir.write_text("hello")
    no_bin = tmp_path / "nobin"
    no_bin.mkdir()
    (no_bin / "openvino_model.xml").write_bytes((mlp_ir / "openvino_model.xml").read_bytes())
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "openvino_model.xml").write_bytes((mlp_ir / "openvino_model.xml").read_bytes())
    (truncated / "openvino_model.bin").write_bytes((mlp_ir / "openvino_model.bin").read_bytes()[:100])
    other = tmp_path / "model.onnx"
    other.write_text("x")
    m = str(mlp_ir)
    return {
        "no such path": (["analyze", str(tmp_path / "nope")], 2, "no such file or folder"),
        "empty folder": (["analyze", str(empty)], 2, "holds no OpenVINO model"),
        "two models": (["analyze", str(two)], 2, "holds 2 models (a.xml, b.xml)"),
        "not an IR": (["analyze", str(not_ir)], 1, "not an OpenVINO IR"),
        "not an xml": (["analyze", str(other)], 2, "not an OpenVINO IR"),
        "missing bin": (["analyze", str(no_bin)], 1, "openvino_model.bin is missing"),
        "truncated bin": (["analyze", str(truncated)], 1, "truncated"),
        "zero seq": (["analyze", m, "--seq-len", "0"], 2, "expected an integer from 1 to"),
        "negative seq": (["analyze", m, "--seq-len", "-3"], 2, "expected an integer from 1 to"),
        "text seq": (["analyze", m, "--seq-len", "abc"], 2, "expected an integer from 1 to"),
        "float seq": (["analyze", m, "--seq-len", "1.5"], 2, "expected an integer from 1 to"),
        "zero batch": (["analyze", m, "--batch", "0"], 2, "expected an integer from 1 to"),
        "negative past": (["analyze", m, "--past-len", "-1"], 2, "expected an integer from 0 to"),
        "bad shape": (["analyze", m, "--shape", "x=1,a"], 2, "--shape takes NAME="),
        "unknown input": (["analyze", m, "--shape", "z=1,2"], 2, "no model input: z"),
        "unknown allocator": (["analyze", m, "--allocator", "nope"], 2, "unknown allocator 'nope'"),
        "unknown pass": (["analyze", m, "--passes", "nope"], 2, "unknown pass 'nope'"),
        "unknown disabled pass": (["analyze", m, "--disable", "nope"], 2, "no pass 'nope' in the pipeline"),
        "unknown disabled rule": (["analyze", m, "--disable", "inplace.nope"], 2, "inplace has no rule 'nope'"),
        "bad kv precision": (["analyze", m, "--kv-cache-precision", "f8"], 2, "invalid choice"),
        "no command": ([], 2, "required"),
        "unknown option": (["analyze", m, "--frobnicate"], 2, "unrecognized arguments"),
    }


def test_bad_input_gives_one_line_and_an_exit_code(capsys, tmp_path, mlp_ir):
    for case, (argv, code, message) in _bad_inputs(tmp_path, mlp_ir).items():
        got, out, err = run(capsys, *argv)
        assert got == code, (case, err)
        assert err.startswith("ovmem: error: ") and message in err, (case, err)
        assert len(err.strip().splitlines()) == 1, (case, err)
        assert "Traceback" not in err and out == "", case


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        main(["--debug", "analyze", str(tmp_path / "nope")])


def test_the_console_script_module_entry(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ovmem", "analyze", str(tmp_path / "nope")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ovmem: error: {tmp_path / 'nope'}: no such file or folder"


def test_compare_allocators_lists_every_allocator(capsys, mlp_ir):
    from ovmem.alloc import available_allocators

    code, out, err = run(capsys, "compare-allocators", str(mlp_ir), "--seq-len", "4", "--json", "--passes", BASIC)
    assert code == 0, err
    data = json.loads(out)
    assert data["requests"] == 2 and data["lower_bound_bytes"] == 1024
    runs = {r["allocator"]: r for r in data["allocators"]}
    assert set(runs) == set(available_allocators())
    assert runs["naive"]["peak"] == 1024 and runs["greedy-by-size"]["ratio"] == 1.0
    assert runs["exact"]["note"] == "proved optimal" and runs["exact"]["peak"] == 1024


def test_allocator_options_on_the_command_line(capsys, mlp_ir):
    code, out, err = run(capsys, "analyze", str(mlp_ir), "--seq-len", "3", "--json", "--passes", BASIC,
                         "--allocator", "greedy-by-size{alignment=256}")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    # fc1 and act: [1,3,32] f32 = 384 B each, rounded up to 512 at 256-byte alignment
    assert data["allocator"] == "greedy-by-size{alignment=256}"
    assert data["temp_peak_bytes"] == data["temp_lower_bound_bytes"] == 1024
    code, _, err = run(capsys, "analyze", str(mlp_ir), "--allocator", "naive{alignment=0}")
    assert code == 2 and "alignment must be >= 1" in err


def test_disable_drops_passes_and_rules(capsys):
    code, out, err = run(capsys, "demo", "--seq-len", "32", "--json", "--device", "generic")
    base = json.loads(out)
    code, out, err = run(capsys, "analyze", "--seq-len", "32", "--json", "--disable", "fold-shapes",
                         "--disable", "inplace.view", "--device", "generic")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["passes"] == "fold-weights,fuse,inplace{view=false},states,placement,lifetime"
    assert data["counts"]["temps"] > base["counts"]["temps"]  # views and shape values are buffers again


def test_measure_command_runs_the_model(capsys):
    code, out, err = run(capsys, "measure", str(ROOT / "tests/fixtures/tiny-llama-f16"), "--seq-len", "32", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["seq_len"] == 32 and data["device"] == "CPU"
    assert data["peak_rss_bytes"] >= 32 * 256 * 4  # at least the logits it wrote
    code, _, err = run(capsys, "measure", str(ROOT / "tests/fixtures/tiny-llama-f16"), "--property", "oops")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_validate_puts_estimate_and_measurement_side_by_side(capsys):
    code, out, err = run(capsys, "validate", str(ROOT / "tests/fixtures/tiny-qwen2-f16"), "--seq-len", "16", "64", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["schema_version"] == 1
    points = data["points"]
    assert [p["seq_len"] for p in points] == [16, 64]
    for p in points:
        estimate, measured = p["estimate"]["total_bytes"], p["measurement"]["peak_rss_bytes"]
        assert p["error"] == pytest.approx((estimate - measured) / measured)
        assert p["estimate"]["seq_len"] == p["measurement"]["seq_len"] == p["seq_len"]
    code, out, _ = run(capsys, "validate", str(ROOT / "tests/fixtures/tiny-qwen2-f16"), "--seq-len", "16")
    assert code == 0 and "error" in out.splitlines()[1] and "%" in out.splitlines()[2]


def test_device_cpu_and_its_inference_precision(capsys):
    code, out, err = run(capsys, "demo", "--seq-len", "64", "--json", "--device", "CPU", "--inference-precision", "f32")
    assert code == 0, err
    f32 = json.loads(out)
    code, out, err = run(capsys, "demo", "--seq-len", "64", "--json", "--device", "CPU", "--inference-precision", "bf16")
    bf16 = json.loads(out)
    assert f32["device"] == bf16["device"] == "CPU" and "cpu-runtime{precision=f32}" in f32["passes"]
    logits_bf16 = 64 * 32000 * 2  # in bf16 the LM head writes a bf16 copy of the logits, then reorders
    assert bf16["temp_peak_bytes"] >= logits_bf16 > f32["temp_peak_bytes"]
    assert bf16["io_bytes"] == f32["io_bytes"]  # inputs and outputs keep their types
    assert f32["runtime_bytes"] > 0
    code, _, err = run(capsys, "analyze", "--device", "TPU")
    assert code == 2 and "unknown device 'TPU'" in err
