"""End to end on the committed optimum-intel exports (``tools/export_fixtures.py``).

The expected numbers come from outside ovmem: the ``.bin`` size on disk and the model's
``config.json`` (layers, KV heads, head size, vocabulary) — never from the graph ovmem reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "tests" / "fixtures").iterdir() if (p / "openvino_model.xml").is_file())


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


@pytest.mark.parametrize("folder", FIXTURES, ids=[p.name for p in FIXTURES])
@pytest.mark.parametrize(("seq_len", "past_len"), [(1024, 0), (1, 255)])
def test_analyze_an_optimum_export(folder, seq_len, past_len):
    """The graph as exported (``--device generic``) against the .bin and config.json."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "analyze", str(folder),
         "--seq-len", str(seq_len), "--past-len", str(past_len), "--device", "generic", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    cfg = _config(folder)
    bin_size = (folder / "openvino_model.bin").stat().st_size
    assert abs(data["weights_bytes"] - bin_size) <= 0.02 * bin_size
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    kv_elements = cfg["num_key_value_heads"] * (past_len + seq_len) * head_dim
    # optimum writes KV_CACHE_PRECISION=f16 into unquantised exports' rt_info; OpenVINO applies it
    kv_bytes = 2 if '<KV_CACHE_PRECISION value="f16"' in (folder / "openvino_model.xml").read_text() else 4
    assert data["state_bytes"] == 2 * cfg["num_hidden_layers"] * kv_elements * kv_bytes  # K and V
    assert data["counts"]["states"] == 2 * cfg["num_hidden_layers"]
    logits = seq_len * cfg["vocab_size"] * 4
    inputs = 8 * seq_len + 8 * (past_len + seq_len) + 8 * seq_len + 4  # ids, mask, positions (i64), beam (i32)
    assert data["io_bytes"] == 2 * logits + inputs  # the output and optimum-intel's copy of it
    assert 0 < data["temp_lower_bound_bytes"] <= data["temp_peak_bytes"]
    assert data["model"] == folder.name


def test_fixtures_are_committed():
    assert {p.name for p in FIXTURES} >= {"tiny-llama-f16", "tiny-qwen2-f16"}


COMPRESSED = [p for p in FIXTURES if p.name.endswith(("-int4", "-int8"))]


@pytest.mark.parametrize("folder", COMPRESSED, ids=[p.name for p in COMPRESSED])
def test_compressed_weights_count_as_stored_and_never_as_temporaries(folder):
    from ovmem.ir import lift
    from ovmem.passes import CATEGORY, DEFAULT_PIPELINE, FOLDED_BY, Category, parse_pipeline
    from ovmem.report import temp_requests

    graph = parse_pipeline(DEFAULT_PIPELINE)(lift(folder, seq_len=64)).graph
    low_bit = [v for v in graph.values() if CATEGORY.get(v, None) is Category.WEIGHT and v.type.dtype in ("u4", "u8")]
    assert len(low_bit) >= 2 * _config(folder)["num_hidden_layers"] * 7  # W and zero point per projection
    decompressed = [v for v in graph.values() if FOLDED_BY.get(v, None) == "fold-weights.decompression"]
    assert decompressed  # the Convert/Subtract/Multiply chains were seen ...
    def from_weights(v):
        return CATEGORY.get(v, None) is Category.WEIGHT or FOLDED_BY.get(v, "").startswith("fold-weights")

    _, temps = temp_requests(graph)
    for buffer in temps:  # ... and no runtime buffer is computed from weights alone
        assert not all(from_weights(v) for v in buffer.root.producer.inputs), buffer.root.producer
