"""The one-call Python API: ``ovmem.analyze(model, seq_len=N)`` → :class:`~ovmem.report.MemoryReport`."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ovmem._lazy import is_model
from ovmem._lazy import openvino as ov
from ovmem.alloc import parse_allocator
from ovmem.config import INFERENCE_PRECISIONS, RunConfig
from ovmem.devices import get_device
from ovmem.errors import UsageError
from ovmem.genai import lift_genai, runtime_parts
from ovmem.ir import Graph, lift
from ovmem.ir.lift_runtime import lift_runtime
from ovmem.ir.store import cached_lift
from ovmem.passes import Instrument, Pipeline, parse_pipeline
from ovmem.progress import Progress
from ovmem.report import MemoryReport, plan_memory
from ovmem.target import TARGET

__all__ = [
    "DEFAULT_ALLOCATOR", "INFERENCE_PRECISIONS", "SIZES", "analyze", "analyze_graph", "analyze_lifted", "build_pipeline", "lift_model",
    "run_pipeline",
]  # fmt: skip

DEFAULT_ALLOCATOR = "greedy-by-size"
"""The generic device's planner: OpenVINO's own ``ov::MemorySolver``."""


SIZES = ("seq_len", "batch", "past_len", "shapes")
"""The keywords that size a lifted graph (:func:`ovmem.ir.lift`); the others describe the run."""


def lift_model(model: ov.Model | str | os.PathLike[str], config: RunConfig | None = None, **options: Any) -> Graph:
    """The graph to analyse for ``config`` (changed by the :class:`RunConfig` fields among
    ``options``): the model as exported (``lift_from="graph"``), as ``config.device``'s plugin
    compiled it (``runtime``: :func:`~ovmem.ir.lift_runtime.lift_runtime`, with
    :meth:`RunConfig.compile_properties`), or as openvino.genai changes it (``runtime="genai"``:
    :func:`ovmem.genai.lift_genai`). The other ``options`` are the sizes: :data:`SIZES`."""
    sizes = {k: v for k, v in options.items() if k in SIZES}
    config = RunConfig.create(config, **{k: v for k, v in options.items() if k not in SIZES})
    if config.runtime == "genai":
        if config.lift_from != "graph":
            raise UsageError("--runtime genai analyses the exported graph as genai changes it; not with --lift runtime")
        return cached_lift(model, lift_genai, "genai", sizes)
    if config.lift_from == "graph":
        return cached_lift(model, lift, "graph", sizes)
    device = get_device(config.device)
    if device.plugin is None:
        raise UsageError(f"--lift runtime compiles the model, but device {device.name} is not one OpenVINO runs here")
    if config.target.name != "host":
        raise UsageError(f"--lift runtime compiles on this host; not with --target {config.target.name}")
    return lift_runtime(model, device=device.plugin, properties=config.compile_properties(), **sizes)


def analyze(
    model: ov.Model | str | os.PathLike[str],
    *,
    seq_len: int = 1,
    batch: int = 1,
    past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None,
    config: RunConfig | None = None,
    instruments: Sequence[Instrument] = (),
    progress: Progress | None = None,
    **options: Any,
) -> MemoryReport:
    """Lift ``model`` at the given sizes, run the passes, plan the temporaries, report.

    Args:
        model: an ``openvino.Model`` or a path to an IR (``.xml`` or its folder).
        seq_len, batch, past_len, shapes: see :func:`ovmem.ir.lift`.
        config: the run (:class:`~ovmem.config.RunConfig`); ``options`` change its fields:
            ``device`` (``CPU`` by default, ``generic``, ``GPU``), ``target`` (``host``, an ISA
            level such as ``amx`` or ``avx2``, a preset such as ``zen4``), ``runtime`` (``ov``,
            ``genai``), ``inference_precision``, ``threads``, ``kv_cache_precision``, ``new_tokens``,
            ``disable``, ``passes``, ``allocator``, ``lift_from``, ``properties``, ``tokenizer``.
        instruments: run around every pass (timing, printing).
        progress: told what runs, and closed at the end (``ovmem analyze`` shows it on a terminal).
    """
    config = RunConfig.create(config, **options)
    lift = functools.partial(lift_model, model, config)
    return analyze_lifted(lift, _describe(model), config, seq_len=seq_len, batch=batch, past_len=past_len,
                          shapes=shapes, instruments=instruments, progress=progress)  # fmt: skip


def analyze_lifted(
    lift: Callable[..., Graph], what: str, config: RunConfig, *, seq_len: int, batch: int = 1, past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None, instruments: Sequence[Instrument] = (),
    progress: Progress | None = None,
) -> MemoryReport:  # fmt: skip
    """:func:`analyze` of the graphs ``lift(seq_len=…, batch=…, past_len=…, shapes=…)`` gives (``what``
    names the model in the progress line): a step on a cache comes after its prefill (:func:`after_prefill`)."""
    pipeline = build_pipeline(config, instruments=instruments)
    try:
        if progress is not None:
            progress.status(f"lifting {what} at seq_len {seq_len}", force=True)
        graph = lift(seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes)
        report = analyze_graph(graph, pipeline, config, progress=progress)
        if past_len and graph.states and get_device(config.device).name != "generic":
            if progress is not None:
                progress.status(f"the prefill of the {past_len} cached tokens", force=True)
            prefill = analyze_lifted(lift, what, config, seq_len=past_len, batch=batch, shapes=shapes,
                                     instruments=instruments)  # fmt: skip
            report = after_prefill(report, prefill)
        return report
    finally:
        if progress is not None:
            progress.close()  # the status line is gone before the report prints


def after_prefill(step: MemoryReport, prefill: MemoryReport) -> MemoryReport:
    """A step on a KV cache of ``past_len`` tokens, run after the prefill that filled it (as ``ovmem
    measure --past-len`` runs it, and as any process that reached that cache did): the request keeps
    what the prefill grew — the device's buffers are grow-only (the CPU plugin's arena, its output
    tensors and kernel scratch, ``docs/cpu-plugin-notes.md`` sections 3 and 4) — so each part is the
    larger of the two runs', the cache the step's, and the peak the prefill reached is in it."""
    scratch = {k: max(step.scratch.get(k, 0), prefill.scratch.get(k, 0)) for k in {**step.scratch, **prefill.scratch}}
    return attrs.evolve(
        step,
        weights_bytes=max(step.weights_bytes, prefill.weights_bytes),
        io_bytes=max(step.io_bytes, prefill.io_bytes),
        temp_peak_bytes=max(step.temp_peak_bytes, prefill.temp_peak_bytes),
        temp_lower_bound_bytes=max(step.temp_lower_bound_bytes, prefill.temp_lower_bound_bytes),
        scratch=scratch,
        scratch_bytes=sum(scratch.values()),
        warnings=(*step.warnings, f"past_len {step.past_len}: after the prefill that filled the cache, whose grow-only "
                  "buffers the request keeps (each part the larger of the two runs')"),
    )


def analyze_graph(
    graph: Graph, pipeline: Pipeline, config: RunConfig | None = None, *, progress: Progress | None = None
) -> MemoryReport:
    """The second half of :func:`analyze`: run ``pipeline`` on a lifted ``graph`` (which it
    annotates in place, its target first) and plan its temporaries with ``config.allocator``
    (default: the device's). The device's runtime (:meth:`~ovmem.devices.Device.runtime_bytes`) is
    added; a ``genai`` graph on a device that counts it adds genai's own parts
    (:func:`ovmem.genai.runtime_parts`, kept in ``graph.meta["genai_runtime"]``)."""
    config = config or RunConfig()
    device = get_device(config.device)
    if progress is not None:
        shown = progress.instrument(len(pipeline.passes))
        pipeline = attrs.evolve(pipeline, instruments=(*pipeline.instruments, shown))
    graph = run_pipeline(graph, pipeline, config)
    allocator = config.allocator
    if allocator is None:
        allocator = device.allocator(graph)
    elif isinstance(allocator, str):
        allocator = parse_allocator(allocator)
    if progress is not None:
        progress.status(f"planning with {allocator}")
    runtime_bytes = device.runtime_bytes(config.cpu, [graph])
    if graph.meta.get("runtime") == "genai" and runtime_bytes:  # a device that counts its runtime's code
        graph.meta["genai_runtime"] = runtime_parts(graph, config.tokenizer)
        runtime_bytes += sum(graph.meta["genai_runtime"].values())
    target = config.cpu if device.targeted else None
    return plan_memory(graph, allocator, passes=str(pipeline), device=device.name, runtime_bytes=runtime_bytes,
                       target=target)  # fmt: skip


def run_pipeline(graph: Graph, pipeline: Pipeline, config: RunConfig) -> Graph:
    """``pipeline`` on ``graph`` (annotated in place) for ``config``'s run: its target goes on the
    graph first (``graph.meta["target"]``), where the passes read it."""
    TARGET.set(graph, config.cpu)
    return pipeline(graph).graph


def build_pipeline(config: RunConfig | None = None, *, instruments: Sequence[Instrument] = ()) -> Pipeline:
    """The pipeline :func:`analyze` runs for ``config``: its ``passes`` (default: the device's for
    its ``lift_from``) with ``instruments``, the run's options applied to the passes they change:

    * ``kv_cache_precision`` and ``new_tokens``: the ``states`` pass's ``precision`` and ``new_tokens``
      (``new_tokens`` also ``cpu-runtime``'s: each decode step looks up one more embedding row);
      ``runtime="genai"`` switches it to openvino.genai's paged KV cache (``layout=paged``; the graph it
      runs on is genai's, :func:`ovmem.genai.lift_genai`);
    * ``inference_precision``: ``cpu-runtime``'s ``precision``; ``fuse`` follows it where its MLP rule
      is ``auto`` (the rule runs before ``cpu-runtime``), as the target fuses at that precision;
    * ``threads``: ``cpu-scratch``'s inference threads;
    * ``runtime="genai"``: ``placement`` without optimum-intel's copy of the logits (its rule 4);
    * ``disable``: passes dropped or rules switched off (:func:`ovmem.passes.disable`).

    The target itself is not a pass option: the passes read it from the graph (``graph.meta["target"]``).
    """
    from ovmem.passes import CpuRuntime, CpuScratch, Placement, States
    from ovmem.passes import disable as disable_passes
    from ovmem.passes.fuse import Fuse

    config = config or RunConfig()
    passes = config.passes
    if passes is None:
        passes = get_device(config.device).pipeline_for(config.lift_from)
    if isinstance(passes, str):
        pipeline = parse_pipeline(passes, instruments=instruments)
    elif isinstance(passes, Pipeline):
        pipeline = Pipeline(passes.passes, instruments=tuple(passes.instruments) + tuple(instruments))
    else:
        pipeline = Pipeline(passes, instruments=instruments)
    states: dict[str, Any] = {}
    if config.new_tokens is not None:
        states["new_tokens"] = config.new_tokens
    if config.kv_cache_precision:
        states["precision"] = config.kv_cache_precision
    if config.runtime == "genai":
        states["layout"] = "paged"
    changed = []
    for p in pipeline.passes:
        if isinstance(p, States) and states:
            p = attrs.evolve(p, **states)
        elif isinstance(p, CpuRuntime) and (config.inference_precision or config.new_tokens):
            p = attrs.evolve(p, precision=config.inference_precision or p.precision, new_tokens=config.new_tokens or 0)
        elif isinstance(p, Fuse) and p.mlp == "auto" and config.inference_precision:
            p = attrs.evolve(p, mlp="on" if config.target.fuses_mlp(config.inference_precision) else "off")
        elif isinstance(p, CpuScratch) and config.threads:
            p = attrs.evolve(p, threads=config.threads)
        elif isinstance(p, Placement) and config.runtime == "genai":
            p = attrs.evolve(p, client_copies=())  # genai reads the last token's logits in place
        changed.append(p)
    return disable_passes(attrs.evolve(pipeline, passes=changed), list(config.disable))


def _describe(model: object) -> str:
    return model.get_friendly_name() if is_model(model) else str(model)
