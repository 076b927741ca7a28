"""From an analysed graph to the numbers people ask for: weights, states, I/O, peak temporary.

:func:`plan_memory` turns the ``temp`` values' lifetimes into :class:`~ovmem.alloc.BufferRequest`,
lets an allocator pack them, and adds the resident parts. The result is a frozen
:class:`MemoryReport` that prints as a table (:func:`format_report`) or as JSON (:meth:`MemoryReport.to_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ovmem.alloc import Allocator, BufferRequest, Plan, live_profile
from ovmem.ir.core import Graph
from ovmem.passes.base import PassPreconditionError
from ovmem.passes.cpu_scratch import SCRATCH
from ovmem.passes.keys import CATEGORY, RESIDENT_BYTES, WEIGHT_COPY_BYTES, Category, copy_bytes, stored_nbytes
from ovmem.passes.lifetime import BUFFERS, Buffer
from ovmem.passes.states import STATE_BYTES
from ovmem.target import Target
from ovmem.units import format_bytes

__all__ = [
    "NOT_VALIDATED", "SCHEMA_VERSION", "MemoryReport", "PeakLocation", "format_report", "plan_memory", "run_label",
    "temp_requests",
]

SCHEMA_VERSION = 1
"""Version of the JSON object :meth:`MemoryReport.to_dict` returns."""

NOT_VALIDATED = "modelled, not validated"
"""How reports label a device model that no measurement has checked."""


@attrs.frozen
class PeakLocation:
    """The execution step at which the most temporary bytes are live."""

    step: int
    op_type: str
    name: str


@attrs.frozen
class MemoryReport:
    """How much memory one run of a model needs, by part."""

    model: str
    seq_len: int
    batch: int
    past_len: int
    device: str
    allocator: str
    passes: str
    weights_bytes: int
    """Constants at their stored size (``stored_type`` where a device pass set one; the pages read,
    ``resident_bytes``, of a mapped table only looked up), plus the copies a device makes of them
    (``weight_copy_bytes``)."""
    state_bytes: int
    """Variables (the KV cache) after this run."""
    io_bytes: int
    """Model inputs and outputs, plus the runtime's own copies of them (``io_copy_bytes``)."""
    temp_peak_bytes: int
    """Arena size the allocator needs for the intermediate tensors."""
    temp_lower_bound_bytes: int
    """Most intermediate bytes live at one step: no allocator can do better."""
    runtime_bytes: int
    """What the device runtime holds whatever the model (plugin code, threads); 0 for ``generic``."""
    scratch_bytes: int
    """Kernel scratch buffers no tensor names, held for the run (``cpu-scratch``; by name in ``scratch``)."""
    peak: PeakLocation | None
    """Where the live intermediate bytes reach their maximum."""
    counts: dict[str, int] = attrs.field(factory=dict)
    """How many values (or states) each part holds."""
    warnings: tuple[str, ...] = ()
    lift: str = "graph"
    """What was analysed: ``graph`` (the model as exported, the plugin emulated) or ``runtime`` (the
    graph the device's plugin compiled)."""
    validated: bool = True
    """Whether the device model was checked against measurements (``False``: modelled only)."""
    scratch: dict[str, int] = attrs.field(factory=dict)
    """``scratch_bytes`` by kernel (``fc``, ``sdpa``)."""
    device_note: str = ""
    """What the device model is and where its memory lives, when the device says (GPU: modelled)."""
    runtime: str = "ov"
    """Who runs the model: ``ov`` (the compiled model as given) or ``genai`` (openvino.genai's
    LLMPipeline, :mod:`ovmem.genai`)."""
    target: Target | None = None
    """The CPU the analysis is for (``--target``), where the device's rules read one (CPU)."""
    inference_precision: str = ""
    """The activations' precision on the device (CPU: the target's default or the override)."""
    plan: Plan | None = attrs.field(default=None, eq=False, repr=False)
    """The allocator's plan for the intermediate buffers (request ids index ``temp_requests``)."""
    graph: Graph | None = attrs.field(default=None, eq=False, repr=False)
    """The analysed graph (its outputs' shapes, every annotation), for tools built on a report."""

    @property
    def total_bytes(self) -> int:
        """Everything resident at the peak: weights + states + inputs/outputs + peak temporary + kernel
        scratch + runtime."""
        return (
            self.weights_bytes + self.state_bytes + self.io_bytes + self.temp_peak_bytes + self.scratch_bytes
            + self.runtime_bytes
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (integers in bytes), versioned by :data:`SCHEMA_VERSION`."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "seq_len": self.seq_len,
            "batch": self.batch,
            "past_len": self.past_len,
            "device": self.device,
            "runtime": self.runtime,
            "target": self.target.to_dict() if self.target else None,
            "inference_precision": self.inference_precision or None,
            "allocator": self.allocator,
            "passes": self.passes,
            "lift": self.lift,
            "weights_bytes": self.weights_bytes,
            "state_bytes": self.state_bytes,
            "io_bytes": self.io_bytes,
            "temp_peak_bytes": self.temp_peak_bytes,
            "temp_lower_bound_bytes": self.temp_lower_bound_bytes,
            "scratch_bytes": self.scratch_bytes,
            "scratch": dict(self.scratch),
            "runtime_bytes": self.runtime_bytes,
            "total_bytes": self.total_bytes,
            "peak": attrs.asdict(self.peak) if self.peak else None,
            "counts": dict(self.counts),
            "warnings": list(self.warnings),
            "validated": self.validated,
            "device_note": self.device_note,
        }


def temp_requests(graph: Graph) -> tuple[list[BufferRequest], list[Buffer]]:
    """One request per ``temp`` buffer of known, non-zero size; request ``i`` is for ``buffers[i]``."""
    return _requests(_buffers(graph))


def _buffers(graph: Graph) -> tuple[Buffer, ...]:
    if graph.nodes and not BUFFERS.is_set(graph):
        raise PassPreconditionError("plan_memory needs the 'lifetime' pass to have run: end the pipeline (--passes) with it")
    return BUFFERS.get(graph, ())


def _requests(all_buffers: Iterable[Buffer]) -> tuple[list[BufferRequest], list[Buffer]]:
    requests: list[BufferRequest] = []
    temps: list[Buffer] = []
    for buffer in all_buffers:
        if buffer.category is not Category.TEMP or not buffer.nbytes:
            continue
        requests.append(BufferRequest(len(requests), buffer.nbytes, buffer.lifetime.start, buffer.lifetime.end))
        temps.append(buffer)
    return requests, temps


def _peak_location(graph: Graph, requests: list[BufferRequest]) -> PeakLocation | None:
    profile = live_profile(requests)
    if not profile:
        return None
    step = max(profile, key=lambda p: p[1])[0]
    node = graph.nodes[step]
    return PeakLocation(step, node.op_type, node.name)


def plan_memory(
    graph: Graph,
    allocator: Allocator,
    *,
    passes: str = "",
    device: str = "generic",
    runtime_bytes: int = 0,
    target: Target | None = None,
) -> MemoryReport:
    """Pack the temporaries of an analysed graph with ``allocator`` and total every part.
    ``target``: the CPU the device's rules read (reported; CPU).

    Raises:
        PassPreconditionError: the ``lifetime`` pass has not run on ``graph``.
    """
    all_buffers = _buffers(graph)
    weights = [v for v in graph.values() if CATEGORY.get(v, None) is Category.WEIGHT]
    io = [b for b in all_buffers if b.category is Category.IO]
    unknown = sum(b.nbytes is None for b in all_buffers) + sum(stored_nbytes(v) is None for v in weights)
    requests, _ = _requests(all_buffers)
    plan = allocator.allocate(requests)
    warnings = []
    if unknown:
        warnings.append(f"{unknown} tensors kept dynamic shapes and count as 0 bytes")
    # the label belongs to the device; imported here as ovmem.devices imports the passes
    from ovmem.devices import DEVICES

    model_of_device = DEVICES.get(device)
    scratch = {name: n for name, n in SCRATCH.get(graph, {}).items() if n}
    return MemoryReport(
        model=graph.name,
        seq_len=graph.meta.get("seq_len", 0),
        batch=graph.meta.get("batch", 1),
        past_len=graph.meta.get("past_len", 0),
        device=device,
        allocator=str(allocator),
        passes=passes,
        weights_bytes=sum(RESIDENT_BYTES.get(v, stored_nbytes(v) or 0) for v in weights)
        + sum(WEIGHT_COPY_BYTES.get(v, 0) for v in graph.values()),
        state_bytes=sum(STATE_BYTES.get(s, s.type.nbytes or 0) for s in graph.states),
        io_bytes=sum((b.nbytes or 0) + sum(copy_bytes(v) for v in b.members) for b in io),
        temp_peak_bytes=plan.peak,
        runtime_bytes=runtime_bytes,
        scratch_bytes=sum(scratch.values()),
        scratch=scratch,
        temp_lower_bound_bytes=max((live for _, live in live_profile(requests, allocator.alignment)), default=0),
        peak=_peak_location(graph, requests),
        lift=graph.meta.get("lift", "graph"),
        counts={
            "weights": len(weights),
            "states": len(graph.states),
            "io": len(io),
            "temps": len(requests),
            "nodes": len(graph.nodes),
        },
        warnings=tuple(warnings),
        validated=model_of_device.validated if model_of_device else True,
        device_note=model_of_device.note if model_of_device else "",
        runtime=graph.meta.get("runtime", "ov"),
        target=target,
        inference_precision=graph.meta.get("inference_precision", "") if target else "",
        plan=plan,
        graph=graph,
    )


def run_label(report: Any) -> str:
    """``device CPU | target host (amx, 2 threads) | runtime ov | bf16 activations | allocator ...``:
    what every report's header says of the run (a model's or a pipeline's report)."""
    parts = [f"device {report.device}{' (runtime graph)' if getattr(report, 'lift', '') == 'runtime' else ''}"]
    if report.target is not None:
        parts.append(f"target {report.target.label}")
    parts.append(f"runtime {report.runtime}")
    if report.inference_precision:
        parts.append(f"{report.inference_precision} activations")
    if getattr(report, "allocator", None):
        parts.append(f"allocator {report.allocator}")
    return " | ".join(parts)


def format_report(report: MemoryReport) -> str:
    """The human table ``ovmem analyze`` prints."""
    c = report.counts
    rows = [
        ("weights", report.weights_bytes, f"{c.get('weights', 0)} constants"),
        ("states (KV cache)", report.state_bytes, f"{c.get('states', 0)} variables"),
        ("inputs + outputs", report.io_bytes, f"{c.get('io', 0)} tensors"),
        (
            "peak temporary",
            report.temp_peak_bytes,
            f"lower bound {format_bytes(report.temp_lower_bound_bytes)}, {c.get('temps', 0)} tensors",
        ),
    ]
    head = f"{report.model}: seq_len {report.seq_len}, batch {report.batch}, past {report.past_len} | {run_label(report)}"
    if report.scratch_bytes:
        detail = ", ".join(f"{name} {format_bytes(n)}" for name, n in report.scratch.items())
        rows.append(("kernel scratch", report.scratch_bytes, f"shared by the kernels for the run: {detail}"))
    if report.runtime_bytes:
        note = f"the {report.device} plugin's own code and threads"
        if parts := report.graph.meta.get("genai_runtime") if report.graph is not None else None:
            note += ", openvino.genai's " + ", ".join(f"{name} {format_bytes(n)}" for name, n in parts.items()) + " (measured)"
        rows.append(("runtime", report.runtime_bytes, note))
    lines = [head]
    tag = "" if report.validated else NOT_VALIDATED
    if tag or report.device_note:
        lines.append(f"  device {report.device}: " + "; ".join(filter(None, (tag, report.device_note))))
    lines += [f"  {label:<20}{format_bytes(n):>12}   {note}" for label, n, note in rows]
    lines.append("  " + "-" * 32)
    lines.append(f"  {'total':<20}{format_bytes(report.total_bytes):>12}")
    if report.peak:
        lines.append(f"  temporaries peak at step {report.peak.step}: {report.peak.op_type} {report.peak.name!r}")
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)
