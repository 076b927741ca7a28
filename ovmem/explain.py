"""Why the peak is where it is: the step, the tensors live there, and what each layer holds.

:func:`explain_peak` reads a :class:`~ovmem.report.MemoryReport`'s graph: the step at which the
most temporary bytes are live (the report's ``peak``), every temporary buffer live at that step
(its tensor, type, bytes, the node that made it and the last one to read it), and the pinned
buffers beside them (inputs and outputs, the KV cache), grouped by category. :func:`layer_breakdown`
adds up weights and temporaries by layer, the layer being the friendly-name prefix
(``model.layers.3``, ``vision_model.encoder.layers.0``; :mod:`ovmem._layers`). ``ovmem analyze``
prints :func:`format_explanation` under its table (``--explain N`` for more).
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from ovmem._layers import OTHER, LayerNames
from ovmem.alloc import live_profile
from ovmem.ir.core import Graph, Node, Value
from ovmem.passes.keys import (
    CATEGORY,
    KERNEL,
    RESIDENT_BYTES,
    STORED_TYPE,
    WEIGHT_COPY_BYTES,
    Category,
    copy_bytes,
    run_step,
    stored_nbytes,
)
from ovmem.passes.lifetime import BUFFERS, Buffer
from ovmem.passes.states import STATE_BYTES, STATE_PRECISION
from ovmem.report import MemoryReport, temp_requests
from ovmem.units import format_bytes

__all__ = ["LayerUsage", "LiveTensor", "PeakExplanation", "TensorGroup", "explain_peak", "format_explanation",
           "layer_breakdown", "live_by_step", "peak_part"]  # fmt: skip

logger = logging.getLogger(__name__)

GROUP_LABELS = {"temp": "temporaries", "io": "inputs + outputs", "state": "KV cache (states)"}
"""How each group of live tensors is called in the text and the plot."""


@attrs.frozen
class LiveTensor:
    """One buffer live at the peak step."""

    name: str
    """The tensor's name (the value that owns the buffer; a state's variable id)."""
    category: str
    """``temp``, ``io`` or ``state``."""
    dtype: str
    """Element type as stored (the device's, where a device pass set one)."""
    shape: tuple[int, ...]
    nbytes: int
    """Bytes as the report counts them (a state's quantisation overhead, an input's device copy)."""
    producer: str | None
    """Friendly name of the node that writes the buffer first."""
    producer_op: str | None
    last_user: str | None
    """Friendly name of the last node to read it (the fused kernel that reads it, if fused)."""
    last_user_op: str | None
    start: int
    """First step the buffer is live (pinned buffers: 0)."""
    end: int
    """Last step the buffer is live (pinned buffers: the last step)."""
    layer: str
    """The layer of its producer (:mod:`ovmem._layers`)."""
    members: int = 1
    """Values sharing the buffer (views and in-place results)."""

    @property
    def type_text(self) -> str:
        """``f32[1,1024,1408]``."""
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"


@attrs.frozen
class TensorGroup:
    """The live buffers of one category at the peak: all counted, the largest listed."""

    category: str
    label: str
    nbytes: int
    count: int
    tensors: tuple[LiveTensor, ...]
    """The largest ``top``, largest first."""


@attrs.frozen
class LayerUsage:
    """Weights and temporaries of one layer (friendly-name prefix)."""

    layer: str
    weights_bytes: int
    """Its constants as the report counts them, with the device's copies."""
    temp_at_peak_bytes: int
    """Bytes of the temporaries it made that are live at the model's peak step."""
    temp_peak_bytes: int
    """The most temporary bytes (of any layer) live at one of its steps."""
    temp_peak_step: int | None
    first_step: int
    last_step: int


@attrs.frozen
class PeakExplanation:
    """The peak of a report, explained (:func:`explain_peak`)."""

    model: str
    steps: int
    """Nodes in the execution order."""
    step: int | None
    """The peak step (``None``: no temporaries at all)."""
    op_type: str | None
    name: str | None
    layer: str | None
    arena_bytes: int
    """The allocator's arena (the report's ``temp_peak_bytes``), at least the live bytes."""
    allocator: str
    groups: tuple[TensorGroup, ...]
    """Temporaries, inputs + outputs, KV cache: in that order."""
    resident: dict[str, int] = attrs.field(factory=dict)
    """What else is held at every step: ``weights``, ``scratch``, ``runtime`` bytes."""
    layers: tuple[LayerUsage, ...] = ()

    def group(self, category: str) -> TensorGroup:
        """The group of ``temp``, ``io`` or ``state`` buffers."""
        return next(g for g in self.groups if g.category == category)

    @property
    def live_temp_bytes(self) -> int:
        """Temporary bytes live at the peak step: the arena's lower bound (unaligned)."""
        return self.group("temp").nbytes

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (bytes), as ``ovmem analyze --json`` prints it under ``explain``."""
        return attrs.asdict(self)  # tuples become lists


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _node_text(op: str | None, name: str | None) -> str:
    return f"{op} {name!r}" if op else "-"


def _last_reader(values: tuple[Value, ...]) -> Node | None:
    reads = [(step, use.node) for v in values for use in v.uses() if (step := run_step(use.node)) is not None]
    if not reads:
        return None
    _, node = max(reads, key=lambda r: r[0])
    return KERNEL.get(node, node)  # a fused node reads when its kernel runs: name the kernel


def _buffer_tensor(buffer: Buffer, names: LayerNames, nbytes: int) -> LiveTensor:
    sized = max(buffer.members, key=lambda v: stored_nbytes(v) or 0)
    stored = STORED_TYPE.get(sized, sized.type)
    producer, last = buffer.root.producer, _last_reader(buffer.members)
    return LiveTensor(
        name=buffer.root.name, category=str(buffer.category), dtype=stored.dtype, shape=tuple(stored.shape),
        nbytes=nbytes, producer=producer.name if producer else None, producer_op=producer.op_type if producer else None,
        last_user=last.name if last else None, last_user_op=last.op_type if last else None,
        start=buffer.lifetime.start, end=buffer.lifetime.end, layer=names.of_value(buffer.root), members=len(buffer.members),
    )  # fmt: skip


def _state_tensors(graph: Graph, names: LayerNames) -> list[LiveTensor]:
    last = max(len(graph.nodes) - 1, 0)
    out = []
    for state in graph.states:
        written = state.assign.inputs[0].producer if state.assign is not None else None
        maker = written or state.read
        out.append(LiveTensor(
            name=state.variable_id, category="state", dtype=STATE_PRECISION.get(state, state.type.dtype),
            shape=tuple(state.type.shape), nbytes=STATE_BYTES.get(state, state.type.nbytes or 0),
            producer=maker.name, producer_op=maker.op_type,
            last_user=state.assign.name if state.assign is not None else None,
            last_user_op=state.assign.op_type if state.assign is not None else None,
            start=0, end=last, layer=names.of_node(maker),
        ))  # fmt: skip
    return out


def _group(category: str, tensors: list[LiveTensor], top: int) -> TensorGroup:
    tensors = sorted(tensors, key=lambda t: (-t.nbytes, t.start, t.name))
    return TensorGroup(category, GROUP_LABELS[category], sum(t.nbytes for t in tensors), len(tensors), tuple(tensors[:top]))


def _graph(report: MemoryReport) -> Graph:
    if report.graph is None:
        raise ValueError("the report carries no graph: make it with ovmem.analyze or ovmem.report.plan_memory")
    return report.graph


def live_by_step(graph: Graph) -> list[int]:
    """Temporary bytes live at each step of ``graph`` (unaligned: the tensors' own sizes)."""
    requests, _ = temp_requests(graph)
    live = [0] * len(graph.nodes)
    changes = live_profile(requests)
    for i, (step, total) in enumerate(changes):
        stop = changes[i + 1][0] if i + 1 < len(changes) else len(live)
        live[step:stop] = [total] * max(0, min(stop, len(live)) - step)
    return live


def peak_part(report: Any) -> MemoryReport:
    """The report to explain or plot: ``report`` itself, or for a pipeline
    (:class:`~ovmem.vlm.pipeline.PipelineReport`) the run of the sub-model with the largest working
    memory, named ``MODEL ROLE (PHASE)``."""
    if isinstance(report, MemoryReport):
        return report
    runs = [r for r in report.runs if r.phase != "loaded"] or list(report.runs)
    if not runs:
        raise ValueError("the pipeline ran no sub-model")
    run = max(runs, key=lambda r: r.working_bytes)
    return attrs.evolve(run.report, model=f"{report.model} {run.role} ({run.phase})")


def explain_peak(report: MemoryReport, top: int = 5, *, layers: bool = True) -> PeakExplanation:
    """The peak step of ``report`` and what is live there; ``top`` tensors listed per category.

    Raises:
        ValueError: the report was built without its graph.
    """
    graph = _graph(report)
    names = LayerNames(graph)
    step = report.peak.step if report.peak else None
    temps, pinned_io = [], []
    for buffer in BUFFERS.get(graph, ()):
        if buffer.category is Category.TEMP and buffer.nbytes and step is not None:
            if buffer.lifetime.start <= step <= buffer.lifetime.end:
                temps.append(_buffer_tensor(buffer, names, buffer.nbytes))
        elif buffer.category is Category.IO:
            nbytes = (buffer.nbytes or 0) + sum(copy_bytes(v) for v in buffer.members)
            pinned_io.append(_buffer_tensor(buffer, names, nbytes))
    node = graph.nodes[step] if step is not None else None
    return PeakExplanation(
        model=report.model, steps=len(graph.nodes), step=step,
        op_type=node.op_type if node else None, name=node.name if node else None,
        layer=names.of_node(node) if node else None,
        arena_bytes=report.temp_peak_bytes, allocator=report.allocator,
        groups=(_group("temp", temps, top), _group("io", pinned_io, top), _group("state", _state_tensors(graph, names), top)),
        resident={"weights": report.weights_bytes, "scratch": report.scratch_bytes, "runtime": report.runtime_bytes},
        layers=layer_breakdown(report, names=names) if layers else (),
    )  # fmt: skip


def layer_breakdown(report: MemoryReport, *, names: LayerNames | None = None) -> tuple[LayerUsage, ...]:
    """Weights (with the device's copies) and temporaries of each layer, in execution order, the
    rest under ``other`` last. The weights add up to ``report.weights_bytes``, the temporaries at
    the peak to the bytes live at the peak step."""
    graph = _graph(report)
    names = names or LayerNames(graph)
    weights: dict[str, int] = {}
    for value in graph.values():
        nbytes = WEIGHT_COPY_BYTES.get(value, 0)
        if CATEGORY.get(value, None) is Category.WEIGHT:
            nbytes += RESIDENT_BYTES.get(value, stored_nbytes(value) or 0)
        if nbytes:
            key = names.of_value(value)
            weights[key] = weights.get(key, 0) + nbytes
    at_peak: dict[str, int] = {}
    step = report.peak.step if report.peak else None
    for buffer in BUFFERS.get(graph, ()):
        if buffer.category is Category.TEMP and step is not None and buffer.lifetime.start <= step <= buffer.lifetime.end:
            key = names.of_value(buffer.root)
            at_peak[key] = at_peak.get(key, 0) + (buffer.nbytes or 0)
    live = live_by_step(graph)
    spans: dict[str, list[int]] = {}
    peaks: dict[str, tuple[int, int | None]] = {}
    for node in graph.nodes:
        key = names.of_node(node)
        span = spans.setdefault(key, [node.order, node.order])
        span[1] = node.order
        if run_step(node) is not None and live[node.order] > peaks.get(key, (0, None))[0]:
            peaks[key] = (live[node.order], node.order)
    keys = set(spans) | set(weights)
    usage = []
    for k in sorted(keys, key=_layer_order({k: spans.get(k, [len(live)])[0] for k in keys})):
        peak, peak_step = peaks.get(k, (0, None))
        first, last = spans.get(k, [0, 0])
        usage.append(LayerUsage(k, weights.get(k, 0), at_peak.get(k, 0), peak, peak_step, first, last))
    return tuple(usage)


def _layer_order(first: dict[str, int]):
    """Sort key: each family of layers (``model.layers``, ``visual.blocks``) where it first runs,
    then by index; ``other`` last."""
    family_first: dict[str, int] = {}
    for key, step in first.items():
        family = key.rpartition(".")[0]
        family_first[family] = min(family_first.get(family, step), step)

    def order(key: str) -> tuple:
        if key == OTHER:
            return (1, 0, "", 0)
        family, _, index = key.rpartition(".")
        return (0, family_first[family], family, int(index))

    return order


def _tensor_line(t: LiveTensor) -> str:
    made = _node_text(t.producer_op, t.producer)
    read = _node_text(t.last_user_op, t.last_user)
    if t.category == "state":
        alias = f" (variable {t.name!r})"
    elif t.name.isdigit() or t.name.startswith(f"{t.producer}:") or t.name == t.producer:
        alias = ""  # exporters number tensors; the producer names them better
    else:
        alias = f" (tensor {t.name!r})"
    return f"    {format_bytes(t.nbytes):>10}  {t.type_text:<20} {t.start:>5}..{t.end:<5}  {made} -> {read}{alias}"


def _layer_lines(layers: tuple[LayerUsage, ...]) -> list[str]:
    width = max(29, *(len(u.layer) for u in layers))
    header = f"  {'by layer (friendly-name prefix)':<{width + 2}}  {'weights':>10}  {'temps at the peak':>17}  "
    lines = [header + "most temps live while it runs"]
    for u in layers:
        at = f" (step {u.temp_peak_step})" if u.temp_peak_step is not None else ""
        lines.append(f"    {u.layer:<{width}}  {format_bytes(u.weights_bytes):>10}  {format_bytes(u.temp_at_peak_bytes):>17}  "
                     f"{format_bytes(u.temp_peak_bytes)}{at}")  # fmt: skip
    return lines


def format_explanation(explanation: PeakExplanation, *, verbose: bool = False, named: bool = False) -> str:
    """The text under ``ovmem analyze``'s table: the peak step and its largest live temporaries;
    ``verbose`` (``--explain N``) also lists the pinned buffers and the per-layer table; ``named``
    says which model in the first line."""
    e = explanation
    head = f"explain {e.model}" if named else "explain"
    if e.step is None:
        return f"{head}: no temporary tensors; weights and pinned buffers are the whole run"
    temp = e.group("temp")
    where = f" in {e.layer}" if e.layer and e.layer != OTHER else ""
    lines = [
        f"{head}: the peak is step {e.step} (of 0..{e.steps - 1}){where}: {e.op_type} {e.name!r}",
        (
            f"  {format_bytes(temp.nbytes)} of temporaries live there, {_count(temp.count, 'tensor')} "
            f"(the {e.allocator} arena: {format_bytes(e.arena_bytes)})"
        ),
        f"    {'bytes':>10}  {'type':<20} {'steps':^12}  made by -> last read by",
    ]
    lines += [_tensor_line(t) for t in temp.tensors]
    if temp.count > len(temp.tensors):
        rest = temp.nbytes - sum(t.nbytes for t in temp.tensors)
        lines.append(f"    {format_bytes(rest):>10}  in {temp.count - len(temp.tensors)} more (--explain N lists N)")
    for group in e.groups[1:]:
        if not group.count:
            continue
        held = f"  {group.label}, held for the whole run: {format_bytes(group.nbytes)}, {_count(group.count, 'tensor')}"
        if verbose:
            lines.append(held)
            lines += [_tensor_line(t) for t in group.tensors]
        else:
            big = group.tensors[0]
            lines.append(f"{held}; largest {format_bytes(big.nbytes)} {big.type_text} {big.name!r}")
    if verbose and e.layers:
        lines += _layer_lines(e.layers)
    return "\n".join(lines)
