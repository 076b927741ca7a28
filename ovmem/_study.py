"""One model (or VLM pipeline) analysed at many lengths, everything else fixed: what sweeps and
budget searches share.

:class:`LengthStudy` answers ``report(n)`` for a length ``n``. It reads the model once, builds the
pass pipeline once, and — where the graph allows — lifts with OpenVINO only a few times: after
:meth:`LengthStudy.fit` it instantiates the graph at other lengths from a
:class:`~ovmem.ir.template.ShapeTemplate` (every shape affine in the length, checked against a third
real lift). Every report is a full analysis of a graph equal to the one ``lift`` builds, so it
equals :func:`ovmem.analyze` at that length.

Kinds (the ``kind`` argument):

* ``model`` — one IR (or an ``openvino.Model``); the length is ``seq_len``.
* ``llm`` — what ``ovmem llm`` analyses: a text export's model (as ``model``), or a VLM export's
  text embeddings and language model for a text-only prompt of ``n`` tokens.
* ``vlm`` — what ``ovmem vlm`` analyses: the pipeline for one image (``image`` or
  ``vision_sequence``) and a prompt of ``n`` text tokens (``prompt_tokens``; 0 allowed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ovmem._lazy import is_model
from ovmem._lazy import openvino as ov
from ovmem.api import SIZES, analyze, analyze_graph, build_pipeline
from ovmem.config import RunConfig
from ovmem.errors import UsageError
from ovmem.ir import Graph, lift
from ovmem.ir.lift import _display_name, read_model, resolve_model_path
from ovmem.ir.template import ShapeTemplate, TemplateMismatch
from ovmem.report import MemoryReport
from ovmem.vlm.pipeline import PipelineReport

__all__ = ["KINDS", "LengthStudy", "ModelSource", "Report", "check_options", "part_labels", "parts"]

logger = logging.getLogger(__name__)

Report = MemoryReport | PipelineReport
"""What one length's analysis is: a model's report, or a VLM pipeline's."""

KINDS = ("model", "llm", "vlm")

VLM_OPTIONS = frozenset({"device", "target", "threads", "allocator", "shapes", "runtime", "tokenizer"})
"""What a pipeline kind takes of :func:`ovmem.analyze`'s options (as ``ovmem llm`` / ``vlm`` do)."""

_LABELS = {
    "weights": "weights",
    "states": "KV cache",
    "io": "in + out",
    "temp": "temp peak",
    "scratch": "scratch",
    "runtime": "runtime",
}


def parts(report: Report) -> dict[str, int]:
    """A report's total by part, in bytes; the values add up to ``report.total_bytes``.

    A model: ``weights``, ``states`` (KV cache), ``io``, ``temp`` (peak temporary), ``scratch``,
    ``runtime``. A pipeline: ``weights`` (every part's), ``runtime``, then what each sub-model
    keeps, by its role (``vision_embeddings``, ``text_embeddings``, ``language``, ...).
    """
    if isinstance(report, MemoryReport):
        return {
            "weights": report.weights_bytes,
            "states": report.state_bytes,
            "io": report.io_bytes,
            "temp": report.temp_peak_bytes,
            "scratch": report.scratch_bytes,
            "runtime": report.runtime_bytes,
        }
    return {"weights": report.weights(), "runtime": report.runtime_bytes, **report.held()}


def part_labels(names: Sequence[str]) -> dict[str, str]:
    """How tables title the parts of :func:`parts`."""
    return {name: _LABELS.get(name, name.replace("_", " ")) for name in names}


class ModelSource:
    """A model read once and lifted at any sizes, each graph as :func:`~ovmem.ir.lift.lift` of the
    original path or model builds it."""

    def __init__(self, model: ov.Model | str | os.PathLike[str]) -> None:
        self.path = None if is_model(model) else resolve_model_path(model)
        self.model = model if is_model(model) else read_model(self.path)
        self.name = self.name_of(self.path or self.model)

    @staticmethod
    def name_of(model: ov.Model | str | os.PathLike[str]) -> str:
        """The graph name ``lift`` gives ``model``."""
        if is_model(model):
            return model.get_friendly_name() or "model"
        return _display_name(resolve_model_path(model))

    def lift(self, runtime: str = "ov", **sizes: Any) -> Graph:
        """:func:`~ovmem.ir.lift.lift` at ``sizes`` (``seq_len``, ``batch``, ``past_len``, ``shapes``); with
        ``runtime="genai"``, :func:`ovmem.genai.lift_genai`."""
        if runtime == "genai":
            from ovmem.genai import lift_genai

            graph = lift_genai(self.model, **sizes)
        else:
            graph = lift(self.model, **sizes)
        if self.path is not None:  # as lift(path) names it
            graph.name = self.name
            graph.meta["source"] = str(self.path)
        return graph


class LengthStudy:
    """Analyses one model at any length ``n`` with every other option fixed (module doc)."""

    def __init__(
        self,
        model: ov.Model | str | os.PathLike[str],
        *,
        kind: str = "model",
        image: tuple[int, int] | None = None,
        vision_sequence: int | None = None,
        reuse_shapes: bool = True,
        name: str | None = None,
        keep_graphs: bool = True,
        **options: Any,
    ) -> None:
        """``keep_graphs=False``: reports from the shape template drop their graph and plan (a
        search keeps only their totals; a real-width graph takes a few MiB)."""
        if kind not in KINDS:
            raise UsageError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if "seq_len" in options:
            raise UsageError("the length varies: give the lengths, not seq_len")
        check_options(options)
        self.kind = kind
        self.options = options
        self.config = RunConfig.create(**{k: v for k, v in options.items() if k not in SIZES})
        self.reuse_shapes = reuse_shapes
        self.keep_graphs = keep_graphs
        self.variable = "prompt_tokens" if kind == "vlm" else "seq_len"
        self.lowest = 0 if kind == "vlm" else 1
        self.template: ShapeTemplate | None = None
        self.template_range: tuple[int, int] | None = None
        self.notes: list[str] = []
        self.lifts = 0
        self.instantiated = 0
        self._lifted: dict[int, Graph] = {}
        self._cache: dict[tuple[int, bool], tuple[Report, str]] = {}
        self._pipeline_args: dict[str, Any] | None = None
        self._source: ModelSource | None = None
        self._runtime = False
        if kind == "model" or kind == "llm" and not self._is_vlm(model):
            if kind == "llm":  # a text export: its one model
                from ovmem.vlm import detect_layout

                model = detect_layout(model).parts[0].xml
            self._init_model(model, name)
        else:
            self._init_pipeline(model, kind, image, vision_sequence, name)

    @staticmethod
    def _is_vlm(model: Any) -> bool:
        if is_model(model):
            return False
        from ovmem.vlm import detect_layout

        return detect_layout(model).is_vlm

    def _init_model(self, model: Any, name: str | None) -> None:
        # a runtime lift compiles each length, and genai changes the model before lifting: no template
        self._runtime = self.config.lift_from == "runtime" or self.config.runtime == "genai"
        self._path = model
        if not self._runtime:  # a runtime lift compiles each length: nothing to reuse
            self._source = ModelSource(model)
        self.name = name or (self._source.name if self._source else ModelSource.name_of(model))
        self._pipeline = build_pipeline(self.config)
        self._lift_args = {k: self.options[k] for k in SIZES if k in self.options}

    def _init_pipeline(self, model: Any, kind: str, image: Any, vision_sequence: Any, name: str | None) -> None:
        extra = sorted(set(self.options) - VLM_OPTIONS)
        if extra:
            raise UsageError(f"a {kind} pipeline takes {', '.join(sorted(VLM_OPTIONS))}, not {', '.join(extra)}")
        if kind == "llm":
            if image is not None or vision_sequence is not None or self.options.get("shapes"):
                raise UsageError("llm: a text-only prompt takes no image, vision sequence or shapes")
            self._pipeline_args = {"stages": ("embeddings", "language")}
        else:
            self._pipeline_args = {"vision_sequence": vision_sequence, "image": image}
        self._path = model
        self.name = name or Path(model).resolve().name

    @property
    def can_reuse_shapes(self) -> bool:
        """Whether lengths may come from a shape template (a single graph lifted as exported)."""
        return self.reuse_shapes and self._pipeline_args is None and not self._runtime

    def _lift(self, n: int) -> Graph:
        self.lifts += 1
        return self._source.lift(seq_len=n, **self._lift_args)

    def fit(self, low: int, high: int, check: int) -> bool:
        """Lift at ``low``, ``high`` and ``check`` and fit a shape template on the first two,
        checked on the third; the three graphs serve their own lengths. False (with a note) when the
        shapes are not affine in the length: every length is then lifted."""
        if not self.can_reuse_shapes:
            return False
        graphs = {n: self._lifted.get(n) or self._lift(n) for n in (low, high, check)}
        try:
            template = ShapeTemplate(graphs[low], graphs[high])
            template.check(graphs[check])
        except TemplateMismatch as exc:
            self.notes.append(f"shapes are not affine in the length ({exc}): every length lifted by OpenVINO")
            logger.info("no shape template: %s", exc)
            self.reuse_shapes = False
            self._lifted.update(graphs)
            return False
        self.template, self.template_range = template, (min(low, high, check), max(low, high, check))
        self._lifted.update(graphs)
        return True

    def distrust(self, reason: str) -> None:
        """Stop using the shape template (a real analysis disagreed with it)."""
        self.notes.append(f"the shape template disagreed with OpenVINO ({reason}): every length lifted by OpenVINO")
        self.template, self.reuse_shapes = None, False
        self._cache = {k: v for k, v in self._cache.items() if v[1] != "shapes"}

    def report(self, n: int, *, exact: bool = False, extrapolate: bool = False) -> tuple[Report, str]:
        """The analysis at length ``n`` and how its graph was obtained: ``lift`` (OpenVINO),
        ``shapes`` (the shape template), ``runtime`` (compiled) or ``pipeline`` (a VLM export).

        ``exact`` forbids the template; without ``extrapolate`` it is used only between the lengths
        it was fitted and checked on."""
        if n < self.lowest:
            raise UsageError(f"{self.variable.replace('_', '-')} must be >= {self.lowest}, got {n}")
        for key in ((n, True), (n, False)) if not exact else ((n, True),):
            if key in self._cache:
                return self._cache[key]
        result = self._analyze(n, exact, extrapolate)
        if result[1] == "shapes" and not self.keep_graphs:
            result = (attrs.evolve(result[0], graph=None, plan=None), result[1])
        self._cache[(n, result[1] != "shapes")] = result
        return result

    def _analyze(self, n: int, exact: bool, extrapolate: bool) -> tuple[Report, str]:
        if self._pipeline_args is not None:
            from ovmem.vlm import analyze_pipeline

            return analyze_pipeline(self._path, prompt_tokens=n, **self._pipeline_args, **self.options), "pipeline"
        if self._runtime:
            report = analyze(self._path, seq_len=n, **self.options)
            return _named(report, self.name), "runtime"
        graph, method = self._lifted.pop(n, None), "lift"
        if graph is None and not exact and self.template is not None:
            low, high = self.template_range or (n, n)
            if extrapolate or low <= n <= high:
                try:
                    graph, method = self.template.instantiate(n), "shapes"
                    self.instantiated += 1
                except TemplateMismatch as exc:
                    logger.info("template at %d: %s", n, exc)
        if graph is None:
            graph = self._lift(n)
        return _named(analyze_graph(graph, self._pipeline, self.config), self.name), method


def _named(report: MemoryReport, name: str) -> MemoryReport:
    return report if report.model == name else attrs.evolve(report, model=name)


def check_options(options: Mapping[str, Any]) -> None:
    """Reject options :func:`ovmem.analyze` does not take, with one line."""
    known = {f.name for f in attrs.fields(RunConfig)} | set(SIZES) - {"seq_len"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"unknown option(s) {', '.join(unknown)}; analyze takes {', '.join(sorted(known))}")
