"""``--budget``: the longest sequence that fits in a memory budget, and whether one length fits.

:func:`max_seq_len` finds ``N`` such that the total at ``N`` fits the budget and the total at
``N + 1`` does not, exactly to the token:

1. Totals at lengths ``1, 2, 4, ...`` until one does not fit (or :data:`SEARCH_LIMIT`), then a
   binary search between the last that fits and the first that does not.
2. An LLM's total grows with the length, but not strictly everywhere: an allocator's packing can
   make a length need a few KiB less than the one before. So the :data:`SCAN` lengths after the
   crossing are analysed one by one, and the search goes on from any that fits; the answer says
   whether the totals analysed were monotone.
3. Where the graph allows, the search analyses graphs instantiated from the lifted graphs' affine
   shapes (:mod:`ovmem._study`), also outside the lengths they were checked on; ``N`` and
   ``N + 1`` are then analysed again from graphs OpenVINO reshaped, and if either total differs,
   the template is dropped and the search runs again with OpenVINO at every length. The answer's
   two reports are always such full analyses.

The part that "hits the wall" is the one that grows the most from ``N`` to ``N + 1``. For a VLM
pipeline (``kind="vlm"``) the length is the prompt's text tokens next to the given image.

:func:`fits` answers for one length: the total, and the margin (negative: over the budget).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import attrs

from ovmem._lazy import openvino as ov
from ovmem._study import LengthStudy, Report, part_labels, parts
from ovmem.errors import UsageError
from ovmem.progress import Progress
from ovmem.report import SCHEMA_VERSION, run_label
from ovmem.units import format_bytes, parse_bytes

__all__ = ["SCAN", "SEARCH_LIMIT", "BudgetFit", "BudgetLimit", "fits", "format_fit", "format_limit", "max_seq_len"]

SEARCH_LIMIT = 1 << 20
"""The longest length :func:`max_seq_len` tries (about a million tokens) unless told otherwise."""

SCAN = 8
"""Lengths analysed one by one past the crossing: an allocator's packing can make a longer length
need a little less (the generic device's greedy-by-size does, now and then, by a few KiB)."""

_ANCHORS = (64, 4096, 512)
"""Lengths a search lifts to fit (first two) and check (third) its shape template."""


@attrs.frozen
class BudgetLimit:
    """The longest length whose total fits a budget (:func:`max_seq_len`)."""

    model: str
    kind: str
    variable: str
    """``seq_len``, or ``prompt_tokens`` for a VLM pipeline."""
    device: str
    budget_bytes: int
    length: int | None
    """The longest length that fits (``None``: not even the shortest, ``lowest``)."""
    lowest: int
    """The shortest length there is (1 token; 0 prompt tokens for a VLM pipeline)."""
    limit: int
    """The longest length searched."""
    report: Report | None
    """The analysis at ``length`` (``None`` when nothing fits)."""
    above: Report | None
    """The analysis at ``length + 1`` (at ``lowest`` when nothing fits; ``None`` at the limit)."""
    wall: str | None
    """The part that grows the most from ``length`` to ``length + 1`` (when nothing fits: the
    largest part at ``lowest``)."""
    monotone: bool = True
    """Whether the totals analysed grew with the length."""
    analyses: int = 0
    """Lengths analysed."""
    lifts: int = 0
    """Graphs OpenVINO reshaped."""
    instantiated: int = 0
    """Graphs instantiated from the shape template."""
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def limit_reached(self) -> bool:
        """Whether even the longest length searched fits."""
        return self.length == self.limit

    @property
    def growth(self) -> dict[str, int]:
        """Bytes each part adds from ``length`` to ``length + 1``."""
        if self.report is None or self.above is None:
            return {}
        before, after = parts(self.report), parts(self.above)
        return {k: after.get(k, 0) - before.get(k, 0) for k in after}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (bytes), versioned by :data:`~ovmem.report.SCHEMA_VERSION`."""
        return {
            **_question(self, "max_length"),
            "fits": self.length is not None,
            "lowest": self.lowest,
            "limit": self.limit,
            "limit_reached": self.limit_reached,
            "total_bytes": None if self.report is None else self.report.total_bytes,
            "above_total_bytes": None if self.above is None else self.above.total_bytes,
            "wall": self.wall,
            "growth": self.growth,
            "monotone": self.monotone,
            "analyses": self.analyses,
            "lifts": self.lifts,
            "instantiated": self.instantiated,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "report": None if self.report is None else self.report.to_dict(),
            "above": None if self.above is None else self.above.to_dict(),
        }


def _question(answer: Any, question: str) -> dict[str, Any]:
    """The JSON fields every budget answer starts with: what was asked, of what."""
    return {
        "schema_version": SCHEMA_VERSION,
        "question": question,
        "model": answer.model,
        "kind": answer.kind,
        "variable": answer.variable,
        "device": answer.device,
        "budget_bytes": answer.budget_bytes,
        "length": answer.length,
    }


@attrs.frozen
class BudgetFit:
    """Whether one length fits a budget (:func:`fits`)."""

    model: str
    kind: str
    variable: str
    device: str
    budget_bytes: int
    length: int
    report: Report

    @property
    def total_bytes(self) -> int:
        return self.report.total_bytes

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.budget_bytes

    @property
    def margin_bytes(self) -> int:
        """Budget minus total: what is left (negative: by how much it does not fit)."""
        return self.budget_bytes - self.total_bytes

    @property
    def largest(self) -> str:
        """The largest part."""
        p = parts(self.report)
        return max(p, key=p.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (bytes), versioned by :data:`~ovmem.report.SCHEMA_VERSION`."""
        return {
            **_question(self, "fits"),
            "fits": self.fits,
            "total_bytes": self.total_bytes,
            "margin_bytes": self.margin_bytes,
            "largest": self.largest,
            "parts": parts(self.report),
            "report": self.report.to_dict(),
        }


def fits(
    model: ov.Model | str | os.PathLike[str],
    budget: int | str,
    *,
    seq_len: int,
    kind: str = "model",
    image: tuple[int, int] | None = None,
    vision_sequence: int | None = None,
    name: str | None = None,
    **options: Any,
) -> BudgetFit:
    """Whether ``model`` at ``seq_len`` (prompt tokens for ``kind="vlm"``) fits ``budget`` (bytes,
    or a size such as ``"8GiB"``: :func:`~ovmem.units.parse_bytes`), and by how much. Options as
    for :func:`ovmem.sweep`."""
    budget_bytes = parse_bytes(budget)
    study = LengthStudy(
        model, kind=kind, image=image, vision_sequence=vision_sequence, reuse_shapes=False, name=name, **options
    )
    report, _ = study.report(seq_len, exact=True)
    return BudgetFit(study.name, kind, study.variable, report.device, budget_bytes, seq_len, report)


def max_seq_len(
    model: ov.Model | str | os.PathLike[str],
    budget: int | str,
    *,
    kind: str = "model",
    image: tuple[int, int] | None = None,
    vision_sequence: int | None = None,
    limit: int = SEARCH_LIMIT,
    reuse_shapes: bool = True,
    progress: Progress | None = None,
    name: str | None = None,
    **options: Any,
) -> BudgetLimit:
    """The longest length (tokens; prompt tokens for ``kind="vlm"``) at which ``model``'s total
    fits ``budget``, exact to the token (module doc), with every other option fixed.

    Args:
        budget: bytes, or a size such as ``"8GiB"`` (:func:`~ovmem.units.parse_bytes`).
        limit: the longest length tried.
        reuse_shapes: search on graphs instantiated from the lifted graphs' affine shapes (the
            answer is confirmed by full analyses either way).
        progress: shows the search (the command passes one on a terminal).
        model, kind, image, vision_sequence, name, options: as for :func:`ovmem.sweep`.
    """
    started = time.perf_counter()
    budget_bytes = parse_bytes(budget)
    study = LengthStudy(
        model, kind=kind, image=image, vision_sequence=vision_sequence, reuse_shapes=reuse_shapes, name=name,
        keep_graphs=False, **options,
    )  # fmt: skip
    if not isinstance(limit, int) or limit < max(1, study.lowest):
        raise UsageError(f"the search limit must be a positive integer, got {limit!r}")
    progress = progress or Progress()
    progress.start(None, "ovmem budget")
    analysed: set[int] = set()

    def total(n: int, exact: bool = False) -> int:
        if n != study.lowest and not fitted and study.can_reuse_shapes and limit > _ANCHORS[1]:
            fitted.append(study.fit(*_ANCHORS))  # only once the lowest length fits: a search follows
        report, _ = study.report(n, exact=exact, extrapolate=True)
        analysed.add(n)
        verdict = "over" if report.total_bytes > budget_bytes else "fits"
        progress.status(f"{study.variable} {n}: {format_bytes(report.total_bytes)} ({verdict})", force=True)
        return report.total_bytes

    fitted: list[bool] = []
    try:
        while True:
            length, monotone = _search(total, budget_bytes, study.lowest, limit)
            if study.template is None:
                break
            # confirm the answer on graphs OpenVINO reshaped
            checks = [n for n in (study.lowest if length is None else length, None if length is None else length + 1)
                      if n is not None and n <= limit]  # fmt: skip
            wrong = [n for n in checks if study.report(n, extrapolate=True)[0].total_bytes != total(n, exact=True)]
            if not wrong:
                break
            study.distrust(f"total at {study.variable} {wrong[0]}")
    finally:
        progress.close()
    if length is None:
        report, above = None, study.report(study.lowest, exact=True)[0]
        p = parts(above)
        wall: str | None = max(p, key=p.__getitem__)
    else:
        report = study.report(length, exact=True)[0]
        above = None if length >= limit else study.report(length + 1, exact=True)[0]
        wall = None
        if above is not None:
            before, after = parts(report), parts(above)
            growth = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            wall = max(growth, key=lambda k: (growth[k], after[k]))
    notes = list(study.notes)
    if not monotone:
        notes.append(
            f"the totals analysed do not always grow with the length (the allocator's packing); the {SCAN} "
            "lengths after the answer's next were tried too and do not fit"
        )
    device = (report or above).device  # type: ignore[union-attr]
    return BudgetLimit(
        model=study.name, kind=kind, variable=study.variable, device=device, budget_bytes=budget_bytes,
        length=length, lowest=study.lowest, limit=limit, report=report, above=above, wall=wall,
        monotone=monotone, analyses=len(analysed), lifts=study.lifts, instantiated=study.instantiated,
        seconds=time.perf_counter() - started, notes=tuple(notes),
    )  # fmt: skip


def _search(total: Callable[[int], int], budget: int, lowest: int, limit: int) -> tuple[int | None, bool]:
    """``(N, monotone)``: ``total(N) <= budget < total(N + 1)`` (or ``N == limit``) and none of the
    :data:`SCAN` lengths after ``N + 1`` fits; ``None`` when ``total(lowest)`` is over. ``monotone``:
    no length analysed needs less than a shorter one."""
    seen: dict[int, int] = {}

    def f(n: int) -> int:
        if n not in seen:
            seen[n] = total(n)
        return seen[n]

    if f(lowest) > budget:
        return None, True
    lo, hi = _bracket(f, lowest, budget, limit)
    for _ in range(64):  # each round restarts past a crossing that was not the last
        if hi is None:
            break
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if f(mid) <= budget:
                lo = mid
            else:
                hi = mid
        # an allocator's packing can make a longer length need less: look a little further
        later = [n for n in range(hi + 1, min(hi + SCAN, limit) + 1) if f(n) <= budget]
        if not later:
            break
        lo, hi = _bracket(f, later[-1], budget, limit)
    totals = [seen[n] for n in sorted(seen)]
    return lo, all(a <= b for a, b in pairwise(totals))


def _bracket(f: Callable[[int], int], lo: int, budget: int, limit: int) -> tuple[int, int | None]:
    """From ``lo`` (which fits), doubling: the last length that fits and the first that does not
    (``None``: ``limit`` fits)."""
    n = max(1, lo * 2)
    while True:
        n = min(n, limit)
        if f(n) > budget:
            return lo, n
        lo = n
        if n == limit:
            return lo, None
        n *= 2


def _head(model: str, report: Report | None, device: str, budget: int) -> str:
    run = run_label(report) if report is not None else f"device {device}"
    return f"{model} | {run} | budget {format_bytes(budget)} ({budget} bytes)"


def _parts_line(report: Report) -> str:
    p = {k: v for k, v in parts(report).items() if v}
    labels = part_labels(list(p))
    return ", ".join(f"{labels[k]} {format_bytes(v)}" for k, v in p.items())


def format_limit(answer: BudgetLimit) -> str:
    """What ``--budget`` prints without a length."""
    var, n = answer.variable, answer.length
    lines = [_head(answer.model, answer.report or answer.above, answer.device, answer.budget_bytes)]
    label = part_labels([answer.wall])[answer.wall] if answer.wall else ""
    if n is None:
        assert answer.above is not None
        need = answer.above.total_bytes
        lines.append(
            f"  does not fit even at {var} {answer.lowest}: needs {format_bytes(need)}, "
            f"{format_bytes(need - answer.budget_bytes)} over; the largest part is {label}"
        )
        lines.append(f"  at {answer.lowest}: {_parts_line(answer.above)}")
    else:
        assert answer.report is not None
        have = answer.report.total_bytes
        spare = format_bytes(answer.budget_bytes - have)
        lines.append(f"  longest {var} that fits: {n} ({format_bytes(have)}, {spare} to spare)")
        if answer.above is None:
            lines.append(f"  (the search stops at {answer.limit}: a longer {var} may fit too)")
        else:
            need = answer.above.total_bytes
            lines.append(f"  {var} {n + 1} needs {format_bytes(need)}: {format_bytes(need - answer.budget_bytes)} over")
            ranked = sorted(((g, k) for k, g in answer.growth.items() if g > 0), reverse=True)
            grows = ", ".join(f"{part_labels([k])[k]} +{format_bytes(g)}" for g, k in ranked[:3])
            lines.append(f"  the wall: {label} grows the most per token ({grows or 'nothing grows'})")
        lines.append(f"  at {n}: {_parts_line(answer.report)}")
    how = ""
    if answer.instantiated:
        how = (f" ({answer.lifts} lifted by OpenVINO, the others from the lifted graphs' affine shapes;"
               " the answer's from OpenVINO)")  # fmt: skip
    elif answer.lifts:
        how = f" ({answer.lifts} lifted by OpenVINO)"
    lines.append(f"  {answer.analyses} length{'s' * (answer.analyses != 1)} analysed in {answer.seconds:.2f} s{how}")
    lines += [f"  note: {note}" for note in answer.notes]
    return "\n".join(lines)


def format_fit(answer: BudgetFit) -> str:
    """What ``--budget`` prints with a length."""
    lines = [_head(answer.model, answer.report, answer.device, answer.budget_bytes)]
    var = answer.variable
    if answer.fits:
        lines.append(
            f"  fits at {var} {answer.length}: {format_bytes(answer.total_bytes)}, "
            f"{format_bytes(answer.margin_bytes)} to spare"
        )
    else:
        label = part_labels([answer.largest])[answer.largest]
        lines.append(
            f"  does not fit at {var} {answer.length}: {format_bytes(answer.total_bytes)}, "
            f"{format_bytes(-answer.margin_bytes)} over; the largest part is {label}"
        )
    lines.append(f"  {_parts_line(answer.report)}")
    return "\n".join(lines)
