"""Estimate against measurement: ``ovmem analyze`` and ``ovmem measure`` on the same points.

The estimate's total is compared with the measured peak RSS above the post-``import openvino``
baseline (anonymous + file-backed pages: what a user sees). The error is
``(estimate - measured) / measured``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from ovmem.api import analyze
from ovmem.measure import Measurement, measure
from ovmem.report import MemoryReport, run_label
from ovmem.target import emulated_isa
from ovmem.units import format_bytes

__all__ = ["ValidationPoint", "format_validation", "validate"]


@attrs.frozen
class ValidationPoint:
    """One sequence length: the estimate, the measurement, and how far apart they are."""

    seq_len: int
    estimate: MemoryReport
    measurement: Measurement

    @property
    def error(self) -> float:
        """Relative error of the estimated total against the measured peak."""
        measured = self.measurement.peak_rss_bytes
        return (self.estimate.total_bytes - measured) / measured if measured else float("nan")

    def to_dict(self) -> dict[str, object]:
        return {
            "seq_len": self.seq_len,
            "estimate": self.estimate.to_dict(),
            "measurement": self.measurement.to_dict(),
            "error": self.error,
        }


def validate(
    path: str | os.PathLike[str],
    seq_lens: Sequence[int],
    *,
    device: str = "CPU",
    target: str = "host",
    timeout: float = 600,
    **analyze_options: object,
) -> list[ValidationPoint]:
    """Analyse ``path`` for ``device`` on ``target`` and measure it there, at every sequence length
    (one fresh process per measurement, each limited to ``timeout`` seconds). A target weaker than
    this host is measured by emulation (:func:`ovmem.target.emulated_isa`, :func:`ovmem.measure.emulation`)."""
    emulate = emulated_isa(target)
    return [
        ValidationPoint(
            n,
            analyze(path, seq_len=n, device=device, target=target, **analyze_options),
            measure(path, seq_len=n, device=device, timeout=timeout, emulate_target=emulate),
        )
        for n in seq_lens
    ]


def format_validation(points: Sequence[ValidationPoint]) -> str:
    """A table: estimate by part, measured peak with its anon/file split, and the error."""
    if not points:
        return "no points"
    first = points[0]
    emulated = first.measurement.emulated_target
    where = f" emulating {emulated} (oneDNN capped; an emulation)" if emulated else ""
    lines = [
        f"{first.estimate.model}: estimate ({run_label(first.estimate)}) "
        f"vs measured on {first.measurement.device}{where} (OpenVINO {first.measurement.openvino_version.split('-')[0]})",
        f"  {'seq':>6} {'estimate':>11} {'weights':>11} {'kv':>10} {'io':>11} {'temp':>10}"
        f" | {'measured':>11} {'anon':>11} {'file':>11} | {'error':>7}",
    ]
    for p in points:
        e, m = p.estimate, p.measurement
        lines.append(
            f"  {p.seq_len:>6} {format_bytes(e.total_bytes):>11} {format_bytes(e.weights_bytes):>11}"
            f" {format_bytes(e.state_bytes):>10} {format_bytes(e.io_bytes):>11} {format_bytes(e.temp_peak_bytes):>10}"
            f" | {format_bytes(m.peak_rss_bytes):>11} {format_bytes(m.anon_at_peak):>11}"
            f" {format_bytes(m.file_at_peak):>11} | {p.error:>+7.1%}"
        )
    return "\n".join(lines)
