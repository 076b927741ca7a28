"""A repeated command prints the answer it printed, without analysing again (ovmem/replay.py), and any
change to what the answer depends on analyses afresh."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ovmem
from ovmem.cli import main
from ovmem.registry import Registry

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of a fixture (so its files can change), a cache of this test alone, and a process in which
    no earlier test registered a pass of its own."""
    monkeypatch.setenv("OVMEM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(Registry, "plugins_loaded", False)
    return Path(shutil.copytree(FIXTURES / "tiny-qwen2-f16", tmp_path / "model"))


@pytest.fixture()
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The models ``ovmem.analyze`` was called on (a replay calls it for none)."""
    calls: list[str] = []
    real = ovmem.analyze

    def counting(model, **kwargs):
        calls.append(str(model))
        return real(model, **kwargs)

    monkeypatch.setattr(ovmem, "analyze", counting)
    return calls


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_a_repeat_prints_the_same_answer_without_analysing(model, analyses, capsys):
    for form in ((), ("--json",)):
        first = _run(capsys, "analyze", str(model), "--seq-len", "64", *form)
        second = _run(capsys, "analyze", str(model), "--seq-len", "64", *form)
        assert second == first
    assert len(analyses) == 2  # one per form; the repeats were replayed
    assert json.loads(first)["temp_peak_bytes"] > 0


def test_each_part_of_the_key_analyses_afresh(model, analyses, capsys, monkeypatch):
    argv = ["analyze", str(model), "--seq-len", "64", "--json"]
    baseline = _run(capsys, *argv)
    _run(capsys, *argv[:-2], "65", "--json")  # another argument
    assert len(analyses) == 2
    xml = model / "openvino_model.xml"
    os.utime(xml, ns=(xml.stat().st_atime_ns, xml.stat().st_mtime_ns + 10**9))  # the model's file touched
    assert _run(capsys, *argv) == baseline
    (model / "config.json").write_text((model / "config.json").read_text() + " ")  # another file of its folder
    _run(capsys, *argv)
    monkeypatch.setenv("OVMEM_PASSES_NOTE", "1")  # ovmem's environment
    _run(capsys, *argv)
    assert len(analyses) == 5
    _run(capsys, *argv)
    assert len(analyses) == 5  # and now kept again


def test_no_answer_is_kept_or_read_without_the_cache(model, analyses, capsys):
    argv = ["analyze", str(model), "--seq-len", "64", "--json"]
    _run(capsys, *argv, "--no-cache")
    _run(capsys, *argv, "--no-cache")
    assert len(analyses) == 2
    assert not (Path(os.environ["OVMEM_CACHE_DIR"]) / "answers").exists()


def test_a_run_that_warned_is_not_kept(model, analyses, capsys, monkeypatch):
    real = ovmem.analyze

    def warning(model, **kwargs):
        logging.getLogger("ovmem.test").warning("something the user must see")
        return real(model, **kwargs)

    monkeypatch.setattr(ovmem, "analyze", warning)
    _run(capsys, "analyze", str(model), "--seq-len", "64")
    assert not (Path(os.environ["OVMEM_CACHE_DIR"]) / "answers").exists()


def test_code_from_outside_ovmem_keeps_no_answer(model, capsys, monkeypatch):
    from ovmem.passes import Pass, PassResult
    from ovmem.passes.registry import PASSES

    with PASSES.scratch():

        @PASSES.register
        class Outside(Pass):  # a user's own pass, registered in this process
            name = "outside-test-pass"

            def call(self, graph):
                return PassResult(graph, modified=False)

        assert Registry.plugins_loaded
        _run(capsys, "analyze", str(model), "--seq-len", "64")
    assert not (Path(os.environ["OVMEM_CACHE_DIR"]) / "answers").exists()


@pytest.mark.parametrize("argv", [["--plot", "x.svg"], ["--budget", "1GiB"]])
def test_commands_with_side_effects_or_timings_are_not_kept(model, argv):
    from ovmem.cli import _build_parser
    from ovmem.replay import key_for

    full = ["analyze", str(model), "--seq-len", "64", *argv]
    assert key_for(full, _build_parser().parse_args(full)) is None
    plain = full[:4]
    assert key_for(plain, _build_parser().parse_args(plain)) is not None


def test_a_replay_imports_neither_numpy_nor_openvino(model):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = ["analyze", str(model), "--seq-len", "64", "--json"]
    script = (f"import sys; from ovmem.cli import main; code = main({argv!r}); "
              "print(code, 'numpy' in sys.modules, 'openvino' in sys.modules, file=sys.stderr)")  # fmt: skip
    runs = [subprocess.run([sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True) for _ in range(2)]
    assert [r.stderr.split()[-3:] for r in runs] == [["0", "True", "True"], ["0", "False", "False"]]
    assert runs[0].stdout == runs[1].stdout


def test_a_run_that_exits_non_zero_is_not_kept(model, monkeypatch, capsys):
    import ovmem.cli as cli

    monkeypatch.setitem(cli._COMMANDS, "analyze", lambda args: print("half an answer") or 1)
    assert main(["analyze", str(model), "--seq-len", "64"]) == 1
    assert not (Path(os.environ["OVMEM_CACHE_DIR"]) / "answers").exists()
