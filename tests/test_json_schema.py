"""Every command's JSON validates against the schema ``docs/json.md`` documents, and the schema file
and the reference tables are what ``ovmem/schemas.py`` generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schema_check import errors

from ovmem.cli import main
from ovmem.schemas import BEGIN, COMMANDS, DEFS, bundle, reference_markdown, schema_for

ROOT = Path(__file__).resolve().parent.parent
F = ROOT / "tests" / "fixtures"
QWEN, LLAVA, QWEN_VL = str(F / "tiny-qwen2-f16"), str(F / "tiny-llava-f16"), str(F / "tiny-qwen2_5-vl-f16")

CASES = {
    "analyze": (["analyze", QWEN, "--seq-len", "32"], "report"),
    "analyze-explained": (["analyze", QWEN, "--seq-len", "32", "--explain", "2", "--device", "CPU"], "report"),
    "demo": (["demo", "--seq-len", "16"], "report"),
    "demo-gpu": (["demo", "--seq-len", "16", "--device", "GPU"], "report"),
    "analyze-budget": (["analyze", QWEN, "--budget", "4MiB"], "budget-limit"),
    "analyze-budget-none": (["analyze", QWEN, "--budget", "1KiB"], "budget-limit"),
    "analyze-fits": (["analyze", QWEN, "--budget", "4MiB", "--seq-len", "64"], "budget-fit"),
    "compare-allocators": (["compare-allocators", QWEN, "--seq-len", "16"], "compare"),
    "compare-requests": (["compare-allocators", "--requests", str(ROOT / "bench/data/minimalloc/A.1048576.csv")], "compare"),
    "list": (["list"], "list"),
    "llm": (["llm", QWEN, "64"], "report"),
    "llm-vlm-export": (["llm", LLAVA, "64"], "pipeline-report"),
    "vit": (["vit", QWEN_VL, "64"], "pipeline-report"),
    "vlm": (["vlm", QWEN_VL, "64", "--prompt-tokens", "8"], "pipeline-report"),
    "vlm-fits": (["vlm", LLAVA, "--image", "336x336", "--prompt-tokens", "8", "--budget", "1MiB"], "budget-fit"),
    "sweep": (["sweep", QWEN, "--seq-len", "16:256:x2", "--budget", "2MiB", "--device", "CPU"], "sweep"),
    "sweep-vlm": (["sweep", LLAVA, "--kind", "vlm", "--image", "336x336", "--seq-len", "0,8"], "sweep"),
    "whatif": (["whatif", QWEN, "--seq-len", "64", "--vs", "kv-cache-precision=u4", "--vs", "device=CPU"], "whatif"),
    "measure": (["measure", str(F / "tiny-llama-f16"), "--seq-len", "8"], "measurement"),
    "measure-vlm": (["measure", QWEN_VL, "--vision-seq", "64", "--prompt-tokens", "4"], "pipeline-measurement"),
    "measure-genai": (["measure", "--runtime", "genai", QWEN, "--seq-len", "16", "--new-tokens", "2"], "genai-measurement"),
    "measure-vlm-genai": (["measure", "--runtime", "genai", QWEN_VL, "--image", "56x56", "--prompt-tokens", "4"],
                          "vlm-genai-measurement"),
    "validate": (["validate", QWEN, "--seq-len", "8"], "validate"),
    "cache": (["cache", "list"], "cache"),  # remote models' outputs: tests/test_remote.py
}


def test_every_command_and_object_is_covered():
    assert {args[0] for args, _ in CASES.values()} == set(COMMANDS)
    assert {name for _, name in CASES.values()} | {"scenario", "rss"} == set(DEFS)
    for command, names in COMMANDS.items():
        assert all(name in DEFS for name in names), command


@pytest.mark.parametrize("case", list(CASES))
def test_output_validates(case, capsys):
    args, name = CASES[case]
    if "genai" in args:
        pytest.importorskip("openvino_genai")
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    assert name in COMMANDS[args[0]]
    assert errors(data, schema_for(name)) == []
    assert data["schema_version"] == 1


def test_checker_finds_what_is_wrong():
    schema = schema_for("list")
    good = {"schema_version": 1, "passes": {"a": "b"}, "allocators": ["x"], "targets": ["host"]}
    assert errors(good, schema) == []
    assert errors({**good, "extra": 1}, schema) == ["$: unexpected field 'extra'"]
    assert errors({k: v for k, v in good.items() if k != "passes"}, schema) == ["$: missing 'passes'"]
    assert errors({**good, "allocators": [3]}, schema) == ["$.allocators[0]: expected string, got int 3"]
    assert errors({**good, "schema_version": 2}, schema) == ["$.schema_version: expected 1, got 2"]
    report = schema_for("report")
    assert any("peak" in e for e in errors({"peak": 3}, report))


def test_schema_file_and_reference_are_current():
    """After changing ovmem/schemas.py, run `python -m ovmem.schemas`."""
    written = json.loads((ROOT / "docs" / "schemas" / "ovmem.schema.json").read_text())
    assert written == bundle()
    doc = (ROOT / "docs" / "json.md").read_text()
    assert doc.split(BEGIN, 1)[1].strip() == reference_markdown().strip()
