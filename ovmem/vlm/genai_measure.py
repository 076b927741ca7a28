"""Measure the memory an ``openvino_genai.VLMPipeline`` really uses for one image and one ``generate``.

The VLM sibling of :func:`ovmem.genai_measure.measure_genai`, with the same fresh process and sampler
(``/proc/self/status`` every ~1 ms, peak above the baseline taken after ``import openvino``):

1. ``import openvino_genai``;
2. ``VLMPipeline(side_folder, device, **properties)``: every sub-model compiled (``docs/genai-notes.md``
   rule 9), the language model on the PagedAttention path;
3. ``generate(prompt, images=[image], generation_config)``: one ``ov.Tensor`` image ``[1, H, W, 3]`` u8 of
   random pixels, a prompt of P words, greedy, ``M`` tokens forced (``min_new_tokens``, ``ignore_eos``),
   no chat template.

``VLMPipeline`` reads the tokenizer from the model folder only, so the pipeline is built on a **side
folder** (under ``$OVMEM_CACHE``/``~/.cache/ovmem``, ``genai-vlm/``) of symbolic links to the export's
files and to a generated tokenizer; nothing is written into the export. The generated tokenizer is
:func:`~ovmem.genai_measure.generated_tokenizer`'s word-level one with the family's image tags as
special tokens at their ``config.json`` ids: genai expands the tag once per image token and finds the
image rows by encoding the tag (``<image>`` for LLaVA; ``<|vision_start|>``, ``<|vision_end|>``,
``<|image_pad|>``, ``<|video_pad|>`` for Qwen2-VL/Qwen2.5-VL; ``<start_of_image>``, ``<end_of_image>``,
``<image_soft_token>`` for Gemma 3; ``<img>``, ``</img>``, ``<IMG_CONTEXT>`` for InternVL; MiniCPM-V's
tags and the newline between grid rows at free ids, as its config names none). Other families are not
supported yet. The prompt genai processed
(:attr:`VlmGenaiMeasurement.input_tokens`) is the image tokens, the tags around them and the P words.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["VlmGenaiMeasurement", "family_specials", "measure_genai_vlm"]

_SPECIALS = {
    "llava": {"<image>": "image_token_index"},
    "qwen2_vl": {"<|vision_start|>": "vision_start_token_id", "<|vision_end|>": "vision_end_token_id",
                 "<|image_pad|>": "image_token_id", "<|video_pad|>": "video_token_id"},
    "gemma3": {"<start_of_image>": "boi_token_index", "<end_of_image>": "eoi_token_index",
               "<image_soft_token>": "image_token_index"},
    # the tags of openvino.genai's src/cpp/src/visual_language/vlm_config.hpp; MiniCPM-V's config.json names
    # no ids: they take free ones (None).
    # A newline (after the image tag, between grid rows) is one token of the real tokenizers, so one here too.
    "internvl_chat": {"<IMG_CONTEXT>": "img_context_token_id", "<img>": None, "</img>": None, "\n": None},
    "minicpmv": dict.fromkeys(("<image>", "</image>", "<slice>", "</slice>", "<unk>", "<image_id>", "</image_id>",
                               "\n")),
}  # fmt: skip
_SPECIALS["qwen2_5_vl"] = _SPECIALS["qwen2_vl"]
_SPECIALS["minicpmo"] = _SPECIALS["minicpmv"]


@attrs.frozen
class VlmGenaiMeasurement:
    """One measured ``VLMPipeline.generate``; bytes above the baseline (after ``import openvino``)."""

    model: str
    path: str
    device: str
    image: tuple[int, int]
    """(width, height) of the image given."""
    words: int
    """Prompt words asked for (P), one token each."""
    new_tokens: int
    input_tokens: int
    """What genai's ``PerfMetrics`` counts as the prompt: image tokens, their tags and the P words."""
    generated_tokens: int
    tokenizer: str
    tokenizer_dir: str
    """The folder genai read the tokenizer and detokenizer models from (the side folder)."""
    baseline: Any
    """Absolute ``VmRSS``/``RssAnon``/``RssFile`` of the child right after ``import openvino`` (an ``Rss``)."""
    import_rss_bytes: int
    loaded_rss_bytes: int
    """After ``VLMPipeline`` was built, before ``generate``."""
    peak_rss_bytes: int
    peak_anon_bytes: int
    peak_file_bytes: int
    generate_peak_rss_bytes: int
    hwm_rss_bytes: int | None
    load_seconds: float
    generate_seconds: float
    compiled_models: Mapping[str, Mapping[str, str]]
    openvino_version: str
    genai_version: str
    emulated_target: str | None = None
    """The ISA level this run emulated (:func:`ovmem.measure.emulation`), ``None`` for the host as it is."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (bytes, seconds), versioned by ``schema_version``."""
        from ovmem.report import SCHEMA_VERSION

        return {"schema_version": SCHEMA_VERSION, "runtime": "genai", **attrs.asdict(self)}


def format_vlm_genai_measurement(m: VlmGenaiMeasurement, include_baseline: bool = False) -> str:
    """The human-readable report of one ``VLMPipeline`` measurement (``include_baseline``: the process's
    peak first)."""
    from ovmem.measure import _emulated, peak_line
    from ovmem.units import format_bytes as fb

    return "\n".join([
        f"{m.model} on {m.device}{_emulated(m.emulated_target)} with openvino.genai {m.genai_version.split('-')[0]} "
        "(VLMPipeline): image "
        f"{m.image[0]}x{m.image[1]}, {m.words} prompt words, {m.input_tokens} input tokens, {m.generated_tokens} new tokens",
        f"  compiled     {', '.join(m.compiled_models) or '-'}",
        f"  tokenizer    {m.tokenizer}",
        f"{peak_line(m, include_baseline)}; own peaks anon {fb(m.peak_anon_bytes)}, file {fb(m.peak_file_bytes)}",
        f"  loaded       {fb(m.loaded_rss_bytes)} before generate; generate peak {fb(m.generate_peak_rss_bytes)}",
        f"  genai import {fb(m.import_rss_bytes)} (in the peak; not the model's)",
        f"  baseline     {fb(m.baseline.rss)} (anon {fb(m.baseline.anon)}, file {fb(m.baseline.file)}) "
        "after import openvino",
        f"  time         load {m.load_seconds:.2f} s, generate {m.generate_seconds:.2f} s",
    ])  # fmt: skip


def family_specials(folder: Path) -> dict[int, str]:
    """The image tags genai's VLMPipeline encodes for this export's family, at their config.json ids."""
    from ovmem.errors import UsageError
    from ovmem.genai_measure import _vocab_size

    config = json.loads((folder / "config.json").read_text())
    model_type = config.get("model_type")
    if model_type not in _SPECIALS:
        raise UsageError(f"{folder}: VLMPipeline measurement supports {', '.join(sorted(_SPECIALS))}, not {model_type!r}")
    specials = {}
    for text, key in _SPECIALS[model_type].items():
        if key is not None:
            if not isinstance(config.get(key), int):
                raise UsageError(f"{folder}/config.json: no {key} for {text}")
            specials[config[key]] = text
    free = (i for i in range(_vocab_size(folder) - 2, -1, -1) if i not in specials)  # below <eos>
    specials.update({next(free): text for text, key in _SPECIALS[model_type].items() if key is None})
    return specials


def _default_image(folder: Path) -> tuple[int, int]:
    """The family's own image size (preprocessor_config.json), else 448x448."""
    try:
        pre = json.loads((folder / "preprocessor_config.json").read_text())
    except (OSError, ValueError):
        return 448, 448
    for key in ("crop_size", "size"):
        size = pre.get(key)
        if isinstance(size, dict) and isinstance(size.get("width"), int) and isinstance(size.get("height"), int):
            return size["width"], size["height"]
    return 448, 448


def side_folder(folder: Path, tokenizer: Path, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """A folder of symbolic links to ``folder``'s files and ``tokenizer``'s (the model's own names win)."""
    root = Path(cache_dir or os.environ.get("OVMEM_CACHE") or Path.home() / ".cache" / "ovmem")
    key = hashlib.sha1(f"{folder}|{tokenizer}".encode()).hexdigest()[:12]
    side = root / "genai-vlm" / f"{folder.name}-{key}"
    side.mkdir(parents=True, exist_ok=True)
    for f in [*tokenizer.iterdir(), *folder.iterdir()]:
        link = side / f.name
        if link.is_symlink():
            link.unlink()
        link.symlink_to(f.resolve())
    return side


def measure_genai_vlm(
    path: str | os.PathLike[str],
    words: int,
    new_tokens: int = 1,
    *,
    image: tuple[int, int] | None = None,
    device: str = "CPU",
    properties: Mapping[str, Any] | None = None,
    sample_interval: float = 0.001,
    timeout: float = 900,
    emulate_target: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> VlmGenaiMeasurement:
    """Measure building a ``VLMPipeline`` on the VLM export ``path`` and one ``generate`` of
    ``new_tokens`` tokens for one ``image`` (``(width, height)``, default the family's size) and a prompt
    of ``words`` words, in a fresh process. Raises UsageError / ModelError as :func:`measure_genai` does."""
    from ovmem.errors import ModelError, UsageError
    from ovmem.genai import has_tokenizer
    from ovmem.genai_measure import _require_genai, _vocab_size, generated_tokenizer
    from ovmem.measure import Rss, _run_child, emulation

    for name, value in (("words", words), ("new_tokens", new_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a positive integer, got {value!r}")
    _require_genai()
    folder = Path(path).resolve()
    if not (folder / "openvino_language_model.xml").is_file():
        raise UsageError(f"{path}: not a VLM export folder (no openvino_language_model.xml)")
    if has_tokenizer(folder):
        raise UsageError(f"{path}: has its own tokenizer; this measurement needs the generated one (word-level prompt)")
    vocab = _vocab_size(folder)
    tokenizer = generated_tokenizer(vocab, cache_dir=cache_dir, specials=family_specials(folder))
    side = side_folder(folder, tokenizer, cache_dir)
    width, height = image or _default_image(folder)
    env, props, emulated = emulation(emulate_target, properties)
    request = {
        "folder": str(side), "words": words, "vocab": vocab, "new_tokens": new_tokens, "device": device,
        "image": [width, height], "properties": props, "interval": sample_interval,
    }  # fmt: skip
    r = _run_child(Path(__file__), request, timeout, folder, env)
    if r["generated_tokens"] != new_tokens:
        raise ModelError(f"{folder}: genai generated {r['generated_tokens']} tokens (asked for {new_tokens})")
    return VlmGenaiMeasurement(
        model=folder.name, path=str(folder), device=device, image=(width, height), words=words,
        new_tokens=new_tokens, input_tokens=r["input_tokens"], generated_tokens=r["generated_tokens"],
        tokenizer=f"generated word-level ({vocab} tokens, image tags as special tokens): {tokenizer}",
        tokenizer_dir=str(side),
        baseline=Rss(**r["baseline"]), import_rss_bytes=r["import"], loaded_rss_bytes=r["loaded"],
        peak_rss_bytes=r["peak"]["rss"],
        peak_anon_bytes=r["max_anon"], peak_file_bytes=r["max_file"], generate_peak_rss_bytes=r["generate_peak"],
        hwm_rss_bytes=r["hwm"], load_seconds=r["load_seconds"], generate_seconds=r["generate_seconds"],
        compiled_models=r["compiled_models"], openvino_version=r["openvino_version"], genai_version=r["genai_version"],
        emulated_target=emulated,
    )  # fmt: skip


# --- child side (runs in the fresh process, this file by path) ------------------------------------


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _child_main(argument: str) -> int:
    here = Path(__file__).resolve().parent.parent
    base = _load("_ovmem_measure_base", here / "measure.py")
    stage = "import openvino"
    try:
        import numpy as np
        import openvino as ov

        stage = "start"
        spec = json.loads(argument)
        sampler, (base_rss, base_anon, base_file), hwm_ok = base._start_sampling(spec["interval"])
        helpers = _load("_ovmem_genai_measure", here / "genai_measure.py")

        stage = "import openvino_genai"
        import openvino_genai as genai

        import_rss = sampler.sample()[0] - base_rss
        os.environ["OPENVINO_LOG_LEVEL"] = "3"

        stage = "VLMPipeline"
        t0 = time.perf_counter()
        with helpers._CaptureStdout() as captured:
            pipe = genai.VLMPipeline(spec["folder"], spec["device"], **spec["properties"])
        load_seconds = time.perf_counter() - t0

        stage = "the image and the prompt"
        width, height = spec["image"]
        pixels = np.random.default_rng(0).integers(0, 256, (1, height, width, 3), dtype=np.uint8)
        image = ov.Tensor(pixels)
        prompt = " ".join(f"w{1 + i % min(1000, spec['vocab'] - 2)}" for i in range(spec["words"]))
        config = pipe.get_generation_config()
        config.max_new_tokens = config.min_new_tokens = spec["new_tokens"]
        config.ignore_eos, config.do_sample, config.num_beams = True, False, 1
        config.apply_chat_template = False
        config.stop_strings, config.stop_token_ids = set(), set()
        loaded = sampler.open_window()

        stage = "generate"
        t0 = time.perf_counter()
        result = pipe.generate(prompt, images=[image], generation_config=config)
        generate_seconds = time.perf_counter() - t0
        generate_peak = sampler.close_window()
        metrics = result.perf_metrics

        stage = "stop"
        out = {
            **base._stop_sampling(sampler, (base_rss, base_anon, base_file), hwm_ok),
            "import": import_rss,
            "loaded": loaded[0] - base_rss,
            "generate_peak": generate_peak - base_rss,
            "load_seconds": load_seconds,
            "generate_seconds": generate_seconds,
            "input_tokens": int(metrics.get_num_input_tokens()),
            "generated_tokens": int(metrics.get_num_generated_tokens()),
            "compiled_models": helpers._parse_compiled_models(captured.text),
            "openvino_version": ov.__version__,
            "genai_version": genai.get_version() if hasattr(genai, "get_version") else genai.__version__,
        }
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
        return base._send_failure(stage, exc)
    return base._send(out)
