"""Measure the memory an ``openvino_genai.LLMPipeline`` really uses for one ``generate`` call.

:func:`measure_genai` runs, in a **fresh Python process** and with the sampler of :mod:`ovmem.measure`
(``/proc/self/status`` every ~1 ms, peak above the baseline taken right after ``import openvino``,
anon/file split, ``VmHWM`` check):

1. ``import openvino_genai`` (its library and the openvino_tokenizers extension: a fixed cost of the
   process, reported as :attr:`GenaiMeasurement.import_rss_bytes`);
2. ``LLMPipeline(folder, tokenizer, device, **properties)``: genai reads the model, rewrites it for its
   backend (on x86 CPU by default: ``SDPAToPagedAttention`` + a ``Gather`` of the sampled tokens before
   the LM head, i.e. continuous batching with a paged KV cache), compiles it and the tokenizer and
   detokenizer models;
3. ``generate(prompt, GenerationConfig(max_new_tokens=M, min_new_tokens=M, ignore_eos=True))`` with a
   prompt of exactly N tokens, greedy, no chat template, no streamer.

The number of prompt and generated tokens is read back from genai's ``PerfMetrics`` and checked.

**Folders without a tokenizer** (random-weight exports) get a generated one: a word-level vocabulary
``w0 .. w{V-2}`` plus ``<eos>`` (``V`` = ``config.json``'s ``vocab_size``), built from
``openvino_tokenizers``' pipeline steps (whitespace split → vocab lookup, and a vocab decoder) and saved
as ``openvino_tokenizer.xml``/``openvino_detokenizer.xml`` in a cache folder (``$OVMEM_CACHE`` or
``~/.cache/ovmem``), **never in the model folder**. The pipeline is then built with
``LLMPipeline(folder, Tokenizer(that_cache_folder), device)``, so nothing is copied or linked. A prompt
of N such words is exactly N tokens; they are drawn at random (seeded) over the vocabulary, as
``ovmem measure`` draws its token ids, since which rows of the embedding table a prompt looks up
decides how much of the table pages in. With the folder's own tokenizer the prompt is a repeated word,
adjusted until it encodes to N tokens (the tokenizer's own special tokens included, as ``generate``
adds them); if no such text exists the token ids are given to ``generate`` directly.

What genai decided is reported: the compiled models it printed (genai prints each compiled model's
properties when ``OPENVINO_LOG_LEVEL`` > 2, which the child sets), among them the KV-cache precision of
the ``LLM with Paged Attention`` model, and the backend (``PA`` unless ``ATTENTION_BACKEND=SDPA``).

The child runs this very file by path (like :mod:`ovmem.vlm.measure`); it loads :mod:`ovmem.measure` by
path for the sampler and imports nothing else of ovmem. See ``docs/genai-notes.md`` for the
memory rules of the genai runtime.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "GenaiMeasurement",
    "format_genai_measurement",
    "generated_tokenizer",
    "measure_genai",
]

INSTALL_HINT = "pip install 'ovmem[genai]'"
"""What to run when ``openvino_genai`` / ``openvino_tokenizers`` are missing."""

SCHEDULER_PREFIX = "scheduler_config."
"""``--property scheduler_config.cache_size=2`` sets a field of genai's ``SchedulerConfig``."""

_TOKENIZER_FORMAT = 1
"""Bumped when the generated tokenizer changes, so old cached ones are not reused."""


@attrs.frozen
class GenaiMeasurement:
    """One measured ``LLMPipeline.generate``. Byte counts are above :attr:`baseline` unless named otherwise."""

    model: str
    path: str
    """The export folder."""
    device: str
    seq_len: int
    """Prompt tokens asked for (N)."""
    new_tokens: int
    """Tokens asked to be generated (M)."""
    prompt_tokens: int
    """Prompt tokens genai really processed (``PerfMetrics.get_num_input_tokens``); equals :attr:`seq_len`."""
    generated_tokens: int
    """Tokens genai really generated (``PerfMetrics.get_num_generated_tokens``); equals :attr:`new_tokens`."""
    prompt_source: str
    """``"text"`` (a string that tokenizes to N tokens) or ``"token ids"`` (given to ``generate`` directly)."""
    tokenizer: str
    """``"model folder"`` or ``"generated word-level (V tokens): DIR"``."""
    tokenizer_dir: str
    """The folder genai read ``openvino_tokenizer.xml``/``openvino_detokenizer.xml`` from (``analyze(...,
    tokenizer=...)`` counts the same models)."""
    backend: str
    """``"PA"`` (continuous batching, paged KV cache) or ``"SDPA"`` (stateful model), from the properties."""
    properties: Mapping[str, str]
    """What was passed to ``LLMPipeline`` (``scheduler_config.*`` shown as given)."""
    compiled_models: Mapping[str, Mapping[str, str]]
    """Each model genai compiled and printed (``"LLM with Paged Attention"``, ``"OV Tokenizer"``, ...), with
    its properties as genai printed them (empty if genai printed nothing)."""
    baseline: Any
    """Absolute ``VmRSS``/``RssAnon``/``RssFile`` of the child right after ``import openvino`` (an ``Rss``)."""
    import_rss_bytes: int
    """``VmRSS`` after ``import openvino_genai``: a cost of the process, not of the model."""
    peak_rss_bytes: int
    peak_anon_bytes: int
    peak_file_bytes: int
    anon_at_peak: int
    file_at_peak: int
    loaded: Any
    """Memory after the pipeline is built (model and tokenizers compiled), before ``generate`` (an ``Rss``)."""
    generate_peak_rss_bytes: int
    """Peak of ``VmRSS`` during ``generate`` alone."""
    end: Any
    """Memory right after ``generate`` returned (an ``Rss``)."""
    hwm_rss_bytes: int | None
    load_seconds: float
    generate_seconds: float
    ttft_seconds: float | None
    """genai's time to first token (the prefill)."""
    samples: int
    sample_interval: float
    openvino_version: str
    genai_version: str
    emulated_target: str | None = None
    """The ISA level this run emulated (:func:`ovmem.measure.emulation`), ``None`` for the host as it is."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (bytes, seconds), versioned by ``schema_version``."""
        from ovmem.report import SCHEMA_VERSION

        data = {"schema_version": SCHEMA_VERSION, "runtime": "genai", **attrs.asdict(self)}
        return data


def measure_genai(
    path: str | os.PathLike[str],
    seq_len: int,
    new_tokens: int = 1,
    *,
    device: str = "CPU",
    properties: Mapping[str, Any] | None = None,
    sample_interval: float = 0.001,
    timeout: float = 600,
    cache_dir: str | os.PathLike[str] | None = None,
    emulate_target: str | None = None,
) -> GenaiMeasurement:
    """Measure the resident memory of building an ``LLMPipeline`` on ``path`` and one ``generate`` of
    ``new_tokens`` tokens after a prompt of ``seq_len`` tokens, in a fresh process.

    Args:
        path: an LLM export folder (``openvino_model.xml``; ``config.json`` with ``vocab_size`` when the
            folder has no ``openvino_tokenizer.xml``/``openvino_detokenizer.xml``).
        seq_len: prompt tokens (N).
        new_tokens: generated tokens (M), forced with ``min_new_tokens`` and ``ignore_eos``.
        device: OpenVINO device name.
        properties: passed to ``LLMPipeline`` (``{"ATTENTION_BACKEND": "SDPA"}``, ``{"KV_CACHE_PRECISION":
            "f16"}``); ``scheduler_config.FIELD`` keys set fields of a ``SchedulerConfig`` that starts from
            what ``LLMPipeline`` uses by default (unbounded ``max_num_batched_tokens``, prefix caching on).
        sample_interval: seconds between two readings of ``/proc/self/status``.
        timeout: seconds before the child is killed.
        cache_dir: where generated tokenizers are kept (default ``$OVMEM_CACHE`` or ``~/.cache/ovmem``).
        emulate_target: run as on a weaker CPU (:func:`ovmem.measure.emulation`; labelled so).

    Raises:
        UsageError: bad sizes, path or option, or openvino-genai not installed.
        ModelError: the child failed, crashed or timed out.
    """
    from ovmem.errors import UsageError
    from ovmem.genai import has_tokenizer
    from ovmem.measure import Rss, _peak_fields, _run_child, emulation

    for name, value in (("seq_len", seq_len), ("new_tokens", new_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(device, str) or not device.strip():
        raise UsageError(f"device must be a device name such as CPU, got {device!r}")
    if not sample_interval > 0:
        raise UsageError(f"sample interval must be positive, got {sample_interval!r}")
    if not timeout > 0:
        raise UsageError(f"timeout must be positive, got {timeout!r}")
    _require_genai()
    folder = _model_folder(path)
    env, props, emulated = emulation(emulate_target, properties)
    scheduler = {k[len(SCHEDULER_PREFIX) :]: v for k, v in props.items() if k.startswith(SCHEDULER_PREFIX)}
    plain = {k: v for k, v in props.items() if not k.startswith(SCHEDULER_PREFIX)}
    backend = str(plain.get("ATTENTION_BACKEND", "PA")).upper()
    if backend not in ("PA", "SDPA"):
        raise UsageError(f"ATTENTION_BACKEND must be PA or SDPA, got {plain['ATTENTION_BACKEND']!r}")
    if scheduler and backend == "SDPA":
        raise UsageError("scheduler_config.* properties need the PA backend, not ATTENTION_BACKEND=SDPA")

    if has_tokenizer(folder):
        tokenizer_dir, tokenizer_label, words = None, "model folder", None
    else:
        vocab = _vocab_size(folder)
        tokenizer_dir = generated_tokenizer(vocab, cache_dir=cache_dir)
        tokenizer_label, words = f"generated word-level ({vocab} tokens): {tokenizer_dir}", vocab - 1

    request = {
        "folder": str(folder),
        "tokenizer_dir": None if tokenizer_dir is None else str(tokenizer_dir),
        "words": words,
        "seq_len": seq_len,
        "new_tokens": new_tokens,
        "device": device,
        "properties": plain,
        "scheduler": scheduler,
        "interval": sample_interval,
    }
    r = _run_child(Path(__file__), request, timeout, folder, env)
    if r["prompt_tokens"] != seq_len or r["generated_tokens"] != new_tokens:
        from ovmem.errors import ModelError

        raise ModelError(
            f"{folder}: genai processed {r['prompt_tokens']} prompt tokens and generated {r['generated_tokens']} "
            f"(asked for {seq_len} and {new_tokens})"
        )
    return GenaiMeasurement(
        model=folder.name,
        path=str(folder),
        device=device,
        seq_len=seq_len,
        new_tokens=new_tokens,
        prompt_tokens=r["prompt_tokens"],
        generated_tokens=r["generated_tokens"],
        prompt_source=r["prompt_source"],
        tokenizer=tokenizer_label,
        tokenizer_dir=str(tokenizer_dir or folder),
        backend=backend,
        properties={k: str(v) for k, v in props.items()},
        emulated_target=emulated,
        compiled_models=r["compiled_models"],
        **_peak_fields(r),
        import_rss_bytes=r["import"],
        loaded=Rss(**r["loaded"]),
        generate_peak_rss_bytes=r["generate_peak"],
        end=Rss(**r["end"]),
        load_seconds=r["load_seconds"],
        generate_seconds=r["generate_seconds"],
        ttft_seconds=r["ttft_seconds"],
        samples=r["samples"],
        sample_interval=sample_interval,
        openvino_version=r["openvino_version"],
        genai_version=r["genai_version"],
    )


def format_genai_measurement(m: GenaiMeasurement, include_baseline: bool = False) -> str:
    """The human-readable report of one genai measurement (``include_baseline``: the process's peak first)."""
    from ovmem.measure import _emulated, peak_line
    from ovmem.units import format_bytes as fb

    props = " ".join(f"{k}={v}" for k, v in m.properties.items()) or "-"
    llm = next((p for title, p in m.compiled_models.items() if title.startswith("LLM")), {})
    kv = llm.get("KV_CACHE_PRECISION")
    decided = f"{m.backend}" + (f", KV cache {kv}" if kv else "") + (
        f", inference {llm['INFERENCE_PRECISION_HINT']}" if "INFERENCE_PRECISION_HINT" in llm else ""
    )
    ttft = f", first token {m.ttft_seconds:.2f} s" if m.ttft_seconds is not None else ""
    lines = [
        f"{m.model} on {m.device}{_emulated(m.emulated_target)} with openvino.genai {m.genai_version.split('-')[0]} (LLMPipeline): "
        f"prompt {m.prompt_tokens} tokens, {m.generated_tokens} new tokens",
        f"  backend      {decided}; compiled: {', '.join(m.compiled_models) or '-'}",
        f"  tokenizer    {m.tokenizer}; prompt as {m.prompt_source}",
        f"  properties   {props}",
        peak_line(m, include_baseline),
        f"    at peak    anon {fb(m.anon_at_peak)} + file {fb(m.file_at_peak)}",
        f"    own peaks  anon {fb(m.peak_anon_bytes)}, file {fb(m.peak_file_bytes)}",
        f"  loaded       {fb(m.loaded.rss)} (anon {fb(m.loaded.anon)} + file {fb(m.loaded.file)}) before generate",
        f"  generate     peak {fb(m.generate_peak_rss_bytes)}, {fb(m.generate_peak_rss_bytes - m.loaded.rss)} more than "
        f"loaded; {fb(m.end.rss)} after it",
        f"  genai import {fb(m.import_rss_bytes)} (in the peak; not the model's)",
        f"  baseline     {fb(m.baseline.rss)} (anon {fb(m.baseline.anon)}, file {fb(m.baseline.file)}) "
        "after import openvino",
        f"  time         load {m.load_seconds:.2f} s, generate {m.generate_seconds:.2f} s{ttft}; "
        f"{m.samples} samples every {m.sample_interval * 1e3:g} ms",
    ]
    return "\n".join(lines)


def generated_tokenizer(
    vocab_size: int, *, cache_dir: str | os.PathLike[str] | None = None, specials: Mapping[int, str] | None = None
) -> Path:
    """The folder of a word-level tokenizer and detokenizer for ``vocab_size`` ids, built once and cached.

    Ids ``0 .. V-2`` are the words ``w0 .. w{V-2}`` (split on white space), id ``V-1`` is ``<eos>``
    (a special token, skipped when decoding). Built with ``openvino_tokenizers``' pipeline steps, so
    ``transformers`` is not needed. The folder is under ``cache_dir`` (default ``$OVMEM_CACHE`` or
    ``~/.cache/ovmem``), keyed by the vocabulary size and the openvino-tokenizers version.

    ``specials`` (id → text) puts special tokens at those ids instead of words, split out of the text
    wherever they occur (also back to back): a VLM's image tags (``<image>``, ``<|image_pad|>``), which
    genai's VLMPipeline repeats once per image token and looks up by encoding the tag.
    """
    from ovmem.errors import UsageError
    from ovmem.genai import TOKENIZER_FILES, has_tokenizer

    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 3:
        raise UsageError(f"a generated tokenizer needs a vocabulary of at least 3 tokens, got {vocab_size!r}")
    _require_genai()
    import openvino as ov
    import openvino_tokenizers
    from openvino_tokenizers import tokenizer_pipeline as tp
    from openvino_tokenizers.utils import change_inputs_type, change_outputs_type

    version = getattr(openvino_tokenizers, "__version__", "unknown").split("-")[0]
    root = Path(cache_dir or os.environ.get("OVMEM_CACHE") or Path.home() / ".cache" / "ovmem")
    specials = {int(k): str(v) for k, v in (specials or {}).items()}
    if any(not 0 <= k < vocab_size - 1 for k in specials):
        raise UsageError(f"special token ids must be in 0 .. {vocab_size - 2}, got {sorted(specials)}")
    tag = ""
    if specials:
        import hashlib

        tag = "-s" + hashlib.sha1(json.dumps(sorted(specials.items())).encode()).hexdigest()[:10]
    folder = root / "genai-tokenizers" / f"wordlevel-v{_TOKENIZER_FORMAT}-{vocab_size}{tag}-tok{version}"
    if has_tokenizer(folder):
        return folder

    eos = vocab_size - 1
    vocab = [specials.get(i, f"w{i}") for i in range(eos)] + ["<eos>"]
    pipeline = tp.TokenizerPipeline()
    pipeline.vocab = vocab
    # The special-token split comes first because the steps after it expect its "skip" output; the
    # truncation step is there because genai's MakeAddSpecialTokensSatateful only recognises a main
    # token input of CombineSegments behind Add/Subtract/Truncate (otherwise the tokenizer fails to
    # compile). The decoder must have a non-empty skip list (an empty constant breaks compilation).
    pipeline.add_steps(
        [
            tp.SpecialTokensSplit([tp.SpecialToken(t) for t in ("<eos>", *specials.values())]),
            tp.WhitespaceSplitStep(),
            tp.VocabEncoderStep(vocab, default_value=0),
            tp.TruncationStep(max_length=2**31 - 1),
            tp.CombineSegmentsStep(inputs=[tp.Sequence()], add_special_tokens=False),
            tp.PaddingStep(token="w0", _token_id=0),
            tp.VocabDecoderStep(vocab=[word + " " for word in vocab], skip_tokens=[eos, *sorted(specials)]),
            tp.FuseStep(),
        ]
    )
    full = change_outputs_type(pipeline.get_tokenizer_ov_subgraph(), ov.Type.i64)
    detokenizer = change_inputs_type(pipeline.get_detokenizer_ov_subgraph(), ov.Type.i64)
    # genai reads input_ids and attention_mask; token_type_ids would be passed on to the model.
    outputs = [out for out in full.outputs if "token_type_ids" not in out.get_names()]
    tokenizer = ov.Model(outputs, full.get_sinks(), full.get_parameters(), "tokenizer")
    for model in (tokenizer, detokenizer):
        model.set_rt_info(eos, "eos_token_id")
        model.set_rt_info(0, "pad_token_id")
        model.set_rt_info("ovmem: generated word-level tokenizer, no chat template", "ovmem_generated")
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    ov.save_model(tokenizer, str(tmp / TOKENIZER_FILES[0]))
    ov.save_model(detokenizer, str(tmp / TOKENIZER_FILES[1]))
    try:
        tmp.replace(folder)  # atomic: a concurrent builder either wins or finds a complete folder
    except OSError:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return folder


# --- parent side --------------------------------------------------------------------------------


def _require_genai() -> None:
    from ovmem.errors import UsageError

    missing = [name for name in ("openvino_genai", "openvino_tokenizers") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"--runtime genai needs {' and '.join(missing)}: {INSTALL_HINT}")


def _model_folder(path: str | os.PathLike[str]) -> Path:
    from ovmem.errors import UsageError

    folder = Path(path)
    if folder.is_file() and folder.name == "openvino_model.xml":
        folder = folder.parent
    if not folder.exists():
        raise UsageError(f"{path}: no such file or folder")
    if not folder.is_dir():
        raise UsageError(f"{path}: --runtime genai takes the export folder (with openvino_model.xml)")
    if (folder / "openvino_language_model.xml").is_file():
        raise UsageError(f"{path}: a VLM export; measure_genai measures LLMPipeline (VLMPipeline: ovmem.vlm.genai_measure.measure_genai_vlm)")
    if not (folder / "openvino_model.xml").is_file():
        raise UsageError(f"{path}: no openvino_model.xml in this folder (LLMPipeline reads that name)")
    return folder.resolve()


def _vocab_size(folder: Path) -> int:
    from ovmem.errors import UsageError

    try:
        config = json.loads((folder / "config.json").read_text())
    except FileNotFoundError:
        raise UsageError(f"{folder}: no tokenizer and no config.json to take vocab_size from") from None
    except ValueError as exc:
        raise UsageError(f"{folder}/config.json: not JSON ({exc})") from None
    language = config.get("text_config") or config.get("llm_config") or {}  # llm_config: InternVL's
    vocab = config.get("vocab_size", language.get("vocab_size"))
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 3:
        raise UsageError(f"{folder}/config.json: no usable vocab_size (got {vocab!r}) for a generated tokenizer")
    return vocab


# --- child side (runs in the fresh process) -------------------------------------------------------


def _load_base():
    """:mod:`ovmem.measure` loaded by path (its module level is light), without the ``ovmem`` package."""
    path = Path(__file__).resolve().parent / "measure.py"
    spec = importlib.util.spec_from_file_location("_ovmem_measure_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse_compiled_models(text: str) -> dict[str, dict[str, str]]:
    """genai's ``print_compiled_model_properties`` output: ``Model: TITLE`` then ``  KEY: VALUE`` lines."""
    models: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("Model: "):
            title = line[len("Model: ") :].strip()
            while title in models:  # the same title twice (two pipelines): keep both
                title += "'"
            current = models.setdefault(title, {})
        elif current is not None and line.startswith("  ") and ":" in line:
            key, _, value = line.strip().partition(":")
            current[key.strip()] = value.strip()
        elif not line.startswith(" "):
            current = None
    return models


class _CaptureStdout:
    """Points file descriptor 1 at a temporary file, so what the C++ side prints can be read back."""

    def __enter__(self):
        import sys
        import tempfile

        sys.stdout.flush()
        self._file = tempfile.TemporaryFile(mode="w+b")
        self._saved = os.dup(1)
        os.dup2(self._file.fileno(), 1)
        return self

    def __exit__(self, *exc) -> None:
        import ctypes
        import sys

        sys.stdout.flush()
        try:
            ctypes.CDLL(None).fflush(None)  # C stdio buffers
        except (OSError, AttributeError):
            pass
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode("utf-8", "replace")
        self._file.close()


def _make_prompt(tokenizer, spec: dict[str, Any]):
    """A prompt of exactly ``seq_len`` tokens as ``generate`` counts them, and how it was given."""
    n = spec["seq_len"]

    def count(text: str) -> int:
        return int(tokenizer.encode(text).input_ids.get_shape()[-1])

    if spec["words"]:  # the generated tokenizer: one token per word
        import numpy as np

        # seeded random ids over the whole vocabulary, as ``ovmem measure`` feeds: the rows of
        # the embedding table a prompt looks up decide how much of it pages in (cpu-runtime rule 4)
        ids = np.random.default_rng(0).integers(1, spec["words"], n)
        text = " ".join(f"w{i}" for i in ids)
        if count(text) == n:
            return text, "text"
    else:
        k = n
        for _ in range(12):
            text = "hello " * k if k > 0 else ""
            got = count(text)
            if got == n:
                return text, "text"
            k += n - got
            if k < 0:
                break
    import numpy as np
    import openvino as ov

    ids = (np.arange(n, dtype=np.int64) % 100 + 10).reshape(1, n)
    return ov.Tensor(ids), "token ids"


def _child_main(argument: str) -> int:
    """Build the pipeline, generate once, print the result as one tagged JSON line."""
    base = _load_base()
    stage = "import openvino"
    try:
        import openvino as ov

        stage = "start"
        spec = json.loads(argument)
        sampler, (base_rss, base_anon, base_file), hwm_ok = base._start_sampling(spec["interval"])

        def relative(sample) -> dict[str, int]:
            return {"rss": sample[0] - base_rss, "anon": sample[1] - base_anon, "file": sample[2] - base_file}

        stage = "import openvino_genai"
        import openvino_genai as genai

        import_rss = sampler.sample()[0] - base_rss
        os.environ["OPENVINO_LOG_LEVEL"] = "3"  # genai prints each compiled model's properties (> WARNING)

        stage = "LLMPipeline"
        properties = dict(spec["properties"])
        if spec["scheduler"]:
            config = genai.SchedulerConfig()
            config.max_num_batched_tokens = 2**63 - 1  # what LLMPipeline's default (latency) config has
            config.enable_prefix_caching = True
            for key, value in spec["scheduler"].items():
                if not hasattr(config, key):
                    raise ValueError(f"SchedulerConfig has no field {key!r}")
                old = getattr(config, key)
                if isinstance(old, bool):
                    value = str(value).lower() in ("1", "true", "yes", "on")
                elif isinstance(old, int):
                    value = int(value)
                setattr(config, key, value)
            properties["scheduler_config"] = config
        t0 = time.perf_counter()
        with _CaptureStdout() as captured:
            if spec["tokenizer_dir"]:
                tokenizer = genai.Tokenizer(spec["tokenizer_dir"])
                pipe = genai.LLMPipeline(spec["folder"], tokenizer, spec["device"], properties)
            else:
                pipe = genai.LLMPipeline(spec["folder"], spec["device"], properties)
        load_seconds = time.perf_counter() - t0

        stage = "building the prompt"
        prompt, prompt_source = _make_prompt(pipe.get_tokenizer(), spec)
        config = pipe.get_generation_config()
        config.max_new_tokens = spec["new_tokens"]
        config.min_new_tokens = spec["new_tokens"]
        config.ignore_eos = True
        config.do_sample = False
        config.num_beams = 1
        config.apply_chat_template = False
        config.stop_strings = set()
        config.stop_token_ids = set()
        loaded = sampler.open_window()

        stage = "generate"
        t0 = time.perf_counter()
        result = pipe.generate([prompt] if prompt_source == "text" else prompt, config)  # a list: DecodedResults
        generate_seconds = time.perf_counter() - t0
        generate_peak = sampler.close_window()
        end = sampler.sample()
        metrics = result.perf_metrics
        try:
            ttft = float(metrics.get_ttft().mean) / 1e3
        except Exception:  # noqa: BLE001 - optional
            ttft = None
        prompt_tokens = int(metrics.get_num_input_tokens())
        generated_tokens = int(metrics.get_num_generated_tokens())

        stage = "stop"
        out = {
            **base._stop_sampling(sampler, (base_rss, base_anon, base_file), hwm_ok),
            "import": import_rss,
            "loaded": relative(loaded),
            "generate_peak": generate_peak - base_rss,
            "end": relative(end),
            "load_seconds": load_seconds,
            "generate_seconds": generate_seconds,
            "ttft_seconds": ttft,
            "prompt_tokens": prompt_tokens,
            "generated_tokens": generated_tokens,
            "prompt_source": prompt_source,
            "compiled_models": _parse_compiled_models(captured.text),
            "samples": sampler.count,
            "openvino_version": ov.__version__,
            "genai_version": genai.get_version() if hasattr(genai, "get_version") else genai.__version__,
        }
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
        return base._send_failure(stage, exc)
    return base._send(out)
