"""``ovmem sweep``: every part of the total against the sequence length.

``ovmem.sweep(model, "256:32768:x2")`` analyses ``model`` at each length with every other option
fixed and returns a :class:`Sweep`: one :class:`SweepPoint` (the full report) per length. Each
point equals ``ovmem.analyze(model, seq_len=n, ...)`` exactly; what a sweep saves is the work
between them (:mod:`ovmem._study`): the model is read and the pipeline parsed once, and when the
lifted graph's shapes are affine in the length (checked on a third length lifted by OpenVINO) the
lengths between the first and the last are instantiated from them instead of being reshaped by
OpenVINO again. ``bench/sweep.py`` measures the difference.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ovmem._lazy import openvino as ov
from ovmem._study import LengthStudy, Report, part_labels, parts
from ovmem.errors import UsageError
from ovmem.ir.specialize import MAX_DIMENSION
from ovmem.progress import Progress
from ovmem.report import SCHEMA_VERSION, run_label
from ovmem.units import format_bytes

__all__ = ["MAX_POINTS", "Sweep", "SweepPoint", "format_sweep", "parse_lengths", "sweep"]

MAX_POINTS = 4096
"""A sweep analyses at most this many lengths (a typo such as ``1:1000000:+1`` would take hours)."""

_METHODS = {
    "lift": "lifted by OpenVINO",
    "shapes": "from the lifted graphs' affine shapes",
    "runtime": "compiled by the plugin",
    "pipeline": "pipeline analyses",
}

_RANGE = re.compile(r"(\d+):(\d+)(?::(x|\*|\+)?(\d+(?:\.\d+)?))?")


def parse_lengths(text: str | int | Iterable[int]) -> list[int]:
    """The lengths a sweep visits, ascending and without repeats.

    ``"256:32768:x2"`` doubles from 256 up to 32768 (``x1.5`` multiplies by 1.5, rounding);
    ``"256:4096:+256"`` (or ``"256:4096:256"``) steps by 256; ``"256:4096"`` doubles; the last
    length is always included. ``"256,1024,4096"`` lists them; ``"1024"`` is one length. A list of
    integers is taken as it is.

    Raises:
        UsageError: not one of these forms, a step that does not advance, negative lengths, or more
            than :data:`MAX_POINTS` lengths.
    """
    if isinstance(text, int):
        values = [text]
    elif not isinstance(text, str):
        values = list(text)
    else:
        values = _parse(text.replace(" ", ""))
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_DIMENSION for v in values):
        raise UsageError(f"lengths must be integers from 0 to {MAX_DIMENSION}, got {text!r}")
    lengths = sorted(set(values))
    if len(lengths) > MAX_POINTS:
        raise UsageError(f"{text!r} gives {len(lengths)} lengths; a sweep takes at most {MAX_POINTS}")
    return lengths


def _parse(text: str) -> list[int]:
    usage = f"expected START:STOP:xFACTOR, START:STOP:+STEP or N,N,..., got {text!r}"
    if "," in text or text.isdigit():
        if not all(t.isdigit() for t in text.split(",")):
            raise UsageError(usage)
        return [int(t) for t in text.split(",")]
    match = _RANGE.fullmatch(text)
    if not match:
        raise UsageError(usage)
    start, stop = int(match[1]), int(match[2])
    if stop > MAX_DIMENSION:
        raise UsageError(f"{text!r}: lengths must be integers from 0 to {MAX_DIMENSION}")
    op, step = match[3] or ("x" if match[4] is None else "+"), match[4] or "2"
    if stop < start:
        raise UsageError(f"{text!r}: the range ends before it starts")
    values = [start]
    if op in ("x", "*"):
        factor = float(step)
        if factor <= 1 or start == 0:
            raise UsageError(f"{text!r}: a geometric range needs a factor above 1 and a start above 0")
        while values[-1] < stop and len(values) <= MAX_POINTS:
            values.append(min(stop, max(values[-1] + 1, round(values[-1] * factor))))
    else:
        if "." in step or int(step) < 1:
            raise UsageError(f"{text!r}: the step must be a positive integer")
        values = list(range(start, stop + 1, int(step)))[: MAX_POINTS + 1]
        if values[-1] != stop and len(values) <= MAX_POINTS:
            values.append(stop)
    return values


@attrs.frozen
class SweepPoint:
    """One length of a sweep."""

    length: int
    """The sequence length (``prompt_tokens`` for a VLM pipeline)."""
    report: Report
    """The full analysis at this length (a :class:`~ovmem.report.MemoryReport`, or a
    :class:`~ovmem.vlm.PipelineReport` for a VLM export)."""
    method: str
    """How the graph was obtained: ``lift`` (reshaped by OpenVINO), ``shapes`` (the lifted graph's
    affine shapes), ``runtime`` (compiled by the plugin) or ``pipeline`` (each sub-model lifted)."""

    @property
    def parts(self) -> dict[str, int]:
        return parts(self.report)

    @property
    def total_bytes(self) -> int:
        return self.report.total_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "method": self.method,
            "parts": self.parts,
            "total_bytes": self.total_bytes,
            "report": self.report.to_dict(),
        }


@attrs.frozen
class Sweep:
    """A model analysed at several lengths."""

    model: str
    kind: str
    """``model``, ``llm`` or ``vlm`` (:mod:`ovmem._study`)."""
    variable: str
    """What the length is: ``seq_len``, or ``prompt_tokens`` for a VLM pipeline."""
    device: str
    points: tuple[SweepPoint, ...]
    lifts: int = 0
    """Graphs OpenVINO reshaped (the other model points came from the shape template)."""
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    def pairs(self) -> list[tuple[int, Report]]:
        """``[(length, report), ...]``, as :func:`ovmem.plot.plot_sweep` takes them."""
        return [(p.length, p.report) for p in self.points]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (bytes), versioned by :data:`~ovmem.report.SCHEMA_VERSION`."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "kind": self.kind,
            "variable": self.variable,
            "device": self.device,
            "lengths": [p.length for p in self.points],
            "points": [p.to_dict() for p in self.points],
            "lifts": self.lifts,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


def sweep(
    model: ov.Model | str | os.PathLike[str],
    lengths: str | int | Iterable[int],
    *,
    kind: str = "model",
    image: tuple[int, int] | None = None,
    vision_sequence: int | None = None,
    reuse_shapes: bool = True,
    progress: Progress | None = None,
    name: str | None = None,
    **options: Any,
) -> Sweep:
    """Analyse ``model`` at every length of ``lengths`` (:func:`parse_lengths`).

    Args:
        model: an ``openvino.Model`` or a path; for ``kind="llm"`` / ``"vlm"`` an export folder.
        lengths: ``"256:32768:x2"``, ``"256,1024"`` or a list of integers.
        kind: ``model`` (as ``ovmem analyze``), ``llm`` (as ``ovmem llm``) or ``vlm`` (as
            ``ovmem vlm``: the lengths are the prompt tokens next to the image).
        image, vision_sequence: the image of a ``vlm`` sweep (one of them).
        reuse_shapes: instantiate lengths from the lifted graph's shapes where they are affine in
            the length (``False``: OpenVINO reshapes the model at every length).
        progress: shows which length runs (the command passes one on a terminal).
        name: the model's name in the reports (default: the export folder's, or the model's).
        options: :func:`ovmem.analyze`'s (``device``, ``allocator``, ``kv_cache_precision``, ...);
            a pipeline takes ``device``, ``allocator`` and ``shapes``.
    """
    started = time.perf_counter()
    points = parse_lengths(lengths)
    study = LengthStudy(
        model, kind=kind, image=image, vision_sequence=vision_sequence, reuse_shapes=reuse_shapes, name=name, **options
    )
    if len(points) > 3 and study.can_reuse_shapes:
        study.fit(points[0], points[-1], points[len(points) // 2])
    results = []
    progress = progress or Progress()
    progress.start(len(points), "ovmem sweep")
    try:
        for n in points:
            progress.step(f"{study.variable} {n}")
            report, method = study.report(n)
            results.append(SweepPoint(n, report, method))
    finally:
        progress.close()
    return Sweep(
        model=study.name,
        kind=kind,
        variable=study.variable,
        device=results[0].report.device,
        points=tuple(results),
        lifts=study.lifts,
        seconds=time.perf_counter() - started,
        notes=tuple(study.notes),
    )


def _columns(points: Sequence[SweepPoint]) -> list[str]:
    names: list[str] = []
    for p in points:
        names += [k for k in p.parts if k not in names]
    # parts that are zero everywhere (no scratch on the generic device) only widen the table
    return [k for k in names if k == "weights" or any(p.parts.get(k, 0) for p in points)]


def format_sweep(result: Sweep, budget: int | None = None) -> str:
    """The table ``ovmem sweep`` prints: one row per length, one column per part, then the total
    (and, with ``budget``, by how much each length misses it)."""
    lengths = [p.length for p in result.points]
    head = f"{result.model}: {result.variable} {lengths[0]} to {lengths[-1]}, {len(lengths)} points | {run_label(result.points[0].report)}"
    columns = _columns(result.points)
    labels = part_labels(columns)
    widths = {k: max(12, len(labels[k]) + 2) for k in columns}
    var = max(len(result.variable), len(str(lengths[-1])))
    title = f"  {result.variable:>{var}}" + "".join(f"{labels[k]:>{widths[k]}}" for k in columns) + f"{'total':>12}"
    lines = [head, title + ("   budget" if budget else "")]
    for p in result.points:
        row = f"  {p.length:>{var}}" + "".join(f"{format_bytes(p.parts.get(k, 0)):>{widths[k]}}" for k in columns)
        row += f"{format_bytes(p.total_bytes):>12}"
        if budget:
            over = p.total_bytes - budget
            row += f"   over by {format_bytes(over)}" if over > 0 else "   fits"
        lines.append(row)
    methods = Counter(p.method for p in result.points)
    how = ", ".join(f"{n} {_METHODS[m]}" for m, n in methods.items())
    lines.append(f"  {len(lengths)} analyses ({how}) in {result.seconds:.2f} s")
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)
