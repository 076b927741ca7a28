"""The one-call Python API: ``ovmem.analyze(model, seq_len=N)`` → :class:`~ovmem.report.MemoryReport`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import openvino as ov

from ovmem.alloc import Allocator, parse_allocator
from ovmem.devices import get_device
from ovmem.errors import UsageError
from ovmem.genai import check_runtime, check_tokenizer, lift_genai, runtime_parts
from ovmem.ir import Graph, lift
from ovmem.ir.lift_runtime import lift_runtime
from ovmem.passes import Instrument, Pass, Pipeline, parse_pipeline
from ovmem.progress import Progress
from ovmem.report import MemoryReport, plan_memory

__all__ = [
    "DEFAULT_ALLOCATOR", "INFERENCE_PRECISIONS", "PIPELINE_OPTIONS", "analyze", "analyze_graph", "build_pipeline", "configure_pipeline",
    "lift_model", "runtime_properties",
]

DEFAULT_ALLOCATOR = "greedy-by-size"
"""The generic device's planner: OpenVINO's own ``ov::MemorySolver``."""

INFERENCE_PRECISIONS = ("bf16", "f16", "f32")
"""What ``inference_precision`` (``--inference-precision``) takes: the CPU plugin's activation types."""

PIPELINE_OPTIONS = (
    "passes", "instruments", "kv_cache_precision", "new_tokens", "inference_precision", "threads", "disable", "runtime"
)
""":func:`analyze`'s keywords that make the pass pipeline (:func:`build_pipeline` takes them)."""


def lift_model(
    model: ov.Model | str | os.PathLike[str],
    *,
    lift_from: Literal["graph", "runtime"] = "graph",
    device: str = "generic",
    properties: Mapping[str, Any] | None = None,
    runtime: str = "ov",
    **sizes: Any,
) -> Graph:
    """The graph to analyse: the model as exported (``graph``), or as ``device``'s plugin compiled
    it (``runtime``: :func:`~ovmem.ir.lift_runtime.lift_runtime`, with ``properties`` for
    ``compile_model``). ``sizes``: ``seq_len``, ``batch``, ``past_len``, ``shapes``.
    ``runtime="genai"`` lifts the model as openvino.genai changes it (:func:`ovmem.genai.lift_genai`)."""
    if check_runtime(runtime) == "genai":
        if lift_from != "graph":
            raise UsageError("--runtime genai analyses the exported graph as genai changes it; not with --lift runtime")
        return lift_genai(model, **sizes)
    if lift_from == "graph":
        return lift(model, **sizes)
    if lift_from != "runtime":
        raise UsageError(f"lift must be 'graph' or 'runtime', got {lift_from!r}")
    target = get_device(device)
    if target.plugin is None:
        raise UsageError(f"--lift runtime compiles the model, but device {target.name} is not one OpenVINO runs here")
    return lift_runtime(model, device=target.plugin, properties=properties, **sizes)


def analyze(
    model: ov.Model | str | os.PathLike[str],
    *,
    seq_len: int = 1,
    batch: int = 1,
    past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None,
    device: str = "generic",
    passes: str | Sequence[Pass] | Pipeline | None = None,
    allocator: str | Allocator | None = None,
    instruments: Sequence[Instrument] = (),
    lift_from: Literal["graph", "runtime"] = "graph",
    properties: Mapping[str, Any] | None = None,
    kv_cache_precision: str | None = None,
    new_tokens: int | None = None,
    inference_precision: str | None = None,
    threads: int | None = None,
    disable: Sequence[str] = (),
    runtime: str = "ov",
    tokenizer: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> MemoryReport:
    """Lift ``model`` at the given sizes, run the passes, plan the temporaries, report.

    Args:
        model: an ``openvino.Model`` or a path to an IR (``.xml`` or its folder).
        seq_len, batch, past_len, shapes: see :func:`ovmem.ir.lift`.
        device: what to model (:data:`ovmem.devices.DEVICES`): ``generic`` (the graph as exported)
            or ``CPU`` (the OpenVINO CPU plugin); it chooses the default passes and allocator.
        passes: a pipeline string, a list of passes, or a :class:`Pipeline` (default: the device's).
        allocator: an allocator (``name`` or ``name{option=value}``, see
            :func:`ovmem.alloc.available_allocators`) or an instance (default: the device's).
        instruments: run around every pass (timing, printing).
        lift_from: ``graph`` analyses the model as exported and emulates the plugin's fusions;
            ``runtime`` compiles it on the device and analyses the plugin's own graph
            (:func:`lift_model`; the default passes then skip
            :data:`~ovmem.devices.RUNTIME_DONE_PASSES`).
        properties: ``compile_model`` properties for ``lift_from="runtime"`` (``inference_precision``
            and ``threads`` add theirs).
        kv_cache_precision, new_tokens, inference_precision, threads, disable: change the passes as
            the command's options of the same names do (:func:`configure_pipeline`).
        runtime: ``ov`` (the compiled model as given, as optimum-intel runs it) or ``genai``
            (openvino.genai's LLMPipeline: the graph changed as genai compiles it, the paged KV
            cache, the PagedAttention scratch, genai's library, pipeline and tokenizer; :mod:`ovmem.genai`).
        tokenizer: ``runtime="genai"``: the folder genai reads the tokenizer and detokenizer models
            from (default: the model's folder; none there, none counted).
        progress: told what runs, and closed at the end (``ovmem analyze`` shows it on a terminal).
    """
    check_tokenizer(tokenizer)
    pipeline = build_pipeline(
        device, passes, lift_from=lift_from, instruments=instruments, kv_cache_precision=kv_cache_precision,
        new_tokens=new_tokens, inference_precision=inference_precision, threads=threads, disable=disable,
        runtime=runtime,
    )  # fmt: skip
    try:
        if progress is not None:
            progress.status(f"lifting {_describe(model)} at seq_len {seq_len}", force=True)
        graph = lift_model(
            model, lift_from=lift_from, device=device, seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes,
            properties=runtime_properties(properties, inference_precision, threads), runtime=runtime,
        )  # fmt: skip
        return analyze_graph(graph, pipeline, device=device, allocator=allocator, tokenizer=tokenizer, progress=progress)
    finally:
        if progress is not None:
            progress.close()  # the status line is gone before the report prints


def analyze_graph(
    graph: Graph,
    pipeline: Pipeline,
    *,
    device: str = "generic",
    allocator: str | Allocator | None = None,
    tokenizer: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> MemoryReport:
    """The second half of :func:`analyze`: run ``pipeline`` on a lifted ``graph`` (which it
    annotates in place) and plan its temporaries with ``allocator`` (default: the device's).
    A ``genai`` graph on a device that counts its runtime adds genai's own parts
    (:func:`ovmem.genai.runtime_parts`, kept in ``graph.meta["genai_runtime"]``)."""
    target = get_device(device)
    if progress is not None:
        shown = progress.instrument(len(pipeline.passes))
        pipeline = attrs.evolve(pipeline, instruments=(*pipeline.instruments, shown))
    graph = pipeline(graph).graph
    if allocator is None:
        allocator = target.allocator(graph)
    elif isinstance(allocator, str):
        allocator = parse_allocator(allocator)
    if progress is not None:
        progress.status(f"planning with {allocator}")
    runtime_bytes = target.runtime_bytes
    if graph.meta.get("runtime") == "genai" and runtime_bytes:  # a device that counts its runtime's code
        graph.meta["genai_runtime"] = runtime_parts(graph, tokenizer)
        runtime_bytes += sum(graph.meta["genai_runtime"].values())
    return plan_memory(graph, allocator, passes=str(pipeline), device=target.name, runtime_bytes=runtime_bytes)


def build_pipeline(
    device: str = "generic",
    passes: str | Sequence[Pass] | Pipeline | None = None,
    *,
    lift_from: Literal["graph", "runtime"] = "graph",
    instruments: Sequence[Instrument] = (),
    **options: Any,
) -> Pipeline:
    """The pipeline :func:`analyze` runs: ``passes`` (default: the device's for ``lift_from``) with
    ``instruments``, changed by :func:`configure_pipeline` with ``options`` (its keywords)."""
    if passes is None:
        passes = get_device(device).pipeline_for(lift_from)
    if isinstance(passes, str):
        pipeline = parse_pipeline(passes, instruments=instruments)
    elif isinstance(passes, Pipeline):
        pipeline = Pipeline(passes.passes, instruments=tuple(passes.instruments) + tuple(instruments))
    else:
        pipeline = Pipeline(passes, instruments=instruments)
    return configure_pipeline(pipeline, **options)


def configure_pipeline(
    pipeline: Pipeline,
    *,
    kv_cache_precision: str | None = None,
    new_tokens: int | None = None,
    inference_precision: str | None = None,
    threads: int | None = None,
    disable: Sequence[str] = (),
    runtime: str = "ov",
) -> Pipeline:
    """``pipeline`` with the options the commands take applied to its passes (``None``: unchanged).

    Args:
        kv_cache_precision: the ``states`` pass's ``precision`` (one of
            :data:`~ovmem.passes.states.KV_PRECISIONS`).
        new_tokens: the ``states`` pass's ``new_tokens``: tokens generated after this run.
        inference_precision: ``cpu-runtime``'s precision (``bf16``, ``f16``, ``f32``); ``fuse``
            follows it where its MLP rule is ``auto`` (the rule runs before ``cpu-runtime``).
        threads: ``cpu-scratch``'s inference threads.
        disable: passes to drop or rules to switch off (``"fuse"``, ``"inplace.view"``; :func:`disable`).
        runtime: ``genai`` switches any device's pipeline to openvino.genai's paged KV cache,
            ``states{layout=paged}`` (``ov``: unchanged); the graph it runs on is genai's
            (:func:`ovmem.genai.lift_genai`).
    """
    from ovmem.passes import CpuRuntime, CpuScratch, States
    from ovmem.passes import disable as disable_passes
    from ovmem.passes.fuse import Fuse, host_fuses_mlp
    from ovmem.passes.states import KV_PRECISIONS

    if kv_cache_precision is not None and kv_cache_precision not in KV_PRECISIONS:
        raise UsageError(f"KV-cache precision must be one of {', '.join(KV_PRECISIONS)}, got {kv_cache_precision!r}")
    if inference_precision is not None and inference_precision not in INFERENCE_PRECISIONS:
        choices = ", ".join(INFERENCE_PRECISIONS)
        raise UsageError(f"inference precision must be one of {choices}, got {inference_precision!r}")
    for name, value, low in (("new tokens", new_tokens, 0), ("threads", threads, 1)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")
    states: dict[str, Any] = {}
    if new_tokens is not None:
        states["new_tokens"] = new_tokens
    if kv_cache_precision:
        states["precision"] = kv_cache_precision
    if check_runtime(runtime) == "genai":
        states["layout"] = "paged"
    passes = [attrs.evolve(p, **states) if isinstance(p, States) and states else p for p in pipeline.passes]
    if inference_precision:
        mlp = "on" if host_fuses_mlp(inference_precision) else "off"
        passes = [
            attrs.evolve(p, precision=inference_precision) if isinstance(p, CpuRuntime)
            else attrs.evolve(p, mlp=mlp) if isinstance(p, Fuse) and p.mlp == "auto"
            else p
            for p in passes
        ]  # fmt: skip
    if threads:
        passes = [attrs.evolve(p, threads=threads) if isinstance(p, CpuScratch) else p for p in passes]
    return disable_passes(attrs.evolve(pipeline, passes=passes), list(disable))


def runtime_properties(
    properties: Mapping[str, Any] | None, inference_precision: str | None = None, threads: int | None = None
) -> dict[str, Any]:
    """``compile_model`` properties of a runtime lift: the overrides the plugin must apply itself,
    then ``properties``."""
    derived: dict[str, Any] = {"INFERENCE_PRECISION_HINT": inference_precision} if inference_precision else {}
    if threads:
        derived["INFERENCE_NUM_THREADS"] = str(threads)
    return derived | dict(properties or {})


def _describe(model: object) -> str:
    return model.get_friendly_name() if isinstance(model, ov.Model) else str(model)
