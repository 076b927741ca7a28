"""What-if: every delta is the difference of two analyses; the changes parse as the command writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ovmem
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.scenarios import parse_change

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def demo():
    return build_llama(LlamaConfig(num_layers=2))


def test_parse_change():
    assert parse_change("kv-cache-precision=u4") == {"kv_cache_precision": "u4"}
    assert parse_change("allocator=best-fit{alignment=32}; new-tokens=512") == {
        "allocator": "best-fit{alignment=32}", "new_tokens": 512,
    }  # fmt: skip
    assert parse_change("disable=inplace.view,fuse") == {"disable": ("inplace.view", "fuse")}
    assert parse_change("passes=fold-weights,placement,lifetime") == {"passes": "fold-weights,placement,lifetime"}
    for bad in ("", "colour=red", "threads", "threads=", "threads=many", "new-tokens=-1"):
        with pytest.raises(UsageError):
            parse_change(bad)


def test_deltas_are_differences_of_two_analyses(demo):
    base = {"seq_len": 256, "device": "CPU", "threads": 4}
    changes = [
        "kv-cache-precision=u4", "allocator=best-fit", "disable=inplace", "disable=fuse.mlp;inference-precision=f32",
        "device=generic", "seq-len=512", {"new_tokens": 100},
    ]  # fmt: skip
    result = ovmem.whatif(demo, changes, **base)
    assert [s.label for s in result.scenarios][:3] == changes[:3]
    baseline = ovmem.analyze(demo, **base)
    assert result.baseline.report.to_dict() == baseline.to_dict()
    data = result.to_dict()
    for scenario, change, row in zip(result.scenarios, changes, data["scenarios"]):
        options = {**base, **(parse_change(change) if isinstance(change, str) else change)}
        alone = ovmem.analyze(demo, **options)
        assert scenario.report.to_dict() == alone.to_dict()
        assert row["delta_total_bytes"] == alone.total_bytes - baseline.total_bytes
        assert row["delta"]["states"] == alone.state_bytes - baseline.state_bytes
        assert row["delta"]["temp"] == alone.temp_peak_bytes - baseline.temp_peak_bytes
    assert data["scenarios"][0]["delta"]["states"] < 0  # u4 instead of the CPU's u8


def test_disable_adds_to_the_baselines(demo):
    result = ovmem.whatif(demo, ["disable=inplace"], seq_len=64, disable=["fuse"])
    alone = ovmem.analyze(demo, seq_len=64, disable=["fuse", "inplace"])
    assert result.scenarios[0].report.to_dict() == alone.to_dict()
    assert "fuse" not in result.scenarios[0].report.passes.split(",")


def test_cli_whatif(capsys):
    folder = str(FIXTURES / "tiny-qwen2-f16")
    args = ["whatif", folder, "--seq-len", "512", "--vs", "kv-cache-precision=u4", "--vs", "allocator=best-fit",
            "--vs", "disable=inplace"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "kv-cache-precision=u4" in out and "-64.00 KiB" in out
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    u4 = ovmem.analyze(folder, seq_len=512, kv_cache_precision="u4").total_bytes
    assert data["scenarios"][0]["delta_total_bytes"] == u4 - ovmem.analyze(folder, seq_len=512).total_bytes
    assert main(["whatif", folder, "--vs", "colour=red"]) == 2
    assert "no such change" in capsys.readouterr().err
    assert main(["whatif", folder]) == 2
    assert main(["whatif", "--vs", "kv-cache-precision=u5"]) == 2
    assert capsys.readouterr().err.count("\n") == 2
