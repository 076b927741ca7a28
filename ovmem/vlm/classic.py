"""The lines of the classic ``estimate_llm.py`` / ``estimate_vit.py`` / ``estimate_vlm.py`` scripts
(``shared/SEED.md``), so that scripts reading them keep working. GB there means GiB; two decimals.

* ``llm``: ``Total runtime memory X GB``, then ``weight Y GB temp Z GB`` (temp: everything but
  the weights — KV cache, inputs and outputs, activations, kernel scratch, the device runtime).
* ``vit``: ``Total VIT Runtime Memory X GB weight Y GB temp Z GB`` (temp: what the vision parts
  keep after running; standing alone it also holds the device runtime).
* ``vlm``: the VIT line and ``Total LLM Runtime Memory X GB weight Y GB temp Z GB`` (temp: the
  language model's prefill or decode step, KV cache included), then
  ``Total VIT + LLM + Embeddings Runtime Memory X GB``: the two lines, the text embeddings and the
  device runtime (every compiled sub-model keeps its memory, :mod:`ovmem.vlm.pipeline`).
"""

from __future__ import annotations

from ovmem.report import MemoryReport
from ovmem.vlm.pipeline import PipelineReport

__all__ = ["GIB", "llm_lines", "llm_lines_of", "vit_lines", "vlm_lines"]

GIB = 1 << 30


def _gb(n: int) -> str:
    return f"{n / GIB:.2f}"


def _split(label: str, weight: int, temp: int) -> str:
    return f"Total {label} Runtime Memory {_gb(weight + temp)} GB weight {_gb(weight)} GB temp {_gb(temp)} GB"


def llm_lines(total: int, weight: int) -> list[str]:
    """``ovmem llm``: the total, then its split."""
    return [f"Total runtime memory {_gb(total)} GB", f"weight {_gb(weight)} GB temp {_gb(total - weight)} GB"]


def llm_lines_of(report: MemoryReport | PipelineReport) -> list[str]:
    """:func:`llm_lines` of a single-model report or of a text-only pipeline."""
    weight = report.weights_bytes if isinstance(report, MemoryReport) else report.weights()
    return llm_lines(report.total_bytes, weight)


def vit_lines(report: PipelineReport) -> list[str]:
    """``ovmem vit``: the vision encoder alone (the device runtime in its temp)."""
    return [_split("VIT", report.weights("vision"), report.vision_working_bytes + report.runtime_bytes)]


def vlm_lines(report: PipelineReport) -> list[str]:
    """``ovmem vlm``: the VIT line, the LLM line and the pipeline's total."""
    return [
        _split("VIT", report.weights("vision"), report.vision_working_bytes),
        _split("LLM", report.weights("language"), report.language_working_bytes),
        f"Total VIT + LLM + Embeddings Runtime Memory {_gb(report.total_bytes)} GB",
    ]
