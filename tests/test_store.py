"""The graph store (``ovmem.ir.store``): a lifted model kept in ovmem's cache gives the analysis a fresh
lift gives, field for field, at the lengths it kept and, after three, at any length in their range —
without importing OpenVINO; a changed model, ``--no-cache`` and a torn entry are handled."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import ovmem
from ovmem.vlm.pipeline import analyze_pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("OVMEM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OVMEM_NO_CACHE", raising=False)
    return tmp_path / "cache" / "graphs"


def _fresh(model, **kwargs) -> dict:
    os.environ["OVMEM_NO_CACHE"] = "1"
    try:
        return ovmem.analyze(model, **kwargs).to_dict()
    finally:
        del os.environ["OVMEM_NO_CACHE"]


@pytest.mark.parametrize("name", ["tiny-qwen2-f16", "tiny-gemma3-text-f16", "tiny-qwen2-int4"])
def test_stored_graphs_analyse_as_fresh_lifts(store, name):
    model = FIXTURES / name
    for n in (16, 200, 64):  # three lengths kept: the third fits a template over 16..200
        assert ovmem.analyze(model, seq_len=n).to_dict() == _fresh(model, seq_len=n)
    (entry,) = store.iterdir()
    assert sorted(p.name for p in entry.iterdir()) == ["at-16.pkl", "at-200.pkl", "at-64.pkl", "fitted.pkl"]
    for n in (16, 100, 137, 200):  # kept, and from the fitted template
        assert ovmem.analyze(model, seq_len=n).to_dict() == _fresh(model, seq_len=n), n
    assert not (entry / "at-100.pkl").exists()  # 100 came from the template, nothing was lifted
    assert ovmem.analyze(model, seq_len=300).to_dict() == _fresh(model, seq_len=300)  # outside: lifted, kept
    assert (entry / "at-300.pkl").exists()


def test_runtimes_sizes_and_pipelines_are_stored_apart(store):
    qwen = FIXTURES / "tiny-qwen2-f16"
    for options in ({"runtime": "genai"}, {"batch": 2}, {"past_len": 8}, {"device": "generic"}):
        assert ovmem.analyze(qwen, seq_len=32, **options).to_dict() == _fresh(qwen, seq_len=32, **options), options
        assert ovmem.analyze(qwen, seq_len=32, **options).to_dict() == _fresh(qwen, seq_len=32, **options), options
    llava = FIXTURES / "tiny-llava-f16"
    once = analyze_pipeline(llava, image=(336, 336), prompt_tokens=8).to_dict()
    assert analyze_pipeline(llava, image=(336, 336), prompt_tokens=8).to_dict() == once
    os.environ["OVMEM_NO_CACHE"] = "1"
    try:
        assert analyze_pipeline(llava, image=(336, 336), prompt_tokens=8).to_dict() == once
    finally:
        del os.environ["OVMEM_NO_CACHE"]
    # genai, batch 2, past 8 (with its prefill at 8) and the plain lift: keys of their own; device is no key
    assert len(list(store.iterdir())) >= 5


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    code = ("import sys\nfrom ovmem.cli import main\ntry:\n    status = main(sys.argv[1:])\nfinally:\n    "
            "print('openvino imported' if 'openvino' in sys.modules else 'openvino not imported', file=sys.stderr)\n"
            "sys.exit(status)")  # fmt: skip
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_a_stored_model_is_analysed_without_openvino(store):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    model = str(FIXTURES / "tiny-llama-f16")
    first = _run("analyze", model, "--seq-len", "300", "--json", env=env)
    assert first.returncode == 0 and "openvino imported" in first.stderr
    for n in ("20", "80"):
        assert _run("analyze", model, "--seq-len", n, "--json", env=env).returncode == 0
    warm = _run("analyze", model, "--seq-len", "150", "--json", env=env)  # in range: the fitted template
    assert warm.returncode == 0 and "openvino not imported" in warm.stderr, warm.stderr
    fresh = _run("analyze", model, "--seq-len", "150", "--json", "--no-cache", env=env)
    assert fresh.returncode == 0 and "openvino imported" in fresh.stderr
    assert json.loads(warm.stdout) == json.loads(fresh.stdout)


def test_help_and_bad_input_never_import_openvino(store):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert "openvino not imported" in _run("--help", env=env).stderr
    assert "openvino not imported" in _run("analyze", "--help", env=env).stderr
    missing = _run("analyze", "/no/such/model", env=env)
    assert missing.returncode == 2 and "openvino not imported" in missing.stderr
    bad = _run("analyze", str(FIXTURES / "tiny-qwen2-f16"), "--seq-len", "0", env=env)
    assert bad.returncode == 2 and "openvino not imported" in bad.stderr


def test_no_cache_writes_nothing_and_a_changed_model_is_lifted_again(store, tmp_path, capsys):
    from ovmem.cli import main

    assert main(["analyze", str(FIXTURES / "tiny-phi3-f16"), "--seq-len", "16", "--no-cache"]) == 0
    assert not store.exists() and not (store.parent / "host").exists()
    assert "OVMEM_NO_CACHE" not in os.environ
    model = tmp_path / "copy"
    shutil.copytree(FIXTURES / "tiny-phi3-f16", model)
    assert main(["analyze", str(model), "--seq-len", "16"]) == 0
    os.utime(model / "openvino_model.bin", ns=(1, 1))  # same bytes, another file as far as the store knows
    assert main(["analyze", str(model), "--seq-len", "16"]) == 0
    assert len(list(store.iterdir())) == 2
    capsys.readouterr()


def test_a_torn_entry_is_lifted_again(store):
    model = FIXTURES / "tiny-llama-int8"
    expected = ovmem.analyze(model, seq_len=24).to_dict()
    (entry,) = store.iterdir()
    (entry / "at-24.pkl").write_bytes(b"not a pickle")
    assert ovmem.analyze(model, seq_len=24).to_dict() == expected


def test_concurrent_analyses_share_the_store(store):
    model, results, failures = FIXTURES / "tiny-qwen2-f16", [], []

    def run(n: int) -> None:
        try:
            results.append((n, ovmem.analyze(model, seq_len=n).total_bytes))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in (8, 16, 32, 48, 8, 16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    for n, total in results:
        assert total == _fresh(model, seq_len=n)["total_bytes"]
    assert not [p for p in next(store.iterdir()).iterdir() if p.name.startswith(".")]  # no half-written file


def test_a_model_object_reads_once_and_keeps_its_graphs(monkeypatch):
    import ovmem._study as study

    lifted = []
    real_lift = study.lift
    monkeypatch.setattr(study, "lift", lambda *a, **k: lifted.append(k["seq_len"]) or real_lift(*a, **k))
    path = FIXTURES / "tiny-qwen2-f16"
    model = ovmem.Model(path)
    for n in (16, 200, 64, 100, 137, 16):
        assert model.analyze(n).to_dict() == _fresh(path, seq_len=n), n
    assert lifted == [16, 200, 64]  # then the template fitted on 16..200 (checked at 64) gives 100 and 137
    for options in ({"device": "generic"}, {"target": "avx2", "kv_cache_precision": "u4"}, {"runtime": "genai"}):
        assert model.analyze(64, **options).to_dict() == _fresh(path, seq_len=64, **options), options
    assert model.analyze(8, past_len=16).to_dict() == _fresh(path, seq_len=8, past_len=16)
    assert lifted == [16, 200, 64, 8]  # the step on 16 cached tokens; its prefill (16 tokens) was kept already
    assert "tiny-qwen2-f16" in repr(model)
    with pytest.raises(ovmem.UsageError, match="unknown option"):
        model.analyze(8, colour="blue")
