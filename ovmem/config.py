"""The run an analysis describes, in one frozen object: :class:`RunConfig`.

``ovmem.analyze(model, seq_len=N, device=..., target=..., ...)`` builds one from its keywords
(:meth:`RunConfig.create`); the sweeps, budgets, what-ifs and the VLM pipeline pass it along
unchanged, and the analysis stores its target on the graph (``graph.meta["target"]``) where the
passes read it. The sizes (``seq_len``, ``batch``, ``past_len``, ``shapes``) are the other half of a
run: :class:`ovmem.ir.specialize.Specialization`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ovmem.errors import UsageError
from ovmem.genai import check_runtime, check_tokenizer
from ovmem.target import Target, get_target

__all__ = ["DEFAULT_DEVICE", "INFERENCE_PRECISIONS", "RunConfig"]

DEFAULT_DEVICE = "CPU"
"""What every command and :func:`ovmem.analyze` model by default: the validated CPU plugin."""

INFERENCE_PRECISIONS = ("bf16", "f16", "f32")
"""What ``inference_precision`` (``--inference-precision``) takes: the CPU plugin's activation types."""



def _target(value: str | Target) -> Target:
    return value if isinstance(value, Target) else get_target(value)


def _properties(value: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((str(k), v) for k, v in (value or {}).items()))


def _count(name: str, value: object, low: int) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
        raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")


@attrs.frozen
class RunConfig:
    """How a model runs: on which device and CPU, under which runtime, with which overrides.

    ``None`` means "what the device and target do by default"."""

    device: str = DEFAULT_DEVICE
    """``CPU`` (the OpenVINO CPU plugin, validated), ``GPU`` (modelled) or ``generic`` (the graph as
    exported); :data:`ovmem.devices.DEVICES`."""
    target: Target = attrs.field(default="host", converter=_target)
    """The CPU that runs the model (``--target``): ``host``, an ISA level or a preset
    (:mod:`ovmem.target`). Read by the CPU device's rules."""
    runtime: str = "ov"
    """Who runs the model: ``ov`` (the compiled model as optimum-intel runs it) or ``genai``
    (openvino.genai's pipelines; :data:`ovmem.genai.RUNTIMES`)."""
    inference_precision: str | None = None
    """The CPU plugin's activation type (default: the target's)."""
    threads: int | None = None
    """Inference threads (default: the target's)."""
    kv_cache_precision: str | None = None
    """The KV cache's element type (default: the model's rt_info, else the device's)."""
    new_tokens: int | None = None
    """Tokens generated after this run (the KV cache holds them)."""
    disable: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    """Passes or rules switched off (``fuse``, ``inplace.view``)."""
    passes: Any = None
    """A pipeline string, a list of passes or a :class:`~ovmem.passes.Pipeline` (default: the device's)."""
    allocator: Any = None
    """A planner name (``name{option=value}``) or an :class:`~ovmem.alloc.Allocator` (default: the device's)."""
    lift_from: str = "graph"
    """``graph`` (the model as exported, fusions emulated) or ``runtime`` (the plugin's compiled graph)."""
    properties: tuple[tuple[str, Any], ...] = attrs.field(default=(), converter=_properties)
    """``compile_model`` properties of a runtime lift."""
    tokenizer: str | None = attrs.field(default=None, converter=lambda v: None if v is None else str(v))
    """``runtime="genai"``: the folder of the tokenizer models genai loads (default: the model's)."""

    def __attrs_post_init__(self) -> None:
        from ovmem.devices import get_device
        from ovmem.passes.states import KV_PRECISIONS

        get_device(self.device)
        check_runtime(self.runtime)
        check_tokenizer(self.tokenizer)
        if self.lift_from not in ("graph", "runtime"):
            raise UsageError(f"lift must be 'graph' or 'runtime', got {self.lift_from!r}")
        if self.kv_cache_precision is not None and self.kv_cache_precision not in KV_PRECISIONS:
            raise UsageError(f"KV-cache precision must be one of {', '.join(KV_PRECISIONS)}, got {self.kv_cache_precision!r}")
        if self.inference_precision is not None and self.inference_precision not in INFERENCE_PRECISIONS:
            choices = ", ".join(INFERENCE_PRECISIONS)
            raise UsageError(f"inference precision must be one of {choices}, got {self.inference_precision!r}")
        _count("new tokens", self.new_tokens, 0)
        _count("threads", self.threads, 1)

    @classmethod
    def create(cls, config: RunConfig | None = None, **options: Any) -> RunConfig:
        """``config`` (default: all defaults) with ``options`` (its field names) changed; an unknown
        keyword is a one-line :class:`~ovmem.errors.UsageError`."""
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"unknown option(s) {', '.join(unknown)}; a run takes {', '.join(sorted(known))}")
        return attrs.evolve(config, **options) if config is not None else cls(**options)

    @property
    def cpu(self) -> Target:
        """The target as it runs this model: with ``threads`` where given."""
        return self.target.with_threads(self.threads)

    @property
    def precision(self) -> str:
        """The inference precision the CPU plugin runs at: the override, else the target's default."""
        return self.inference_precision or self.target.precision

    def compile_properties(self) -> dict[str, Any]:
        """``compile_model`` properties of a runtime lift: the overrides the plugin must apply itself,
        then :attr:`properties`."""
        derived: dict[str, Any] = {"INFERENCE_PRECISION_HINT": self.inference_precision} if self.inference_precision else {}
        if self.threads:
            derived["INFERENCE_NUM_THREADS"] = str(self.threads)
        return derived | dict(self.properties)
