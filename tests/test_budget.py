"""``--budget``: the answer N fits and N + 1 does not (checked by two analyses), for models and
pipelines; the inverse question; sizes as people write them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ovmem
from ovmem.budget import _search
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.units import parse_bytes
from ovmem.vlm import analyze_pipeline

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MIB = 2**20


@pytest.fixture(scope="module")
def demo():
    return build_llama(LlamaConfig(num_layers=2))


def test_parse_bytes():
    assert parse_bytes("8GiB") == parse_bytes("8G") == parse_bytes("8g") == parse_bytes("8 gib") == 8 * 2**30
    assert parse_bytes("8GB") == 8 * 10**9
    assert parse_bytes("512MiB") == 512 * MIB and parse_bytes("1.5GiB") == 3 * 2**29
    assert parse_bytes("1000") == parse_bytes(1000) == 1000
    for bad in ("", "GiB", "8iB", "-1", "0", "8Q", "eight", 0):
        with pytest.raises(UsageError):
            parse_bytes(bad)


@pytest.mark.parametrize(
    ("model", "device", "budget"),
    [("tiny-qwen2-f16", "generic", "20MiB"), ("tiny-llama-int8", "CPU", "80MiB"), ("demo", "generic", "300MiB")],
)
def test_max_seq_len_fits_and_one_more_token_does_not(model, device, budget, demo):
    source = demo if model == "demo" else FIXTURES / model
    answer = ovmem.max_seq_len(source, budget, device=device)
    n, limit = answer.length, parse_bytes(budget)
    assert n is not None and 1 < n < answer.limit
    assert ovmem.analyze(source, seq_len=n, device=device).total_bytes <= limit
    assert ovmem.analyze(source, seq_len=n + 1, device=device).total_bytes > limit
    assert answer.report.total_bytes <= limit < answer.above.total_bytes
    assert answer.wall == max(answer.growth, key=answer.growth.get) and answer.growth[answer.wall] > 0
    assert answer.instantiated > 0 and answer.monotone  # searched on the shape template, confirmed by lifts
    if model == "tiny-qwen2-f16":  # every length lifted by OpenVINO: the same answer
        assert ovmem.max_seq_len(source, budget, device=device, reuse_shapes=False).length == n


def test_max_seq_len_of_a_vlm_prompt_next_to_an_image():
    folder = FIXTURES / "tiny-llava-f16"
    total = analyze_pipeline(folder, image=(336, 336), prompt_tokens=3).total_bytes
    answer = ovmem.max_seq_len(folder, total, kind="vlm", image=(336, 336))
    assert answer.variable == "prompt_tokens" and answer.length == 3  # the prompt grows the total
    assert analyze_pipeline(folder, image=(336, 336), prompt_tokens=4).total_bytes > total
    assert answer.wall == "language"


def test_max_seq_len_edges(demo):
    nothing = ovmem.max_seq_len(demo, "10MiB")  # the weights alone are larger
    assert nothing.length is None and not nothing.to_dict()["fits"] and nothing.wall == "weights"
    everything = ovmem.max_seq_len(demo, "1TiB", limit=3000)
    assert everything.length == 3000 and everything.limit_reached and everything.above is None
    with pytest.raises(UsageError):
        ovmem.max_seq_len(demo, "1GiB", limit=0)


def test_search_continues_past_a_non_monotone_crossing():
    totals = {100: 101, 101: 100}  # 100 packs badly; 101 fits again
    n, monotone = _search(lambda n: totals.get(n, n), 100, 1, 1 << 10)
    assert (n, monotone) == (101, False)
    n, monotone = _search(lambda n: n * 10, 150, 1, 1 << 10)
    assert (n, monotone) == (15, True)
    assert _search(lambda n: n, 0, 1, 10) == (None, True)
    assert _search(lambda n: n, 100, 1, 10) == (10, True)


def test_a_template_wrong_beyond_its_checks_is_dropped():
    """Shapes affine between the lengths the template was fitted and checked on (64..4096) but not
    beyond (a window of 8192): the answer's confirmation catches it and the search runs again."""
    from test_sweep import windowed_model

    model = windowed_model(window=8192)
    budget = ovmem.analyze(model, seq_len=10000).total_bytes
    answer = ovmem.max_seq_len(model, budget)
    assert answer.length == 10000 and any("disagreed" in note for note in answer.notes)
    assert ovmem.analyze(model, seq_len=10001).total_bytes > budget


def test_fits_says_by_how_much(demo):
    report = ovmem.analyze(demo, seq_len=512)
    yes = ovmem.fits(demo, report.total_bytes + 5, seq_len=512)
    no = ovmem.fits(demo, report.total_bytes - 5, seq_len=512)
    assert yes.fits and yes.margin_bytes == 5 and yes.to_dict()["question"] == "fits"
    # the demo's 32000-token logits at 512 tokens: the output, the LM head's bf16 buffer, the caller's copy
    assert not no.fits and no.margin_bytes == -5 and no.largest == "io"
    assert report.io_bytes > report.weights_bytes


def test_cli_budget(capsys):
    from schema_check import errors

    from ovmem.schemas import schema_for

    folder = str(FIXTURES / "tiny-qwen2-f16")
    assert main(["analyze", folder, "--budget", "20MiB", "--device", "generic"]) == 0
    out = capsys.readouterr().out
    assert "longest seq_len that fits:" in out and "the wall: temp peak" in out
    longest = int(out.split("longest seq_len that fits: ")[1].split()[0])
    assert main(["llm", folder, "--budget", "20MiB", "--json", "--runtime", "ov", "--device", "generic"]) == 0  # the classic command: the same answer
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "llm" and data["length"] == longest and errors(data, schema_for("budget-limit")) == []
    assert main(["analyze", folder, "--budget", "20MiB", "--seq-len", "4096", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)  # the CPU model by default
    assert data["fits"] is False and data["margin_bytes"] == 20 * MIB - ovmem.analyze(folder, seq_len=4096).total_bytes
    assert main(["llm", folder, "100", "--budget", "200MiB"]) == 0
    assert "fits at seq_len 100" in capsys.readouterr().out
    assert main(["demo", "--budget", "1GiB", "--explain", "3"]) == 2
    assert "not with --budget" in capsys.readouterr().err
    assert main(["analyze", folder, "--budget", "8XB"]) == 2
    assert capsys.readouterr().err.startswith("ovmem: error: argument --budget")
