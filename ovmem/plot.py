"""Pictures of a report: the memory timeline of one run, and a sweep over sequence lengths.

:func:`plot_timeline` draws what ``ovmem analyze --plot FILE`` writes: the bytes live at each
execution step — weights, KV cache and inputs + outputs as bands held for the whole run, the
temporaries live at each step on top — the allocator's arena as the line the temporaries must fit
under, the layers along the top, and the peak marked with its op. :func:`plot_sweep` draws each part
against the sequence length.

matplotlib is an optional extra (``pip install 'ovmem[plot]'``), imported only here and only when a
plot is asked for; without it the text output is unchanged and asking for a plot is a
:class:`~ovmem.errors.UsageError`. Both functions return the ``matplotlib.figure.Figure`` (built
without pyplot, so nothing global changes) and save it when given a path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ovmem._layers import OTHER, layer_key
from ovmem.errors import UsageError
from ovmem.explain import GROUP_LABELS, live_by_step
from ovmem.passes.keys import run_step
from ovmem.report import MemoryReport
from ovmem.units import format_bytes

__all__ = ["FORMATS", "PLOT_HINT", "check_plot_path", "plot_sweep", "plot_timeline"]

logger = logging.getLogger(__name__)

PLOT_HINT = "--plot needs matplotlib: pip install 'ovmem[plot]'"
FORMATS = (".png", ".svg", ".pdf")

COLORS = {
    "weights": "#a0a0a0", "state": "#59a14f", "io": "#4e79a7", "device": "#b07aa1", "temp": "#f28e2b",
    "arena": "#d62728", "total": "#222222",
}  # fmt: skip
LABELS = {
    "weights": "weights",
    "state": GROUP_LABELS["state"],
    "io": GROUP_LABELS["io"],
    "device": "kernel scratch + runtime",
    "temp": "temporaries live",
}
_UNITS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "B"))


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401  (the submodule must import too)
    except ImportError:
        raise UsageError(PLOT_HINT) from None
    return matplotlib


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if a plot can be written there: a known suffix, and matplotlib installed."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"--plot {path}: give a file ending in {', '.join(FORMATS)}")
    if not path.parent.is_dir():
        raise UsageError(f"--plot {path}: no such folder {path.parent}")
    _matplotlib()
    return path


def _unit(largest: int) -> tuple[int, str]:
    return next((size, name) for size, name in _UNITS if largest >= size or size == 1)


def _short(name: str, width: int = 64) -> str:
    return name if len(name) <= width else f"{name[: width // 2 - 2]}...{name[-(width // 2 - 1):]}"


def _layer_starts(report: MemoryReport) -> list[tuple[int, str]]:
    """``(first step, layer key)`` of each numbered layer, from the nodes that carry its name."""
    starts: dict[str, int] = {}
    for node in report.graph.nodes:
        key = layer_key(node.name)
        if key and key != OTHER and node.op_type != "Constant" and run_step(node) is not None:
            starts.setdefault(key, node.order)
    return sorted((step, key) for key, step in starts.items())


def _mark_layers(fig: Any, axes: Any, starts: list[tuple[int, str]]) -> None:
    if not starts:
        return
    for ax in fig.axes:
        for step, _ in starts:
            ax.axvline(step, color="#cccccc", linewidth=0.6, zorder=0)
    every = max(1, -(-len(starts) // 16))
    shown = starts[::every]
    top = axes.secondary_xaxis("top")
    top.set_xticks([s for s, _ in shown], labels=[key.rpartition(".")[2] for _, key in shown])
    top.tick_params(labelsize=7, length=2)
    families = sorted({key.rpartition(".")[0] for _, key in starts})
    top.set_xlabel(" / ".join(f"{f}.N" for f in families), fontsize=7)


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    matplotlib = _matplotlib()
    path = check_plot_path(path)
    # real text in an SVG (searchable, smaller); no creation date, so the same report gives the same file
    metadata = {"Date": None} if path.suffix.lower() in (".svg", ".pdf") else {}
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ovmem"}):
        fig.savefig(path, dpi=100, metadata=metadata)
    logger.debug("wrote %s", path)


def plot_timeline(report: MemoryReport, path: str | os.PathLike[str] | None = None, *, title: str | None = None) -> Any:
    """The memory of one run over its execution steps (``ovmem analyze --plot``); returns the Figure.

    Top: everything held, stacked — weights, KV cache, inputs + outputs, kernel scratch + runtime,
    and the temporaries live at each step — under the total (the allocator's arena on the resident
    parts). Bottom: the temporaries alone, the arena they are packed into, the peak and its op.

    Raises:
        UsageError: matplotlib is missing, or ``path`` has no known suffix.
        ValueError: the report carries no graph.
    """
    _matplotlib()
    if path is not None:
        check_plot_path(path)
    if report.graph is None:
        raise ValueError("the report carries no graph: make it with ovmem.analyze or ovmem.report.plan_memory")
    import numpy as np
    from matplotlib.figure import Figure

    live = np.array(live_by_step(report.graph) or [0], dtype=float)
    steps = np.arange(len(live) + 1)
    temps = np.append(live, live[-1])  # step="post": the last step gets its width
    bands = [
        ("weights", report.weights_bytes), ("state", report.state_bytes), ("io", report.io_bytes),
        ("device", report.scratch_bytes + report.runtime_bytes),
    ]  # fmt: skip
    resident = sum(n for _, n in bands)

    fig = Figure(figsize=(10, 6.4), layout="constrained")
    whole, zoom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.35))
    scale, unit = _unit(max(report.total_bytes, 1))
    base = 0.0
    for key, nbytes in bands:
        if nbytes:
            whole.fill_between(steps, base / scale, (base + nbytes) / scale, step="post", color=COLORS[key], linewidth=0,
                               label=f"{LABELS[key]} {format_bytes(nbytes)}")  # fmt: skip
            base += nbytes
    whole.fill_between(steps, resident / scale, (resident + temps) / scale, step="post", color=COLORS["temp"],
                       linewidth=0, label=LABELS["temp"])  # fmt: skip
    whole.axhline(report.total_bytes / scale, color=COLORS["total"], linestyle="--", linewidth=1,
                  label=f"total {format_bytes(report.total_bytes)} (the arena on top)")  # fmt: skip
    whole.set_ylim(0, report.total_bytes / scale * 1.12 or 1)
    whole.set_ylabel(unit)
    whole.set_title("everything held during the run", fontsize=9, loc="left")
    whole.legend(loc="lower right", fontsize=7, ncol=3, framealpha=0.9)

    zscale, zunit = _unit(max(report.temp_peak_bytes, 1))
    zoom.fill_between(steps, 0, temps / zscale, step="post", color=COLORS["temp"], linewidth=0,
                      label=f"{LABELS['temp']} ({report.counts.get('temps', 0)} tensors)")  # fmt: skip
    zoom.axhline(report.temp_peak_bytes / zscale, color=COLORS["arena"], linestyle="--", linewidth=1.2,
                 label=f"arena ({report.allocator}) {format_bytes(report.temp_peak_bytes)}")  # fmt: skip
    zoom.set_ylim(0, report.temp_peak_bytes / zscale * 1.4 or 1)
    zoom.set_ylabel(zunit)
    zoom.set_xlabel("execution step (node order)")
    zoom.set_xlim(0, len(live))
    zoom.set_title("temporaries: live bytes and the arena they are packed into", fontsize=9, loc="left")
    right = True
    if report.peak is not None:
        x, y = report.peak.step, live[report.peak.step] / zscale
        zoom.axvline(x, color=COLORS["arena"], linestyle=":", linewidth=1)
        right = x < len(live) * 0.55  # the note on the roomier side, the legend on the other
        zoom.annotate(
            f"peak: step {x}, {format_bytes(int(live[report.peak.step]))} live\n"
            f"{report.peak.op_type} '{_short(report.peak.name)}'",
            xy=(x, y), xytext=(x + (1 if right else -1) * 0.02 * len(live), 0.97), textcoords=("data", "axes fraction"),
            fontsize=8, ha="left" if right else "right", va="top", arrowprops={"arrowstyle": "->", "linewidth": 0.8},
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#888888", "alpha": 0.95},
        )  # fmt: skip
    zoom.legend(loc="upper right" if right else "upper left", fontsize=7, framealpha=0.9)
    _mark_layers(fig, whole, _layer_starts(report))
    device = f"device {report.device}" + ("" if report.validated else " (modelled, not validated)")
    fig.suptitle(title or f"{report.model}: seq_len {report.seq_len}, batch {report.batch}, past {report.past_len}"
                 f" | {device} | total {format_bytes(report.total_bytes)}", fontsize=10)  # fmt: skip
    if path is not None:
        _save(fig, path)
    return fig


SWEEP_SERIES = (
    ("total", "total", lambda r: r.total_bytes),
    ("weights", "weights", lambda r: r.weights_bytes),
    ("state", GROUP_LABELS["state"], lambda r: r.state_bytes),
    ("io", GROUP_LABELS["io"], lambda r: r.io_bytes),
    ("temp", "peak temporary", lambda r: r.temp_peak_bytes),
    ("device", "kernel scratch + runtime", lambda r: r.scratch_bytes + r.runtime_bytes),
)
"""``(color key, label, bytes of a report)`` of each line :func:`plot_sweep` draws (all-zero ones left out)."""


def _sweep_series(report: Any) -> list[tuple[str | None, str, int]]:
    """``(color key, label, bytes)`` of each line: a model's parts, or a VLM pipeline's weights, what
    each sub-model keeps, and the runtime."""
    if isinstance(report, MemoryReport):
        return [(key, label, value(report)) for key, label, value in SWEEP_SERIES]
    held = [(None, f"{role.replace('_', ' ')} (kept)", n) for role, n in report.held().items()]
    return [("total", "total", report.total_bytes), ("weights", "weights", report.weights()), *held,
            ("device", "runtime", report.runtime_bytes)]  # fmt: skip


def plot_sweep(
    points: Sequence[tuple[int, Any]], path: str | os.PathLike[str] | None = None, *, title: str | None = None
) -> Any:
    """Each part of the memory, and the total, against the sequence length (log2 axis); ``points``
    are ``(seq_len, report)`` pairs — :class:`~ovmem.report.MemoryReport` or, for a VLM sweep over
    the prompt, :class:`~ovmem.vlm.PipelineReport`. Returns the Figure and saves it when given ``path``.

    Raises:
        UsageError: matplotlib is missing, ``path`` has no known suffix, or ``points`` is empty.
    """
    _matplotlib()
    if path is not None:
        check_plot_path(path)
    if not points:
        raise UsageError("a sweep plot needs at least one point")
    from matplotlib.figure import Figure

    points = sorted(points, key=lambda p: p[0])
    seqs = [s for s, _ in points]
    scale, unit = _unit(max(r.total_bytes for _, r in points) or 1)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    lines: dict[str, tuple[str | None, list[int]]] = {}
    for _, report in points:
        for key, label, nbytes in _sweep_series(report):
            lines.setdefault(label, (key, []))[1].append(nbytes)
    for label, (key, ys) in lines.items():
        if any(ys) and len(ys) == len(seqs):
            ax.plot(seqs, [y / scale for y in ys], marker="o", markersize=3, label=label,
                    color=COLORS.get(key) if key else None, linewidth=2 if key == "total" else 1.2)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(seqs, labels=[str(s) for s in seqs])
    ax.minorticks_off()
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel(unit)
    ax.grid(True, linewidth=0.4, alpha=0.6)
    ax.legend(fontsize=8)
    first = points[0][1]
    if isinstance(first, MemoryReport):
        default_title = f"{first.model}: batch {first.batch}, past {first.past_len} | device {first.device}"
    else:
        default_title = f"{first.model}: image of {first.vision_sequence} patches | device {first.device}"
        ax.set_xlabel("prompt tokens next to the image")
    fig.suptitle(title or default_title, fontsize=10)
    if path is not None:
        _save(fig, path)
    return fig
