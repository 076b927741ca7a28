"""A vision-language pipeline as optimum-intel and openvino.genai run it: every sub-model compiled
up front (their weights resident together), then for one image and a prompt:

1. **image** — the text embeddings of the prompt, then the vision parts in order, each reading the
   one before (``OVModelForVisualCausalLM.get_multimodal_embeddings`` in
   ``optimum/intel/openvino/modeling_visual_language.py``);
2. **prefill** — the language model over ``image tokens + prompt tokens`` embeddings, filling the
   KV cache;
3. **decode** — one token: its embedding and one language-model step over the cache.

No sub-model gives its memory back to the next: each compiled model's infer request keeps the
buffers of its largest run (its intermediate memory, the inputs it shares, its outputs) for as long
as the pipeline lives, and the pipeline keeps every request. Measured on real-width Qwen2.5-VL,
LLaVA and Gemma 3 exports (``docs/accuracy.md``): the prefill starts where the image phase peaked,
and grows by what the language model alone grows. So the total is every part's weights, the device
runtime, and the sum over sub-models of each one's largest working memory (the language model's
prefill or decode step, whichever is larger). The image tokens the language model receives are the
last vision part's output rows at the planned vision sequence — read off the graph, not a
per-family constant. Parts of any other stage (audio, speech) are compiled too: their weights
count, they do not run for an image and a prompt.

``runtime="genai"`` (openvino.genai's ``VLMPipeline``, ``docs/genai-notes.md`` rule 9): the language
model runs on the PagedAttention path as ``LLMPipeline``'s does, so its prefill and decode are
analysed with ``ovmem.analyze(..., runtime="genai")`` (last-token LM head, no mask chain, paged KV
cache, PA scratch; :mod:`ovmem.genai`), and genai's library, pipeline and tokenizer are added to the runtime once. The vision
parts and the text embeddings are compiled and run as given under both runtimes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ovmem.api import analyze
from ovmem.config import RunConfig
from ovmem.devices import get_device
from ovmem.errors import UsageError
from ovmem.genai import runtime_parts
from ovmem.ir.core import Graph
from ovmem.ir.lift import read_model
from ovmem.report import NOT_VALIDATED, SCHEMA_VERSION, MemoryReport
from ovmem.target import Target
from ovmem.vlm.layout import Part, detect_layout
from ovmem.vlm.vision import VisionPlan, plan_vision

__all__ = ["PartRun", "PipelineReport", "analyze_pipeline", "tie_sample_rows"]


@attrs.frozen
class PartRun:
    """One sub-model analysed at the sizes of the phase it runs in."""

    role: str
    stage: str
    phase: str
    """``image``, ``prefill``, ``decode``, or ``loaded`` (compiled, not run for an image and a prompt)."""
    report: MemoryReport

    @property
    def working_bytes(self) -> int:
        """What the run needs besides weights and the device runtime."""
        r = self.report
        return r.state_bytes + r.io_bytes + r.temp_peak_bytes + r.scratch_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "stage": self.stage, "phase": self.phase, "working_bytes": self.working_bytes,
                "report": self.report.to_dict()}  # fmt: skip


@attrs.frozen
class PipelineReport:
    """Memory of a vision-language pipeline, by sub-model and the phase each runs in."""

    model: str
    model_type: str | None
    device: str
    vision_sequence: int
    images: int
    image_tokens: int
    prompt_tokens: int
    runs: tuple[PartRun, ...]
    runtime_bytes: int
    notes: tuple[str, ...] = ()
    validated: bool = True
    runtime: str = "ov"
    """``ov`` (optimum-intel) or ``genai`` (openvino.genai's VLMPipeline: the language model as genai compiles it)."""
    target: Target | None = None
    """The CPU the analysis is for, where the device's rules read one (CPU)."""
    host_bytes: Mapping[str, int] = attrs.field(factory=dict)
    """Buffers the runtime around the models keeps for images (MiniCPM-V's position table), by name."""

    @property
    def inference_precision(self) -> str:
        """The activations' precision on the device (CPU; the language model's run first), else ``""``."""
        runs = sorted(self.runs, key=lambda r: r.role != "language")
        return next((r.report.inference_precision for r in runs if r.report.inference_precision), "")

    def weights(self, stage: str | None = None) -> int:
        """Weights of every part (of one stage), each part counted once."""
        return sum(r.report.weights_bytes for r in self.runs if r.phase != "decode"
                   and (stage is None or r.stage == stage))  # fmt: skip

    def held(self, stage: str | None = None) -> dict[str, int]:
        """Working memory each sub-model (of one stage) keeps: that of its largest run."""
        held: dict[str, int] = {}
        for r in self.runs:
            if r.phase != "loaded" and (stage is None or r.stage == stage):
                held[r.role] = max(held.get(r.role, 0), r.working_bytes)
        return held

    @property
    def vision_working_bytes(self) -> int:
        """What the vision parts keep, together, with the buffers the runtime keeps for images."""
        return sum(self.held("vision").values()) + sum(self.host_bytes.values())

    @property
    def language_working_bytes(self) -> int:
        """What the language model keeps: its prefill's or its decode step's, whichever is larger."""
        return sum(self.held("language").values())

    @property
    def total_bytes(self) -> int:
        """Every part's weights + the device runtime + what every sub-model keeps + the host buffers."""
        return self.weights() + self.runtime_bytes + sum(self.held().values()) + sum(self.host_bytes.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "model_type": self.model_type,
            "device": self.device,
            "runtime": self.runtime,
            "target": self.target.to_dict() if self.target else None,
            "validated": self.validated,
            "vision_sequence": self.vision_sequence,
            "images": self.images,
            "image_tokens": self.image_tokens,
            "prompt_tokens": self.prompt_tokens,
            "prefill_tokens": self.image_tokens + self.prompt_tokens,
            "weights_bytes": self.weights(),
            "weights_by_stage": {s: self.weights(s) for s in ("vision", "embeddings", "language", "other")},
            "held_bytes": self.held(),
            "runtime_bytes": self.runtime_bytes,
            "host_bytes": dict(self.host_bytes),
            "total_bytes": self.total_bytes,
            "notes": list(self.notes),
            "runs": [r.to_dict() for r in self.runs],
        }


def _largest_table(xml) -> Any:
    """The largest constant of an IR, as OpenVINO maps it (no copy)."""
    constants = [op for op in read_model(xml).get_ordered_ops() if op.get_type_name() == "Constant"]
    return max(constants, key=lambda op: op.get_byte_size()).get_data() if constants else None


def tie_sample_rows(rows: int) -> range:
    """The rows of a table :func:`_tied` compares: about 16, spread over the table — two tables that are not
    one never agree on a whole row, random or trained (``ovmem.remote`` fetches exactly these rows of a remote
    model's tables, one request each)."""
    return range(0, rows, max(1, rows // 16))


def _tied(embeddings: Part, language: Part) -> bool:
    """Whether the language model's largest constant (its head) is the text embeddings' table: the
    same type, shape and values (:func:`tie_sample_rows`)."""
    table, head = _largest_table(embeddings.xml), _largest_table(language.xml)
    if table is None or head is None or table.shape != head.shape or table.dtype != head.dtype or not table.size:
        return False
    rows = tie_sample_rows(len(table))
    return bool((table[rows] == head[rows]).all())


def _tokens(graph: Graph) -> int:
    """Rows a vision part hands on: every dimension of its first output but the last (the width)."""
    shape = graph.outputs[0].type.shape
    return math.prod(shape[:-1]) if len(shape) > 1 else shape[0]


def analyze_pipeline(
    path: str | os.PathLike[str],
    vision_sequence: int | None = None,
    *,
    image: tuple[int, int] | None = None,
    prompt_tokens: int = 0,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    stages: tuple[str, ...] = ("vision", "embeddings", "language", "other"),
    config: RunConfig | None = None,
    **options: Any,
) -> PipelineReport:
    """Analyse an optimum-intel VLM export for one image of ``vision_sequence`` patches (or of the
    ``image`` size ``(width, height)``, as the family's processor would cut it) and a prompt of
    ``prompt_tokens`` text tokens.

    ``shapes`` override vision inputs by name (``{"pixel_values": (1, 3, 448, 448)}``). ``stages``
    limits what runs: ``("vision",)`` is the image encoder alone (``ovmem vit``);
    ``("embeddings", "language")`` a text-only prompt (``ovmem llm`` on a VLM folder).
    ``config`` (changed by ``options``, :class:`~ovmem.config.RunConfig`'s fields) is the run of every
    sub-model; its ``runtime`` (``ov`` or ``genai``: the language model as openvino.genai's
    VLMPipeline compiles it) applies to the language model only, the vision parts are the same under
    both; with ``genai`` genai's own parts are counted once (:func:`ovmem.genai.runtime_parts`;
    ``tokenizer``: the folder of its tokenizer models, default the export's). The device's runtime
    is counted once, for every compiled sub-model's nodes.
    """
    config = RunConfig.create(config, **options)
    layout = detect_layout(path)
    if prompt_tokens < 0:
        raise UsageError(f"--prompt-tokens must be >= 0, got {prompt_tokens}")
    if "language" in stages and not layout.is_vlm:
        raise UsageError(f"{layout.folder}: not a vision-language export (no openvino_language_model.xml)")
    if "vision" in stages:
        if not layout.is_vlm:  # a lone encoder export (openvino_model.xml): the vision part itself
            layout = attrs.evolve(layout, parts=tuple(attrs.evolve(p, role="vision_embeddings", stage="vision") for p in layout.parts))
        if (vision_sequence is None) == (image is None):
            raise UsageError("give the vision sequence or --image WIDTHxHEIGHT (one of them)")
        plan = plan_vision(layout, vision_sequence, dict(shapes or {}), image=image, runtime=config.runtime)
    else:
        plan = VisionPlan(0, 0, {})
    part_config = attrs.evolve(config, runtime="ov", tokenizer=None)
    runs: list[PartRun] = []
    image_tokens = 0
    if "vision" in stages:
        previous: Graph | None = None
        for part in layout.stage("vision"):
            sizes = plan.shapes.get(part.role) or _chained(part, previous)
            report = analyze(part.xml, shapes=sizes, seq_len=plan.sequence, config=part_config)
            runs.append(PartRun(part.role, part.stage, "image", report))
            previous = report.graph
        image_tokens = plan.image_tokens if plan.image_tokens is not None else _tokens(previous)
    tokens = image_tokens + prompt_tokens
    for role, phase, sizes in [
        ("text_embeddings", "image" if "vision" in stages else "prefill", {"seq_len": tokens}),
        ("language", "prefill", {"seq_len": tokens}),
        ("text_embeddings", "decode", {"seq_len": 1}),
        ("language", "decode", {"seq_len": 1, "past_len": tokens}),
    ]:
        part = layout.part(role)
        if part is not None and part.stage in stages:
            if tokens < 1:
                raise UsageError("the language model needs at least one token: give --prompt-tokens")
            run = config if role == "language" else part_config
            runs.append(PartRun(part.role, part.stage, phase, analyze(part.xml, **sizes, config=run)))
    notes = []
    for part in layout.stage("other") if "other" in stages else ():
        runs.append(PartRun(part.role, part.stage, "loaded", analyze(part.xml, seq_len=1, config=part_config)))
        notes.append(f"{part.xml.name}: loaded with the pipeline, not run for an image and a prompt")
    embeddings, language = layout.part("text_embeddings"), layout.part("language")
    if {"embeddings", "language"} <= set(stages) and embeddings and language and _tied(embeddings, language):
        notes.append("the embedding table is stored twice (text embeddings and the language model's head): both "
                     "files are mapped; the head is read whole, the lookups read only their rows on the CPU")  # fmt: skip
    device = get_device(config.device)
    runtime_bytes = device.runtime_bytes(config.cpu, compiled_graphs(runs))
    language_run = next((r for r in runs if r.role == "language"), None)
    if config.runtime == "genai" and runtime_bytes and language_run is not None:  # a device that counts its runtime's code
        runtime_bytes += sum(runtime_parts(language_run.report.graph, config.tokenizer).values())
    if not device.validated:
        notes.insert(0, f"device {device.name}: {NOT_VALIDATED}")
    return PipelineReport(
        model=layout.folder.resolve().name,
        model_type=layout.model_type,
        device=device.name,
        vision_sequence=plan.sequence,
        images=plan.images,
        image_tokens=image_tokens,
        prompt_tokens=prompt_tokens,
        runs=tuple(runs),
        runtime_bytes=runtime_bytes,
        notes=tuple(notes),
        validated=device.validated,
        runtime=config.runtime,
        target=config.cpu if device.targeted else None,
        host_bytes=plan.host_bytes,
    )


def compiled_graphs(runs: Iterable[PartRun]) -> list[Graph]:
    """One graph per compiled sub-model (each is compiled once, whatever it runs): its largest run's."""
    compiled: dict[str, Graph] = {}
    for run in runs:
        graph = run.report.graph
        key = graph.meta.get("source") or run.role
        if key not in compiled or graph.meta.get("seq_len", 1) > compiled[key].meta.get("seq_len", 1):
            compiled[key] = graph
    return list(compiled.values())


def _chained(part: Part, previous: Graph | None) -> dict[str, tuple[int, ...]]:
    """A projector or resampler's first input takes the shape of the previous part's output."""
    if previous is None:
        return {}
    first = read_model(part.xml).inputs[0]
    out = previous.outputs[0].type.shape
    pshape = first.get_partial_shape()
    if pshape.rank.is_static and pshape.rank.get_length() == len(out):
        return {first.get_any_name(): out}
    return {}
