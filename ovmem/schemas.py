"""The JSON every command prints, as JSON Schema (draft 2020-12): the contract ``docs/json.md``
documents.

:data:`DEFS` holds one schema per object (``report``, ``sweep``, ``budget-limit``, ...) and
:data:`COMMANDS` says which objects each command may print. ``python -m ovmem.schemas`` writes
``docs/schemas/ovmem.schema.json`` (every object under ``$defs``) and the reference section of
``docs/json.md``; a test checks both are current and that real outputs validate.

Every top-level object carries ``schema_version`` (:data:`~ovmem.report.SCHEMA_VERSION`): it goes up
when a field is removed or changes meaning, not when one is added.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ovmem.report import SCHEMA_VERSION

__all__ = ["COMMANDS", "DEFS", "bundle", "reference_markdown", "schema_for"]

Schema = dict[str, Any]

_STR: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_BYTES: Schema = {"type": "integer", "minimum": 0}
_NUM: Schema = {"type": "number"}
_BOOL: Schema = {"type": "boolean"}
_NULL: Schema = {"type": "null"}
_ANY: Schema = {}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, _NULL]}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def _map(values: Schema) -> Schema:
    return {"type": "object", "additionalProperties": values}


def _enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def _object(description: str, fields: dict[str, tuple[Schema, str]], optional: tuple[str, ...] = ()) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": {name: {**schema, "description": text} for name, (schema, text) in fields.items()},
        "required": [name for name in fields if name not in optional],
        "additionalProperties": False,
    }


_VERSION = ({"type": "integer", "const": SCHEMA_VERSION}, "the JSON contract's version (docs/json.md)")
_LINES = (_array(_STR), "`llm`, `vit`, `vlm` only: the classic lines the text output prints")
_EXPLAIN = ({"type": "object"}, "`--explain` (and `analyze`'s default): the peak explained, see ovmem/explain.py")
_REPORT_OR_PIPELINE = {"anyOf": [_ref("report"), _ref("pipeline-report")]}
_TARGET = (_nullable(_object("the CPU the analysis is for (`--target`)", {
    "name": (_STR, "host, an ISA level or a CPU family"),
    "isa": (_enum("avx2", "avx2_vnni", "avx2_vnni_2", "avx512", "avx512_bf16", "amx", "amx_fp16"), "its ISA level"),
    "threads": (_INT, "inference threads there"),
    "inference_precision": (_STR, "the plugin's default activation type there"),
    "core_cache_bytes": (_INT, "L1d + L2 per core there: where kernels switch blocking (the Snippets MHA repacking)"),
    "note": (_STR, "how it was found (host: detected, or the fallback and why) or the family"),
})), "CPU only; null for devices whose rules read no target")
_EMULATED = (_nullable(_STR), "the ISA level the run emulated (`--emulate-target`, oneDNN capped; not a real CPU of "
             "that kind), null for the host as it is")
_KIND = (_enum("model", "llm", "vlm"), "what was analysed: a model, as `ovmem llm` does, or as `ovmem vlm` does")
_VARIABLE = (_enum("seq_len", "prompt_tokens"), "what the length is: `prompt_tokens` for a VLM pipeline (kind vlm)")
_PARTS = (_map(_BYTES), ("the total by part: weights, states, io, temp, scratch, runtime (a pipeline: weights, "
                         "runtime and what each sub-model keeps, by role); they add up to total_bytes"))

_RSS = _object("resident memory at one moment, bytes", {
    "rss": (_BYTES, "resident set"), "anon": (_BYTES, "anonymous pages"), "file": (_BYTES, "file-backed pages"),
})  # fmt: skip

_REMOTE = _object("a remote model (hf:// or http(s)://, or --weights-from): what fetching it cost (RemoteModel.to_dict)", {
    "source": (_STR, "the model as given"),
    "revision": (_STR, "the Hub commit it was read at (empty for plain HTTP)"),
    "from_cache": (_BOOL, "true: read from ovmem's cache, no network (the fetched_* fields are 0)"),
    "fetched_bytes": (_BYTES, "bytes received: the .xml and JSON files whole, and ranges of the .bin files"),
    "fetched_weight_bytes": (_BYTES, "of them, from the .bin files"),
    "fetched_requests": (_INT, "HTTP requests made"),
    "fetched_seconds": (_NUM, "seconds waiting for the network"),
    "weights_bytes": (_BYTES, "the .bin files' full size (what a download would cost)"),
    "cache_folder": (_STR, "where the local copy is (`ovmem cache list`)"),
})
REMOTE_OBJECTS = ("report", "pipeline-report", "compare", "sweep", "budget-limit", "budget-fit", "whatif")
"""The objects a command prints for a remote model: each has an optional ``remote``."""

DEFS: dict[str, Schema] = {
    "report": _object(
        "one analysis: `ovmem analyze` / `demo --json` (MemoryReport.to_dict)",
        {
            "schema_version": _VERSION,
            "model": (_STR, "the export folder's name, the IR's stem, or the model's friendly name"),
            "seq_len": (_INT, "tokens in this run"),
            "batch": (_INT, "batch size"),
            "past_len": (_INT, "tokens already in the KV cache"),
            "device": (_STR, "CPU (the default), generic or GPU"),
            "runtime": (_enum("ov", "genai"), "who runs the model: `ov` (the compiled model as given, as optimum-intel "
                        "runs it) or `genai` (openvino.genai's LLMPipeline: last-token LM head, no mask, paged KV cache)"),
            "target": _TARGET,
            "inference_precision": (_nullable(_STR), "the activations' type on the device (CPU), null elsewhere"),
            "allocator": (_STR, "the temporaries' planner, with its options"),
            "passes": (_STR, "the pass pipeline that ran"),
            "lift": (_enum("graph", "runtime"), "the model as exported, or the plugin's compiled graph"),
            "weights_bytes": (_BYTES, "constants at their stored size plus the device's copies"),
            "state_bytes": (_BYTES, "the variables (KV cache) after this run"),
            "io_bytes": (_BYTES, "model inputs and outputs, plus the runtime's copies"),
            "temp_peak_bytes": (_BYTES, "the arena the allocator needs for the intermediate tensors"),
            "temp_lower_bound_bytes": (_BYTES, "most intermediate bytes live at one step"),
            "scratch_bytes": (_BYTES, "kernel scratch held for the run (CPU)"),
            "scratch": (_map(_BYTES), "scratch_bytes by kernel"),
            "runtime_bytes": (_BYTES, "the device runtime's own memory (CPU)"),
            "total_bytes": (_BYTES, "the sum of the parts"),
            "peak": (_nullable(_object("where the temporaries peak", {
                "step": (_INT, "execution step"), "op_type": (_STR, "the node's type"),
                "name": (_STR, "the node's name"),
            })), "where the live temporaries reach their maximum (null: none)"),
            "counts": (_map(_INT), "values per part: weights, states, io, temps, nodes"),
            "warnings": (_array(_STR), "what the analysis could not size"),
            "validated": (_BOOL, "false: the device is modelled, not validated (GPU)"),
            "device_note": (_STR, "what the device model is, when it says"),
            "lines": _LINES,
            "explain": _EXPLAIN,
        },
        optional=("lines", "explain"),
    ),
    "pipeline-report": _object(
        "a VLM export's pipeline: `ovmem vit` / `vlm --json`, and `llm` on a VLM export (PipelineReport.to_dict)",
        {
            "schema_version": _VERSION,
            "model": (_STR, "the export folder's name"),
            "model_type": (_nullable(_STR), "config.json's model_type"),
            "device": (_STR, "CPU (the default), generic or GPU"),
            "runtime": (_enum("ov", "genai"), "who runs the pipeline: `ov` (optimum-intel) or `genai` (openvino.genai's "
                        "VLMPipeline: the language model as genai compiles it; the vision parts are the same)"),
            "target": _TARGET,
            "validated": (_BOOL, "false: the device is modelled, not validated"),
            "vision_sequence": (_INT, "patches fed to the vision encoder (0: no image)"),
            "images": (_INT, "images"),
            "image_tokens": (_INT, "prompt tokens of the image: the rows the vision parts hand to the language model "
                                   "(and the family's tag tokens around them, MiniCPM-V)"),
            "prompt_tokens": (_INT, "text tokens"),
            "prefill_tokens": (_INT, "image_tokens + prompt_tokens"),
            "weights_bytes": (_BYTES, "every part's weights"),
            "weights_by_stage": (_map(_BYTES), "weights of the vision, embeddings, language and other parts"),
            "held_bytes": (_map(_BYTES), "working memory each sub-model keeps (its largest run), by role"),
            "runtime_bytes": (_BYTES, "the device runtime's own memory"),
            "host_bytes": (_map(_BYTES), "buffers the runtime around the models keeps for images, by name "
                                         "(MiniCPM-V's position table)"),
            "total_bytes": (_BYTES, "weights + runtime + everything held + host buffers"),
            "notes": (_array(_STR), "what the reader should know (tied tables, modelled devices)"),
            "runs": (_array(_object("one sub-model at the sizes of one phase", {
                "role": (_STR, "language, text_embeddings, vision_embeddings, ..."),
                "stage": (_STR, "vision, embeddings, language or other"),
                "phase": (_enum("image", "prefill", "decode", "loaded"), "when it runs"),
                "working_bytes": (_BYTES, "states + io + temporaries + scratch of this run"),
                "report": (_ref("report"), "the full analysis"),
            })), "every sub-model run"),
            "lines": _LINES,
            "explain": _EXPLAIN,
        },
        optional=("lines", "explain"),
    ),
    "compare": _object("`ovmem compare-allocators --json`: a model's temporaries, or the buffers of `--requests FILE.csv`", {
        "schema_version": _VERSION,
        "model": (_STR, "the model (not with --requests)"),
        "seq_len": (_INT, "tokens (not with --requests)"),
        "requests_file": (_STR, "--requests: the CSV planned"),
        "capacity_bytes": (_nullable(_BYTES), "--requests: the capacity the file's name gives (MiniMalloc's NAME.CAPACITY.csv)"),
        "requests": (_INT, "buffers planned"),
        "alignment": (_INT, "bytes"),
        "lower_bound_bytes": (_BYTES, "most bytes live at one step"),
        "allocators": (_array(_object("one planner's result", {
            "allocator": (_STR, "its name"),
            "peak": (_nullable(_BYTES), "arena size (null: it could not plan these requests)"),
            "ratio": (_nullable(_NUM), "peak / lower bound"),
            "seconds": (_NUM, "planning time"),
            "note": (_STR, "why it could not plan, if so"),
        })), "every planner"),
    }, optional=("model", "seq_len", "requests_file", "capacity_bytes")),
    "measurement": _object("`ovmem measure --json` on a model: read, compile, one inference in a fresh process", {
        "schema_version": _VERSION,
        "model": (_STR, "the model"), "path": (_STR, "the IR measured"), "device": (_STR, "OpenVINO device"),
        "seq_len": (_INT, "tokens"), "batch": (_INT, "batch"), "past_len": (_INT, "tokens prefilled first"),
        "inputs": (_map(_array(_INT)), "the shape of each input fed"),
        "baseline": (_ref("rss"), "right after import openvino"),
        "peak_rss_bytes": (_BYTES, "peak resident memory above the baseline"),
        "peak_anon_bytes": (_BYTES, "peak anonymous memory above the baseline"),
        "peak_file_bytes": (_BYTES, "peak file-backed memory above the baseline"),
        "anon_at_peak": (_BYTES, "anonymous part at the RSS peak"),
        "file_at_peak": (_BYTES, "file-backed part at the RSS peak"),
        "infer_start": (_ref("rss"), "when the inference started"),
        "infer_peak_rss_bytes": (_BYTES, "peak during the inference, above the baseline"),
        "hwm_rss_bytes": (_nullable(_BYTES), "the kernel's high-water mark above the baseline"),
        "device_rss_bytes": (_BYTES, "resident right after the plugin is loaded"),
        "compile_seconds": (_NUM, "compile time"), "infer_seconds": (_NUM, "inference time"),
        "samples": (_INT, "readings of /proc/self/status"), "sample_interval": (_NUM, "seconds between readings"),
        "openvino_version": (_STR, "the runtime measured"),
        "properties": (_map(_STR), "the compiled model's properties"),
        "emulated_target": _EMULATED,
        "new_tokens": (_INT, "decode steps of one token after the inference, inside its window (--new-tokens)"),
    }),
    "genai-measurement": _object("`ovmem measure --runtime genai --json`: openvino_genai.LLMPipeline, one generate", {
        "schema_version": _VERSION, "runtime": (_enum("genai"), "who ran the model"),
        "model": (_STR, "the model"), "path": (_STR, "the export measured"), "device": (_STR, "OpenVINO device"),
        "seq_len": (_INT, "prompt tokens asked for"), "new_tokens": (_INT, "tokens asked to generate"),
        "prompt_tokens": (_INT, "prompt tokens genai processed"), "generated_tokens": (_INT, "tokens genai generated"),
        "prompt_source": (_STR, "how the prompt was built (text or token ids)"),
        "tokenizer": (_STR, "the export's tokenizer, or the generated one and where it is"),
        "tokenizer_dir": (_STR, "the folder genai read the tokenizer and detokenizer models from"),
        "backend": (_STR, "the attention backend genai chose (PA or SDPA)"),
        "properties": (_map(_STR), "properties given to the pipeline"),
        "compiled_models": (_map(_map(_ANY)), "the models genai compiled, with their properties"),
        "baseline": (_ref("rss"), "right after import openvino"),
        "import_rss_bytes": (_BYTES, "what import openvino_genai added"),
        "peak_rss_bytes": (_BYTES, "peak resident memory above the baseline"),
        "peak_anon_bytes": (_BYTES, "peak anonymous memory above the baseline"),
        "peak_file_bytes": (_BYTES, "peak file-backed memory above the baseline"),
        "anon_at_peak": (_BYTES, "anonymous part at the RSS peak"),
        "file_at_peak": (_BYTES, "file-backed part at the RSS peak"),
        "loaded": (_ref("rss"), "after the pipeline was built"),
        "generate_peak_rss_bytes": (_BYTES, "peak during generate, above the baseline"),
        "end": (_ref("rss"), "after generate"),
        "hwm_rss_bytes": (_nullable(_BYTES), "the kernel's high-water mark above the baseline"),
        "load_seconds": (_NUM, "building the pipeline"), "generate_seconds": (_NUM, "generate"),
        "ttft_seconds": (_nullable(_NUM), "time to the first token"),
        "samples": (_INT, "readings of /proc/self/status"), "sample_interval": (_NUM, "seconds between readings"),
        "openvino_version": (_STR, "the runtime measured"), "genai_version": (_STR, "openvino.genai's version"),
        "emulated_target": _EMULATED,
    }),
    "vlm-genai-measurement": _object("`ovmem measure --runtime genai --json` on a VLM export: VLMPipeline, one generate", {
        "schema_version": _VERSION, "runtime": (_enum("genai"), "who ran the model"),
        "model": (_STR, "the export folder's name"), "path": (_STR, "the folder"), "device": (_STR, "OpenVINO device"),
        "image": (_array(_INT), "width and height of the image given"), "words": (_INT, "prompt words asked for"),
        "new_tokens": (_INT, "tokens asked to generate"),
        "input_tokens": (_INT, "genai's prompt count: image tokens, their tags and the words"),
        "generated_tokens": (_INT, "tokens genai generated"),
        "tokenizer": (_STR, "the generated tokenizer and where it is"),
        "tokenizer_dir": (_STR, "the folder genai read the tokenizer and detokenizer models from"),
        "baseline": (_ref("rss"), "right after import openvino"),
        "import_rss_bytes": (_BYTES, "what import openvino_genai added"),
        "loaded_rss_bytes": (_BYTES, "after the pipeline was built, above the baseline"),
        "peak_rss_bytes": (_BYTES, "peak resident memory above the baseline"),
        "peak_anon_bytes": (_BYTES, "peak anonymous memory above the baseline"),
        "peak_file_bytes": (_BYTES, "peak file-backed memory above the baseline"),
        "generate_peak_rss_bytes": (_BYTES, "peak during generate, above the baseline"),
        "hwm_rss_bytes": (_nullable(_BYTES), "the kernel's high-water mark above the baseline"),
        "load_seconds": (_NUM, "building the pipeline"), "generate_seconds": (_NUM, "generate"),
        "compiled_models": (_map(_map(_ANY)), "the models genai compiled, with their properties"),
        "openvino_version": (_STR, "the runtime measured"), "genai_version": (_STR, "openvino.genai's version"),
        "emulated_target": _EMULATED,
    }),
    "pipeline-measurement": _object("`ovmem measure --json` on a VLM export: the whole pipeline", {
        "schema_version": _VERSION,
        "model": (_STR, "the export folder's name"), "path": (_STR, "the folder"),
        "model_type": (_nullable(_STR), "config.json's model_type"), "device": (_STR, "OpenVINO device"),
        "vision_sequence": (_INT, "patches"), "images": (_INT, "images"), "image_tokens": (_INT, "image tokens fed"),
        "planned_image_tokens": (_nullable(_INT), "what the analysis planned"),
        "prompt_tokens": (_INT, "text tokens"), "prefill_tokens": (_INT, "image + prompt tokens"),
        "parts": (_array(_STR), "the sub-models compiled"),
        "runs": (_array(_object("one inference of a sub-model", {
            "role": (_STR, "the sub-model"), "phase": (_STR, "image, prefill or decode"),
            "inputs": (_map(_array(_INT)), "input shapes"), "output": (_array(_INT), "the first output's shape"),
            "seconds": (_NUM, "inference time"),
        })), "every inference, in order"),
        "phases": (_map(_object("one phase", {
            "start": (_ref("rss"), "when it started"), "peak_rss_bytes": (_BYTES, "its peak above the baseline"),
            "seconds": (_NUM, "its duration"),
        })), "compile, image, prefill, decode"),
        "peak_phase": (_STR, "the phase with the highest peak"),
        "baseline": (_ref("rss"), "right after import openvino"),
        "peak_rss_bytes": (_BYTES, "peak resident memory above the baseline"),
        "peak_anon_bytes": (_BYTES, "peak anonymous memory"), "peak_file_bytes": (_BYTES, "peak file-backed memory"),
        "anon_at_peak": (_BYTES, "anonymous part at the peak"),
        "file_at_peak": (_BYTES, "file-backed part at the peak"),
        "hwm_rss_bytes": (_nullable(_BYTES), "the kernel's high-water mark above the baseline"),
        "device_rss_bytes": (_BYTES, "resident right after the plugin is loaded"),
        "compile_seconds": (_NUM, "compile time"),
        "samples": (_INT, "readings"), "sample_interval": (_NUM, "seconds between readings"),
        "openvino_version": (_STR, "the runtime measured"),
        "properties": (_map(_map(_STR)), "each compiled sub-model's properties"),
        "emulated_target": _EMULATED,
    }),
    "validate": _object("`ovmem validate --json`", {
        "schema_version": _VERSION,
        "points": (_array(_object("one sequence length", {
            "seq_len": (_INT, "tokens"),
            "estimate": (_ref("report"), "the analysis"),
            "measurement": (_ref("measurement"), "the measurement"),
            "error": (_NUM, "(estimate - measured) / measured"),
        })), "one per --seq-len"),
    }),
    "list": _object("`ovmem list --json`", {
        "schema_version": _VERSION,
        "passes": (_map(_STR), "every registered pass: its first doc line"),
        "allocators": (_array(_STR), "every registered allocator"),
        "targets": (_array(_STR), "every name `--target` takes: host, the ISA levels, the CPU families"),
    }),
    "sweep": _object("`ovmem sweep --json` (Sweep.to_dict)", {
        "schema_version": _VERSION,
        "model": (_STR, "the model"),
        "kind": _KIND,
        "variable": _VARIABLE,
        "device": (_STR, "generic, CPU or GPU"),
        "lengths": (_array(_INT), "the lengths, ascending"),
        "points": (_array(_object("one length", {
            "length": (_INT, "the sequence length (prompt tokens for kind vlm)"),
            "method": (_enum("lift", "shapes", "runtime", "pipeline"),
                       ("how the graph was obtained: reshaped by OpenVINO, instantiated from the lifted graphs' "
                        "affine shapes, compiled by the plugin, or a pipeline's sub-models lifted")),
            "parts": _PARTS,
            "total_bytes": (_BYTES, "the total"),
            "report": (_REPORT_OR_PIPELINE, "the full analysis at this length"),
        })), "one per length"),
        "lifts": (_INT, "graphs OpenVINO reshaped"),
        "seconds": (_NUM, "wall time"),
        "notes": (_array(_STR), "e.g. why the shapes could not be reused"),
        "budget": (_ref("budget-limit"), "`--budget`: the longest length that fits"),
    }, optional=("budget",)),
    "budget-limit": _object("`--budget SIZE` without a length: the longest that fits (BudgetLimit.to_dict)", {
        "schema_version": _VERSION,
        "question": ({"type": "string", "const": "max_length"}, "which budget question this answers"),
        "model": (_STR, "the model"),
        "kind": _KIND,
        "variable": _VARIABLE,
        "device": (_STR, "generic, CPU or GPU"),
        "budget_bytes": (_BYTES, "the budget"),
        "length": (_nullable(_INT), "the longest length that fits (null: not even `lowest`)"),
        "fits": (_BOOL, "whether any length fits"),
        "lowest": (_INT, "the shortest length there is (1; 0 prompt tokens for kind vlm)"),
        "limit": (_INT, "the longest length searched"),
        "limit_reached": (_BOOL, "the limit itself fits: a longer length may too"),
        "total_bytes": (_nullable(_BYTES), "the total at `length`"),
        "above_total_bytes": (_nullable(_BYTES), "the total at `length + 1` (at `lowest` when nothing fits)"),
        "wall": (_nullable(_STR), ("the part that grows the most from `length` to `length + 1` (nothing fits: "
                                   "the largest part at `lowest`)")),
        "growth": (_map(_INT), "bytes each part adds from `length` to `length + 1`"),
        "monotone": (_BOOL, "whether the totals analysed grew with the length"),
        "analyses": (_INT, "lengths analysed"),
        "lifts": (_INT, "graphs OpenVINO reshaped"),
        "instantiated": (_INT, "graphs instantiated from the lifted graphs' affine shapes"),
        "seconds": (_NUM, "wall time"),
        "notes": (_array(_STR), "caveats"),
        "report": (_nullable(_REPORT_OR_PIPELINE), "the full analysis at `length`"),
        "above": (_nullable(_REPORT_OR_PIPELINE), "the full analysis at `length + 1`"),
    }),
    "budget-fit": _object("`--budget SIZE` with a length: whether it fits (BudgetFit.to_dict)", {
        "schema_version": _VERSION,
        "question": ({"type": "string", "const": "fits"}, "which budget question this answers"),
        "model": (_STR, "the model"),
        "kind": _KIND,
        "variable": _VARIABLE,
        "device": (_STR, "generic, CPU or GPU"),
        "budget_bytes": (_BYTES, "the budget"),
        "length": (_INT, "the length asked about"),
        "fits": (_BOOL, "total_bytes <= budget_bytes"),
        "total_bytes": (_BYTES, "the total"),
        "margin_bytes": (_INT, "budget - total: to spare, or (negative) by how much it does not fit"),
        "largest": (_STR, "the largest part"),
        "parts": _PARTS,
        "report": (_REPORT_OR_PIPELINE, "the full analysis"),
    }),
    "whatif": _object("`ovmem whatif --json` (WhatIf.to_dict)", {
        "schema_version": _VERSION,
        "model": (_STR, "the model"),
        "baseline": (_ref("scenario"), "the model with the options given"),
        "scenarios": (_array(_ref("scenario")), "one per --vs, with its deltas"),
        "seconds": (_NUM, "wall time"),
    }),
    "scenario": _object("the baseline or one --vs", {
        "label": (_STR, "`baseline`, or the --vs text"),
        "changes": (_map(_ANY), "the ovmem.analyze keywords it changes (empty for the baseline)"),
        "parts": _PARTS,
        "total_bytes": (_BYTES, "the total"),
        "delta": (_map(_INT), "scenarios: each part minus the baseline's"),
        "delta_total_bytes": (_INT, "scenarios: total minus the baseline's"),
        "report": (_ref("report"), "the full analysis"),
    }, optional=("delta", "delta_total_bytes")),
    "rss": _RSS,
    "cache": _object("`ovmem cache list --json`", {
        "schema_version": _VERSION,
        "cache": (_STR, "ovmem's cache folder ($OVMEM_CACHE_DIR, else $XDG_CACHE_HOME/ovmem or ~/.cache/ovmem)"),
        "kinds": (_map(_object("one kind of entry", {
            "entries": (_INT, "how many"), "disk_bytes": (_BYTES, "blocks they take on disk"),
        })), "by kind: graphs (lifted models), host (the CPU plugin's answers), remote (remote models)"),
        "remote": (_array({"type": "object"}), "each cached remote model: its manifest (source, revision, files, "
                   "fetched, created), folder and disk_bytes (blocks used: the .bin files are sparse)"),
    }),
}
"""Every object the commands print, by name."""
for _name in REMOTE_OBJECTS:
    DEFS[_name]["properties"]["remote"] = {**_REMOTE, "description": "only for a remote model: " + _REMOTE["description"]}

COMMANDS: dict[str, tuple[str, ...]] = {
    "analyze": ("report", "budget-limit", "budget-fit"),
    "demo": ("report", "budget-limit", "budget-fit"),
    "compare-allocators": ("compare",),
    "measure": ("measurement", "pipeline-measurement", "genai-measurement", "vlm-genai-measurement"),
    "validate": ("validate",),
    "list": ("list",),
    "llm": ("report", "pipeline-report", "budget-limit", "budget-fit"),
    "vit": ("pipeline-report",),
    "vlm": ("pipeline-report", "budget-limit", "budget-fit"),
    "sweep": ("sweep",),
    "whatif": ("whatif",),
    "cache": ("cache",),
}
"""The objects each command's ``--json`` may print (``dump`` prints text only)."""


def bundle() -> Schema:
    """Every object under ``$defs``, as ``docs/schemas/ovmem.schema.json`` holds them."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/ovmem/ovmem/docs/schemas/ovmem.schema.json",
        "title": f"ovmem JSON output, schema_version {SCHEMA_VERSION}",
        "description": "One object per command output; validate against {'$ref': '#/$defs/NAME'}.",
        "$defs": DEFS,
    }


def schema_for(name: str) -> Schema:
    """A self-contained schema for the object ``name`` (its references resolve inside it)."""
    if name not in DEFS:
        raise KeyError(f"no object {name!r}; objects are {', '.join(DEFS)}")
    return {"$ref": f"#/$defs/{name}", "$defs": DEFS}


def _type_text(schema: Schema) -> str:
    if "$ref" in schema:
        return f"[{schema['$ref'].rsplit('/', 1)[1]}](#{schema['$ref'].rsplit('/', 1)[1]})"
    if "anyOf" in schema:
        return " or ".join(_type_text(s) for s in schema["anyOf"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type_text(schema['items'])}"
    if kind == "object" and "properties" not in schema:
        values = schema.get("additionalProperties")
        return f"object of {_type_text(values)}" if isinstance(values, dict) and values else "object"
    if kind == "object":
        return "object (below)"
    return kind or "any"


def _table(schema: Schema, lines: list[str], nested: list[tuple[str, Schema]], where: str) -> None:
    lines += ["| field | type | meaning |", "| --- | --- | --- |"]
    required = set(schema.get("required", ()))
    for name, prop in schema["properties"].items():
        optional = "" if name in required else " (optional)"
        lines.append(f"| `{name}` | {_type_text(prop)} | {prop.get('description', '')}{optional} |")
        for sub in (prop, prop.get("items", {}), *prop.get("anyOf", ()), prop.get("additionalProperties") or {}):
            if isinstance(sub, dict) and "properties" in sub:
                nested.append((f"{where}.{name}", sub))


def reference_markdown() -> str:
    """The reference section of ``docs/json.md``: every object's fields, from :data:`DEFS`."""
    lines = ["| command | prints |", "| --- | --- |"]
    for command, names in COMMANDS.items():
        lines.append(f"| `ovmem {command} --json` | " + ", ".join(f"[{n}](#{n})" for n in names) + " |")
    lines.append("| `ovmem dump` | text only (the annotated IR); no JSON |")
    for name, schema in DEFS.items():
        lines += ["", f"### {name}", "", schema.get("description", ""), ""]
        nested: list[tuple[str, Schema]] = []
        _table(schema, lines, nested, name)
        while nested:
            where, sub = nested.pop(0)
            lines += ["", f"`{where}`: {sub.get('description', '')}", ""]
            _table(sub, lines, nested, where)
    return "\n".join(lines) + "\n"


BEGIN = "<!-- reference: generated by `python -m ovmem.schemas`; do not edit below -->"


def write(root: Path) -> None:
    """Write ``docs/schemas/ovmem.schema.json`` and the reference section of ``docs/json.md``."""
    (root / "docs" / "schemas").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "schemas" / "ovmem.schema.json").write_text(json.dumps(bundle(), indent=2) + "\n")
    doc = root / "docs" / "json.md"
    head = doc.read_text().split(BEGIN)[0] if doc.exists() else "# JSON output\n\n"
    doc.write_text(head.rstrip("\n") + "\n\n" + BEGIN + "\n\n" + reference_markdown())


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
