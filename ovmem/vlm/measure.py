"""Measure a vision-language pipeline for real: the ground truth for :func:`ovmem.vlm.analyze_pipeline`.

:func:`measure_pipeline` runs an optimum-intel VLM export the way ``OVModelForVisualCausalLM``
(``optimum/intel/openvino/modeling_visual_language.py``; ``docs/vlm-layouts.md`` section 2) does for
one image and a prompt, in a **fresh Python process**, with the sampler and child protocol of
:mod:`ovmem.measure` (peak ``VmRSS`` above the post-``import openvino`` baseline, ~1 ms samples,
split into ``RssAnon``/``RssFile``):

1. **compile** — every sub-model is read, then all are compiled up front, in optimum's order (the
   language model with its infer request, the text embeddings, the vision parts, any other part).
   The ``ov.Model`` objects, compiled models and infer requests stay alive to the end, as optimum's
   part objects keep them.
2. **image** — the text embeddings of the whole prompt ``[1, L]`` (image tokens + prompt tokens)
   are computed and kept; then the vision parts run in order on synthetic inputs of the shapes
   :func:`ovmem.vlm.vision.plan_vision` plans (pixel values and rotary tables random f32, additive
   attention masks zeros, ``window_index`` a permutation of the merged tokens), a part after the
   first reading the previous part's output where the shapes chain (Qwen2.5-VL's merger takes the
   patch embedding's output); then the image rows and the prompt's embeddings are written into a
   **new** ``[1, L, hidden]`` array (optimum's ``masked_scatter`` makes a new tensor). The text
   embeddings and vision parts are called as optimum calls them, ``compiled_model(inputs)`` (inputs
   shared, every output copied into a new array). ``L`` is known before the encoder runs (the
   processor puts one placeholder per image token in the prompt); here the parent predicts the
   image tokens by OpenVINO's shape inference of the vision parts at the planned shapes, and the
   count the encoder really returns is what is reported and used: if it differs, the prompt's
   embeddings are computed again at the right length (:attr:`PipelineMeasurement.planned_image_tokens`).
3. **prefill** — the language model's state is reset, then one inference over the ``L`` merged
   embeddings: ``attention_mask`` ones ``[1, L]``, ``position_ids`` ``[1, L]`` or, for M-RoPE models,
   ``[3, 1, L]`` (the rank the IR declares), ``token_type_ids`` zeros when the model has that input,
   ``beam_idx`` ``[0]``; ``start_async(share_inputs=True)``, ``wait()``, outputs read in place.
4. **decode** — one token: its text embedding ``[1, 1]``, then one language-model step with
   ``attention_mask`` ``[1, L + 1]`` on top of the filled KV cache.

The peak over the whole run is the measurement; the peak within each phase (and its start) is
recorded too. What the client holds is counted, as in :mod:`ovmem.measure`: the synthetic pixel
values stay referenced to the end (a ``generate()`` caller holds its processor outputs), and the
language model's logits are copied after each step as optimum-intel's forward clones them
(``modeling_visual_language.py``, optimum-intel 2.2.0). What the child does **not** reproduce of
optimum: the Python glue's other temporaries (Qwen2.5-VL's two boolean ``[1, N, N]`` masks while the
merger runs).

The module level stays light (standard library and ``attrs``): the child runs this file by path and
loads :mod:`ovmem.measure` by path too, so it imports nothing of the ``ovmem`` package.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ovmem.measure import Rss

__all__ = ["PartInference", "PhasePeak", "PipelineMeasurement", "format_pipeline_measurement", "measure_pipeline"]

PHASES = ("compile", "image", "prefill", "decode")
"""The windows of a pipeline measurement, in order."""


@attrs.frozen
class PhasePeak:
    """One phase of the run: memory when it started and its peak (bytes above the baseline)."""

    start: Rss
    peak_rss_bytes: int
    seconds: float


@attrs.frozen
class PartInference:
    """One sub-model inference of the run."""

    role: str
    phase: str
    inputs: Mapping[str, tuple[int, ...]]
    output: tuple[int, ...]
    """The shape of its first output."""
    seconds: float


@attrs.frozen
class PipelineMeasurement:
    """One measured pipeline run. Byte counts are above :attr:`baseline` unless named otherwise."""

    model: str
    """The export folder's name."""
    path: str
    model_type: str | None
    device: str
    vision_sequence: int
    """Patches the vision encoder ran over (as planned: whole images for fixed-size encoders)."""
    images: int
    image_tokens: int
    """Rows the last vision part really returned: the image tokens of the prefill."""
    planned_image_tokens: int | None
    """The parent's prediction (shape inference of the vision parts) that sized the prompt's text
    embeddings before the encoder ran; ``None`` if it could not be predicted."""
    prompt_tokens: int
    parts: tuple[str, ...]
    """The sub-models' roles, in the order they were compiled."""
    runs: tuple[PartInference, ...]
    phases: Mapping[str, PhasePeak]
    """``compile``, ``image``, ``prefill``, ``decode``."""
    baseline: Rss
    """Absolute ``VmRSS``/``RssAnon``/``RssFile`` of the child right after ``import openvino``."""
    peak_rss_bytes: int
    """Peak of ``VmRSS`` over the whole run."""
    peak_anon_bytes: int
    peak_file_bytes: int
    anon_at_peak: int
    file_at_peak: int
    hwm_rss_bytes: int | None
    """The kernel's ``VmHWM`` at the end (``None`` if it could not be reset)."""
    device_rss_bytes: int
    """``VmRSS`` once the device plugin is loaded, before any model is read."""
    compile_seconds: float
    """Reading and compiling every sub-model."""
    samples: int
    sample_interval: float
    openvino_version: str
    properties: Mapping[str, Mapping[str, str]]
    """:data:`ovmem.measure.REPORTED_PROPERTIES` of each compiled sub-model, by role."""
    emulated_target: str | None = None
    """The ISA level this run emulated (:func:`ovmem.measure.emulation`), ``None`` for the host as it is."""

    @property
    def prefill_tokens(self) -> int:
        return self.image_tokens + self.prompt_tokens

    @property
    def peak_phase(self) -> str:
        """The phase whose window holds the highest sampled ``VmRSS``."""
        return max(self.phases.items(), key=lambda item: item[1].peak_rss_bytes)[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (bytes, seconds), versioned by ``schema_version``."""
        from ovmem.report import SCHEMA_VERSION  # here: the child process imports nothing of ovmem

        data = {"schema_version": SCHEMA_VERSION, **attrs.asdict(self)}
        data["parts"] = list(self.parts)
        data["runs"] = [
            {**attrs.asdict(r), "inputs": {k: list(v) for k, v in r.inputs.items()}, "output": list(r.output)}
            for r in self.runs
        ]
        data["prefill_tokens"] = self.prefill_tokens
        data["peak_phase"] = self.peak_phase
        return data


def measure_pipeline(
    path: str | os.PathLike[str],
    vision_sequence: int | None = None,
    *,
    image: tuple[int, int] | None = None,
    prompt_tokens: int = 0,
    device: str = "CPU",
    properties: Mapping[str, Any] | None = None,
    timeout: float = 600,
    sample_interval: float = 0.001,
    emulate_target: str | None = None,
) -> PipelineMeasurement:
    """Measure one image of ``vision_sequence`` patches (or of the ``image`` size ``(width, height)``,
    cut as the family's processor would) and a prompt of ``prompt_tokens`` text tokens through the
    whole pipeline of the VLM export ``path``, in a fresh process.

    Args:
        path: an optimum-intel VLM export folder (with ``openvino_language_model.xml``).
        vision_sequence: patches for the vision encoder (one of this and ``image``).
        image: ``(width, height)`` in pixels.
        prompt_tokens: text tokens next to the image tokens.
        device: OpenVINO device name; every sub-model is compiled there.
        properties: passed to every ``compile_model``.
        timeout: seconds before the child is killed.
        sample_interval: seconds between two readings of ``/proc/self/status``.
        emulate_target: run as on a weaker CPU (:func:`ovmem.measure.emulation`; labelled so).

    Raises:
        UsageError: a bad path, size or option, or a folder that is not a VLM export.
        ModelError: a model cannot be read, or the child failed, crashed or timed out.
    """
    from ovmem.errors import UsageError
    from ovmem.ir.lift import read_model
    from ovmem.measure import DEFAULT_VOCAB, Rss, _peak_fields, _run_child, emulation
    from ovmem.vlm.layout import detect_layout
    from ovmem.vlm.vision import plan_vision

    if not isinstance(device, str) or not device.strip():
        raise UsageError(f"device must be a device name such as CPU, got {device!r}")
    if not isinstance(prompt_tokens, int) or isinstance(prompt_tokens, bool) or prompt_tokens < 0:
        raise UsageError(f"--prompt-tokens must be a non-negative integer, got {prompt_tokens!r}")
    if not sample_interval > 0:
        raise UsageError(f"sample interval must be positive, got {sample_interval!r}")
    if not timeout > 0:
        raise UsageError(f"timeout must be positive, got {timeout!r}")
    layout = detect_layout(path)
    if not layout.is_vlm:
        raise UsageError(f"{layout.folder}: not a vision-language export (no openvino_language_model.xml)")
    language, embeddings = layout.part("language"), layout.part("text_embeddings")
    if embeddings is None:
        raise UsageError(f"{layout.folder}: no openvino_text_embeddings_model.xml next to the language model")
    if not layout.stage("vision"):
        raise UsageError(f"{layout.folder}: no vision encoder in this export")
    if (vision_sequence is None) == (image is None):
        raise UsageError("give the vision sequence or --image WIDTHxHEIGHT (one of them)")
    sequence = vision_sequence
    if image is None and (not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1):
        raise UsageError(f"the vision sequence must be a positive integer, got {vision_sequence!r}")
    plan = plan_vision(layout, vision_sequence, image=image)
    shapes, planned_tokens = _vision_shapes(layout, plan)
    planned_tokens = planned_tokens if plan.image_tokens is None else plan.image_tokens
    lm = read_model(language.xml)
    vocab = DEFAULT_VOCAB
    for out in lm.outputs:
        pshape = out.get_partial_shape()
        if "logits" in out.get_names() and pshape.rank.is_static and pshape[-1].is_static:
            vocab = max(1, pshape[-1].get_length())
    if not any("inputs_embeds" in port.get_names() for port in lm.inputs):
        raise UsageError(f"{language.xml}: the language model has no inputs_embeds input")
    del lm
    env, props, emulated = emulation(emulate_target, properties)

    request = {
        "device": device,
        "properties": props,
        "interval": sample_interval,
        "parts": [{"role": p.role, "xml": str(p.xml), "stage": p.stage} for p in layout.parts],
        "vision": {role: {name: list(shape) for name, shape in sizes.items()} for role, sizes in shapes.items()},
        "planned_image_tokens": planned_tokens,
        "image_tokens": plan.image_tokens,
        "host_bytes": sum(plan.host_bytes.values()),
        "prompt_tokens": prompt_tokens,
        "vocab": vocab,
    }
    result = _run_child(Path(__file__), request, timeout, layout.folder, env)
    phases = {
        name: PhasePeak(Rss(**p["start"]), p["peak"], p["seconds"]) for name, p in result["phases"].items()
    }  # fmt: skip
    runs = tuple(
        PartInference(r["role"], r["phase"], {k: tuple(v) for k, v in r["inputs"].items()}, tuple(r["output"]), r["seconds"])
        for r in result["runs"]
    )  # fmt: skip
    return PipelineMeasurement(
        model=layout.folder.resolve().name,
        path=str(layout.folder),
        model_type=layout.model_type,
        device=device,
        vision_sequence=plan.sequence,
        images=plan.images,
        image_tokens=result["image_tokens"],
        planned_image_tokens=planned_tokens,
        prompt_tokens=prompt_tokens,
        parts=tuple(result["parts"]),
        runs=runs,
        phases=phases,
        **_peak_fields(result),
        device_rss_bytes=result["device"],
        compile_seconds=result["compile_seconds"],
        samples=result["samples"],
        sample_interval=sample_interval,
        openvino_version=result["openvino_version"],
        properties=result["properties"],
        emulated_target=emulated,
    )


def format_pipeline_measurement(m: PipelineMeasurement, include_baseline: bool = False) -> str:
    """The human-readable report of one pipeline measurement (``include_baseline``: the process's peak first)."""
    from ovmem.measure import _emulated, peak_line
    from ovmem.units import format_bytes as fb

    version = m.openvino_version.split("-")[0]
    planned = "" if m.planned_image_tokens in (None, m.image_tokens) else f" (planned {m.planned_image_tokens})"
    lines = [
        f"{m.model} ({m.model_type or '?'}) on {m.device}{_emulated(m.emulated_target)}, OpenVINO {version}: "
        f"vision sequence {m.vision_sequence} "
        f"({m.images} image{'s' if m.images != 1 else ''}), {m.image_tokens} image tokens{planned} + "
        f"{m.prompt_tokens} prompt tokens",
        f"{peak_line(m, include_baseline)}, in phase {m.peak_phase}",
        f"    at peak    anon {fb(m.anon_at_peak)} + file {fb(m.file_at_peak)}",
        f"    own peaks  anon {fb(m.peak_anon_bytes)}, file {fb(m.peak_file_bytes)}",
        "  phases       peak (start: anon + file), time",
    ]
    for name, p in m.phases.items():
        lines.append(
            f"    {name:<10} {fb(p.peak_rss_bytes):>11} (start {fb(p.start.rss)}: anon {fb(p.start.anon)} + "
            f"file {fb(p.start.file)}), {p.seconds:.2f} s"
        )
    lines.append("  runs")
    for r in m.runs:
        shapes = ", ".join(f"{k} {list(v)}" for k, v in r.inputs.items())
        lines.append(f"    {r.phase:<8} {r.role:<26} {shapes} -> {list(r.output)}, {r.seconds:.3f} s")
    props = m.properties.get("language") or next(iter(m.properties.values()), {})
    lines += [
        f"  properties   {' '.join(f'{k}={v}' for k, v in props.items()) or '-'} (language model)",
        f"  plugin load  {fb(m.device_rss_bytes)} (in the peak; not the model's)",
        f"  baseline     {fb(m.baseline.rss)} (anon {fb(m.baseline.anon)}, file {fb(m.baseline.file)}) after import openvino",
        f"  time         read + compile {m.compile_seconds:.2f} s ({', '.join(m.parts)}); "
        f"{m.samples} samples every {m.sample_interval * 1e3:g} ms",
    ]
    return "\n".join(lines)


# --- parent side --------------------------------------------------------------------------------


def _vision_shapes(layout, plan) -> tuple[dict[str, dict[str, tuple[int, ...]]], int | None]:
    """Input shapes of every vision part and the image tokens the last one will return, by OpenVINO's
    shape inference at the planned shapes. A part the plan does not cover takes the previous part's
    output as its first input (when the ranks agree) and the vision sequence for its other dynamic
    dimensions."""
    import openvino as ov

    from ovmem.errors import ModelError, UsageError
    from ovmem.ir.lift import read_model
    from ovmem.measure import _last_line

    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    previous: tuple[int, ...] | None = None
    for part in layout.stage("vision"):
        model = read_model(part.xml)
        sizes = dict(plan.shapes.get(part.role) or {})
        if not sizes:
            for index, port in enumerate(model.inputs):
                name, pshape = port.get_any_name(), port.get_partial_shape()
                if pshape.rank.is_dynamic:
                    raise UsageError(f"{part.xml.name}: input {name!r} has a dynamic rank")
                if index == 0 and previous is not None and pshape.rank.get_length() == len(previous):
                    sizes[name] = previous
                else:
                    sizes[name] = tuple(d.get_length() if d.is_static else plan.sequence for d in pshape)
        try:
            model.reshape({name: ov.PartialShape(list(shape)) for name, shape in sizes.items()})
        except Exception as exc:  # noqa: BLE001 - OpenVINO's shape inference failing on these sizes
            raise ModelError(f"{part.xml.name}: cannot run at {sizes}: {_last_line(str(exc))}") from None
        out = model.output(0).get_partial_shape()
        previous = tuple(out.to_shape()) if out.is_static else None
        shapes[part.role] = sizes
    if previous is None:
        return shapes, None
    return shapes, math.prod(previous[:-1]) if len(previous) > 1 else previous[0]


# --- child side (runs in the fresh process; standard library, numpy and openvino only) -----------


def _load_base():
    """:mod:`ovmem.measure` loaded by path (its module level is light), without the ``ovmem`` package."""
    path = Path(__file__).resolve().parent.parent / "measure.py"
    spec = importlib.util.spec_from_file_location("_ovmem_measure_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compile_order(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """optimum-intel's: the language model, the text embeddings, the vision parts, the rest."""
    rank = {"language": 0, "embeddings": 1, "vision": 2, "other": 3}
    return sorted(parts, key=lambda p: rank.get(p["stage"], 3))  # stable: the layout's order within a stage


def _vision_input(name: str, element_type, shape: tuple[int, ...], rng):
    """Synthetic data of one vision input with valid values."""
    import numpy as np

    if name == "window_index":  # a permutation of the merged tokens into window order
        values = rng.permutation(shape[0] if shape else 1).reshape(shape)
    elif element_type.is_integral() or element_type.get_type_name() == "boolean" or "mask" in name:
        values = 0  # additive attention masks: zeros, everything visible
    else:  # pixel values, patches, rotary tables: random
        values = rng.standard_normal(size=shape, dtype=np.float32)
    return _as_type(values, element_type, shape)


def _as_type(values, element_type, shape):
    import numpy as np
    import openvino as ov

    name = element_type.get_type_name()
    if name == "bf16" or element_type.bitwidth < 8 or name.startswith(("f8", "f4", "nf4")):
        tensor = ov.Tensor(element_type, list(shape))
        tensor.data[...] = 0
        return tensor
    data = np.empty(shape, dtype=np.bool_ if name == "boolean" else element_type.to_dtype())
    data[...] = values  # written, so resident, as torch's masks are (numpy's zeros would stay unbacked pages)
    return data


def _rows(shape: tuple[int, ...]) -> int:
    return math.prod(shape[:-1]) if len(shape) > 1 else (shape[0] if shape else 1)


def _child_main(argument: str) -> int:
    """Run the pipeline once and print the result as one tagged JSON line; errors as ``{"error": ...}``."""
    base = _load_base()
    stage = "import openvino"
    try:
        import numpy as np
        import openvino as ov

        stage = "start"
        spec = json.loads(argument)
        sampler, (base_rss, base_anon, base_file), hwm_ok = base._start_sampling(spec["interval"])
        device = spec["device"]
        rng = np.random.default_rng(0)
        phases: dict[str, dict[str, Any]] = {}
        runs: list[dict[str, Any]] = []

        def relative(sample):
            return {"rss": sample[0] - base_rss, "anon": sample[1] - base_anon, "file": sample[2] - base_file}

        def open_phase(name):
            phases[name] = {"start": relative(sampler.open_window()), "t0": time.perf_counter()}

        def close_phase(name):
            phase = phases[name]
            phase["seconds"] = time.perf_counter() - phase.pop("t0")
            phase["peak"] = sampler.close_window() - base_rss

        stage = f"loading device {device}"
        core = ov.Core()
        core.get_versions(device)
        device_rss = sampler.sample()[0]

        # 1. read every sub-model, then compile them all (optimum-intel's order); all kept alive
        open_phase("compile")
        order = _compile_order(spec["parts"])
        models, compiled, properties = {}, {}, {}
        t0 = time.perf_counter()
        for part in order:
            stage = f"read_model {Path(part['xml']).name}"
            models[part["role"]] = core.read_model(part["xml"])
        for part in order:
            role = part["role"]
            stage = f"compile_model {Path(part['xml']).name}"
            compiled[role] = core.compile_model(models[role], device, spec["properties"])
            props = {}
            for key in base.REPORTED_PROPERTIES:
                try:
                    value = compiled[role].get_property(key)
                except Exception:  # not a property of this device
                    continue
                props[key] = value.get_type_name() if isinstance(value, ov.Type) else str(value)
            properties[role] = props
        compile_seconds = time.perf_counter() - t0
        stage = "create_infer_request"
        lm = compiled["language"]
        lm_request = lm.create_infer_request()
        host = np.ones(spec["host_bytes"] // 4, np.float32)  # tables the client builds with the model (MiniCPM-V)
        close_phase("compile")

        text = compiled["text_embeddings"]
        vision_roles = [p["role"] for p in spec["parts"] if p["stage"] == "vision"]
        prompt = spec["prompt_tokens"]
        vocab = spec["vocab"]

        def embed(length: int, phase: str):
            ids = rng.integers(0, vocab, size=(1, length), dtype=np.int64)
            t = time.perf_counter()
            out = text(ids, share_inputs=True)[0]  # optimum's embed_tokens: a copy of the output
            runs.append({"role": "text_embeddings", "phase": phase, "inputs": {text.inputs[0].get_any_name(): [1, length]},
                         "output": list(out.shape), "seconds": time.perf_counter() - t})  # fmt: skip
            return out

        # 2. image: the prompt's embeddings (kept), the vision parts in order, the merge
        open_phase("image")
        planned = spec["planned_image_tokens"]
        stage = "text embeddings of the prompt"
        embeds = embed(planned + prompt, "image") if planned is not None else None
        client_inputs = []  # the processor's outputs, held by the caller of generate()
        previous = None
        for number, role in enumerate(vision_roles):
            stage = f"inference of {role}"
            model = compiled[role]
            planned_shapes = {k: tuple(v) for k, v in spec["vision"][role].items()}
            inputs = {}
            for index, port in enumerate(model.inputs):
                name = port.get_any_name()
                shape = planned_shapes[name]
                if index == 0 and previous is not None and tuple(previous.shape) == shape:
                    inputs[name] = previous  # the previous part's output, as optimum hands it on
                else:
                    inputs[name] = _vision_input(name, port.get_element_type(), shape, rng)
            if number == 0:
                client_inputs.append(inputs[model.inputs[0].get_any_name()])
            t = time.perf_counter()
            previous = model(inputs)[0]  # CompiledModel.__call__: inputs shared, outputs copied
            runs.append({"role": role, "phase": "image", "inputs": {k: list(v) for k, v in planned_shapes.items()},
                         "output": list(previous.shape), "seconds": time.perf_counter() - t})  # fmt: skip
            del inputs
        rows = _rows(tuple(previous.shape))
        image_tokens = spec["image_tokens"] or rows  # the family's tag tokens are text, around the rows
        if embeds is None or embeds.shape[1] != image_tokens + prompt:
            stage = "text embeddings of the prompt"
            embeds = None
            embeds = embed(image_tokens + prompt, "image")
        hidden = embeds.shape[-1]
        if previous.shape[-1] != hidden:
            raise ValueError(f"the vision output is {previous.shape[-1]} wide, the text embeddings {hidden}")
        stage = "merging the image rows into the prompt"
        merged = np.empty((1, image_tokens + prompt, hidden), np.float32)  # a new tensor, as masked_scatter
        merged[0, :rows] = previous.reshape(rows, hidden)
        merged[0, rows:] = embeds[0, rows:]
        del embeds, previous
        close_phase("image")

        def lm_inputs(embeddings, past: int):
            length = embeddings.shape[1]
            inputs = {}
            for index, port in enumerate(lm.inputs):
                names, pshape = port.get_names(), port.get_partial_shape()
                if "inputs_embeds" in names:
                    inputs[index] = embeddings
                    continue
                if "attention_mask" in names:
                    entry = {"shape": [1, past + length], "kind": "ones"}
                elif "position_ids" in names:
                    rows = pshape[0].get_length() if pshape.rank.get_length() == 3 and pshape[0].is_static else 3
                    shape = [rows, 1, length] if pshape.rank.get_length() == 3 else [1, length]
                    entry = {"shape": shape, "kind": "arange", "start": past}
                elif "beam_idx" in names:
                    entry = {"shape": [1], "kind": "arange", "start": 0}
                else:  # token_type_ids and anything else: zeros, batch 1, the new tokens elsewhere
                    shape = [d.get_length() if d.is_static else (1 if axis == 0 else length) for axis, d in enumerate(pshape)]
                    entry = {"shape": shape, "kind": "zeros"}
                inputs[index] = base._make_input(entry, port.get_element_type(), rng)
            return inputs

        client = {}  # what the caller keeps of the language model's outputs

        def lm_step(inputs, phase: str):
            t = time.perf_counter()
            lm_request.start_async(inputs, share_inputs=True)
            lm_request.wait()
            seconds = time.perf_counter() - t
            for out in lm.outputs:  # read in place; the logits copied, as optimum-intel's forward does
                data = lm_request.get_tensor(out).data
                if data.size:
                    data.flat[data.size - 1]  # noqa: B018 - touch one element
                if "logits" in out.get_names():
                    client["logits"] = data.copy()  # the previous step's copy goes once this one exists
            shapes = {lm.inputs[i].get_any_name(): list(np.shape(v) if not isinstance(v, ov.Tensor) else v.shape)
                      for i, v in inputs.items()}  # fmt: skip
            runs.append({"role": "language", "phase": phase, "inputs": shapes,
                         "output": list(lm_request.get_tensor(lm.outputs[0]).shape), "seconds": seconds})  # fmt: skip

        # 3. prefill over the merged embeddings
        open_phase("prefill")
        stage = "language model prefill"
        lm_request.reset_state()
        inputs = lm_inputs(merged, 0)
        lm_step(inputs, "prefill")
        del inputs, merged
        close_phase("prefill")

        # 4. one decode step
        open_phase("decode")
        stage = "decode step"
        token = embed(1, "decode")
        inputs = lm_inputs(token, image_tokens + prompt)
        lm_step(inputs, "decode")
        del inputs, token
        close_phase("decode")

        stage = "stop"
        result = {
            **base._stop_sampling(sampler, (base_rss, base_anon, base_file), hwm_ok),
            "device": device_rss - base_rss,
            "compile_seconds": compile_seconds,
            "phases": phases,
            "runs": runs,
            "parts": [p["role"] for p in order],
            "image_tokens": image_tokens,
            "samples": sampler.count,
            "openvino_version": ov.__version__,
            "properties": properties,
        }
        del host  # models, compiled models, requests, client inputs and host tables live to here, as in optimum
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
        return base._send_failure(stage, exc)
    return base._send(result)
