"""The ``genai`` runtime: an LLM as ``openvino_genai.LLMPipeline`` runs it, as far as memory goes.

``ovmem.analyze(..., runtime="genai")`` (``--runtime genai``) is a switch that works on top of any
device; it changes three things (``docs/genai-notes.md`` has the sources and the measurements):

1. **The graph** (:func:`prepare_model`, on a clone; the caller's model is not modified) is the one
   genai compiles. ``ContinuousBatchingImpl`` (``src/cpp/src/continuous_batching/pipeline_impl.cpp``
   in ``openvinotoolkit/openvino.genai``, ``prepare_model_for_paged_attention``) runs
   ``ov::pass::SDPAToPagedAttention`` — here OpenVINO's own binding of it,
   ``openvino._offline_transformations.paged_attention_transformation``, with genai's flags — and
   then ``utils::apply_gather_before_matmul_transformation`` (``src/cpp/src/utils.cpp``): the LM
   head reads ``Gather(hidden, sampled_tokens_indices, axis 0)``, one row per sampled sequence.
   The result has every scheduled token flattened into the first axis (``input_ids [T]``), one
   ``PagedAttentionExtension`` per layer that writes its ``key_cache.L`` / ``value_cache.L`` inputs
   in place, no attention mask, and ``logits [S, 1, vocab]`` (notes rules 1-2).
2. **Its shapes** (:func:`paged_shapes`): ``T = batch · seq_len`` tokens, one sampled row per
   sequence, and each cache in the logical ``[batch, kv_heads, past + seq, head_size]`` shape of a
   stateful variable (heads and size from the ``num_k_heads`` / ``k_head_size`` rt_info the
   transformation leaves on each ``PagedAttentionExtension``). The lifted caches are **states**
   (:func:`settle_paged_graph`, with no ``Assign``: the kernel writes them in place), so ``states``
   sizes them and ``placement`` pins them like any KV cache.
3. **The passes** (:func:`ovmem.api.configure_pipeline` with ``runtime="genai"``): ``states{layout=paged}``
   — genai's CPU blocks of 32 tokens, resident for the blocks written (:mod:`ovmem.passes.states`,
   rules 5-6). ``cpu-scratch`` sizes the ``PagedAttentionExtension`` kernel's scratch because the
   graph has those nodes (:mod:`ovmem.passes.cpu_scratch`, rule 3).

What genai holds besides the model (:func:`runtime_parts`, added to the report's ``runtime_bytes``
on a device that counts its runtime's own memory — CPU; ``generic`` counts none), each measured
(``docs/genai-notes.md`` section 8, ``research/genai/overhead/RESULTS.md``):

* ``library``: genai's library and the ``openvino_tokenizers`` extension, :data:`GENAI_LIBRARY_BYTES`
  (what ``import openvino_genai`` adds);
* ``pipeline``: the continuous-batching pipeline's own code and buffers (scheduler, block manager,
  sampler), :data:`GENAI_PIPELINE_BYTES`, the same for every model, length and precision;
* ``tokenizer``: the tokenizer and detokenizer models genai compiles next to the LLM, when the
  tokenizer folder has them: their ``.bin`` files (mapped), the kernels' own tables — a string-to-id
  map and an id-to-string table, :data:`TOKENIZER_BYTES_PER_TOKEN` per vocabulary entry — and
  :data:`TOKENIZER_FIXED_BYTES`; the vocabulary is the logits' width. Measured on word-level
  tokenizers of 32 064 - 151 936 entries to 0.5 MiB; BPE merges are counted through their ``.bin``
  only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ovmem._lazy import is_model
from ovmem._lazy import openvino as ov
from ovmem._lazy import opset13 as ops
from ovmem.errors import ModelError, UsageError
from ovmem.ir.core import Graph, State
from ovmem.ir.types import TensorType

__all__ = [
    "GENAI_LIBRARY_BYTES", "GENAI_PIPELINE_BYTES", "PAGED_ATTENTION", "RUNTIMES", "settle_paged_graph",
    "check_runtime", "check_tokenizer", "gather_sampled_tokens", "has_tokenizer", "lift_genai", "paged_shapes", "prepare_model", "runtime_parts",
    "tokenizer_bytes",
]  # fmt: skip

RUNTIMES = ("ov", "genai")
"""``ov``: the compiled model as given, as optimum-intel runs it (with the copy of the logits its forward keeps,
``placement`` rule 4); ``genai``: openvino.genai's LLMPipeline."""

GENAI_LIBRARY_BYTES = 12 * 2**20
"""openvino.genai's library and the openvino_tokenizers extension: the RSS ``import openvino_genai``
adds after ``import openvino`` (~12 MiB, ``docs/genai-notes.md`` section 8; openvino-genai 2026.4.1,
this machine). A process cost, whatever the model."""

GENAI_PIPELINE_BYTES = 8 * 2**20
"""The continuous-batching pipeline's own memory once ``LLMPipeline`` is built, beyond the compiled
LLM: 6.5 - 8.6 MiB over 12 points (3 models × f16/int4 × N 8/256), independent of the model."""
TOKENIZER_FIXED_BYTES = 3_250_000
"""Tokenizer and detokenizer in a pipeline, beyond their ``.bin`` and vocabulary tables (~3.1 MiB)."""
TOKENIZER_BYTES_PER_TOKEN = 107
"""Anonymous memory the tokenizer and detokenizer kernels hold per vocabulary entry (measured slope)."""
TOKENIZER_FILES = ("openvino_tokenizer.xml", "openvino_detokenizer.xml")

PAGED_ATTENTION = "PagedAttentionExtension"
LOGITS = "logits"
SAMPLED_TOKENS = "sampled_tokens_indices"
CACHE_PREFIXES = {"key_cache.": ("num_k_heads", "k_head_size"), "value_cache.": ("num_v_heads", "v_head_size")}
BLOCK = 32  # genai's KV block on CPU; only block_indices' length depends on it
PER_SEQUENCE = {"past_lens": 0, "score_aggregation_window": 0, SAMPLED_TOKENS: 0, "subsequence_begins": 1, "block_indices_begins": 1}
"""Control inputs of the paged model with one entry per sequence (plus this many)."""
_THROUGH = frozenset({"Convert", "Multiply", "Divide", "Add", "Tanh", "Reshape"})
"""Ops between the LM head MatMul and the logits output that genai's ``find_llm_matmul`` looks
through (scaling, softcapping, conversions)."""


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one of :data:`RUNTIMES`; a one-line :class:`UsageError` otherwise."""
    if runtime not in RUNTIMES:
        raise UsageError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    return runtime


def _lm_head(model: ov.Model) -> ov.Node:
    results = [r for r in model.get_results() if LOGITS in r.input_value(0).get_names()]
    if not results:
        raise UsageError("runtime genai: the model has no 'logits' output (is it an LLM export?)")
    node = results[0].input_value(0).get_node()
    while node.get_type_name() != "MatMul":
        if node.get_type_name() not in _THROUGH:
            raise UsageError(f"runtime genai: no MatMul feeds 'logits' (found {node.get_type_name()})")
        node = node.input_value(0).get_node()
    return node


def gather_sampled_tokens(model: ov.Model) -> None:
    """Make the LM head read ``Gather(hidden, sampled_tokens_indices, axis 0)`` (in place), as
    genai's ``apply_gather_before_matmul_transformation`` does on the paged model."""
    matmul = _lm_head(model)
    indices = ops.parameter([-1], ov.Type.i64, name=SAMPLED_TOKENS)
    indices.output(0).set_names({SAMPLED_TOKENS})
    rows = ops.gather(matmul.input_value(0), indices, ops.constant(0, ov.Type.i64))
    rows.set_friendly_name(f"{matmul.get_friendly_name()}/genai_sampled_tokens")
    matmul.input(0).replace_source_output(rows.output(0))
    model.add_parameters([indices])


def prepare_model(model: ov.Model) -> ov.Model:
    """A clone of ``model`` as genai compiles it (the module's point 1); caches are declared f32,
    the precision of optimum's stateful variables (``states`` decides what the runtime stores)."""
    model = model.clone()
    try:
        from openvino._offline_transformations import paged_attention_transformation

        paged_attention_transformation(
            model, use_block_indices_inputs=False, use_score_outputs=False, allow_score_aggregation=True,
            allow_cache_rotation=False, allow_xattention=False, allow_adaptive_rkv=False,
        )  # fmt: skip
    except RuntimeError as exc:
        raise ModelError(f"runtime genai: OpenVINO's SDPAToPagedAttention failed on this model: {str(exc).splitlines()[-1]}") from exc
    if not any(op.get_type_name() == PAGED_ATTENTION for op in model.get_ops()):
        raise UsageError("runtime genai: the model has no attention with a KV cache to page (is it a stateful LLM export?)")
    gather_sampled_tokens(model)
    for param in model.get_parameters():
        if _cache_prefix(param.get_friendly_name()):
            param.set_element_type(ov.Type.f32)
    model.validate_nodes_and_infer_types()
    return model


def _cache_prefix(name: str) -> str | None:
    return next((p for p in CACHE_PREFIXES if name.startswith(p)), None)


def _cache_dims(param: ov.Node) -> tuple[int, int]:
    """Heads and head size of a cache input, from the ``PagedAttentionExtension`` that reads it."""
    heads_key, size_key = CACHE_PREFIXES[_cache_prefix(param.get_friendly_name())]
    for target in param.output(0).get_target_inputs():
        info = target.get_node().get_rt_info()
        if heads_key in info and size_key in info:
            return int(info[heads_key].astype(int)), int(info[size_key].astype(int))
    raise ModelError(f"runtime genai: no PagedAttention node says the heads of {param.get_friendly_name()}")


def paged_shapes(
    original: ov.Model, prepared: ov.Model, *, seq_len: int, batch: int = 1, past_len: int = 0
) -> dict[str, tuple[int, ...]]:
    """Static shapes, by input name, of :func:`prepare_model`'s result for one run (point 2).

    The shapes genai's ``ModelRunner::forward`` (``src/cpp/src/continuous_batching/model_runner.hpp``)
    gives them: ``token_type_ids`` ``[T, 1]``; other token inputs (``input_ids``, ``inputs_embeds``,
    ``position_ids``, ...) take ``T = batch·seq_len`` for their first dynamic axis, and their other
    dynamic axes are the original input's, aligned from the right (``inputs_embeds [?, ?]`` is
    ``[T, hidden]``, M-RoPE ``position_ids [3, ?]`` is ``[3, T]``)."""
    tokens, context = batch * seq_len, past_len + seq_len
    declared = {name: p.get_partial_shape() for p in original.get_parameters() for name in p.output(0).get_names()}
    shapes: dict[str, tuple[int, ...]] = {}
    for param in prepared.get_parameters():
        name = param.get_friendly_name()
        pshape = param.get_partial_shape()
        if _cache_prefix(name):
            heads, size = _cache_dims(param)
            shapes[name] = (batch, heads, context, size)
        elif name in PER_SEQUENCE:
            shapes[name] = (batch + PER_SEQUENCE[name],)
        elif name == "block_indices":
            shapes[name] = (batch * -(-context // BLOCK),)
        elif name == "token_type_ids":
            shapes[name] = (tokens, 1)
        elif pshape.is_dynamic and pshape.rank.is_static:
            before = declared.get(param.output(0).get_any_name() if param.output(0).get_names() else name)
            shapes[name] = _token_shape(pshape, before, tokens)
    return shapes


def _token_shape(pshape: ov.PartialShape, before: ov.PartialShape | None, tokens: int) -> tuple[int, ...]:
    """A token input's shape: ``tokens`` on its first dynamic axis, its other dynamic axes the
    original input's (``before``) aligned from the right, where static there, else ``tokens``."""
    known = [d.get_length() if d.is_static else None for d in before] if before is not None and before.rank.is_static else []
    rank = pshape.rank.get_length()
    first = next(axis for axis, dim in enumerate(pshape) if dim.is_dynamic)
    dims = []
    for axis, dim in enumerate(pshape):
        back = axis - rank
        original = known[back] if axis != first and -back <= len(known) else None
        dims.append(dim.get_length() if dim.is_static else original if original is not None else tokens)
    return tuple(dims)


def settle_paged_graph(graph: Graph) -> int:
    """Settle the lifted paged model (in place; :func:`ovmem.ir.lift`'s ``finish``); returns how many
    caches there were.

    * Each ``key_cache.L`` / ``value_cache.L`` input becomes a state of that name: it leaves
      ``graph.inputs`` (it is no caller's input but the cache genai keeps across steps) and has no
      ``Assign`` (the PagedAttention kernel writes it in place). Its node stays a ``Parameter``,
      as the plugin sees it: an input bound to genai's tensor, not a ``ReadValue`` that would stop
      a dynamic-shape inference (``lifetime``'s sync points).
    * The ``PagedAttentionExtension`` outputs after the first (scores and their diversity, for
      genai's cache eviction) have data-dependent shapes. genai compiles with
      ``use_score_outputs=false``, so nothing reads them: they are empty here.
    """
    caches = [v for v in graph.inputs if _cache_prefix(v.producer.name)]
    for value in caches:
        node = value.producer
        _, heads, _, size = value.type.shape
        node.attributes = {"variable_id": node.name, "variable_type": value.type.dtype, "variable_shape": [-1, heads, -1, size]}
        graph.inputs.remove(value)
        graph.states.append(State(node.name, node, None))
    for node in graph.nodes:
        if node.op_type == PAGED_ATTENTION:
            for side in node.outputs[1:]:
                if not side.uses() and not side.type.is_static:
                    side.type = TensorType(side.type.dtype, (0,))
    return len(caches)


def has_tokenizer(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` has the tokenizer and detokenizer models genai loads (:data:`TOKENIZER_FILES`)."""
    return all((Path(folder) / name).is_file() for name in TOKENIZER_FILES)


def tokenizer_bytes(folder: str | os.PathLike[str], vocab: int) -> int:
    """What the tokenizer and detokenizer models in ``folder`` hold in a pipeline (0 if it has none)."""
    folder = Path(folder)
    if not has_tokenizer(folder):
        return 0
    bins = sum(path.stat().st_size for name in TOKENIZER_FILES if (path := (folder / name).with_suffix(".bin")).is_file())
    return TOKENIZER_FIXED_BYTES + bins + TOKENIZER_BYTES_PER_TOKEN * vocab


def check_tokenizer(tokenizer: str | os.PathLike[str] | None) -> None:
    """A one-line :class:`UsageError` unless ``tokenizer`` is ``None`` or a folder."""
    if tokenizer is not None and not Path(tokenizer).is_dir():
        raise UsageError(f"--tokenizer: {tokenizer} is not a folder")


def runtime_parts(graph: Graph, tokenizer: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """genai's own memory next to the model (the module's last point), bytes by part. ``tokenizer``:
    the folder of ``openvino_tokenizer.xml``/``openvino_detokenizer.xml`` (default: the model's)."""
    parts = {"library": GENAI_LIBRARY_BYTES, "pipeline": GENAI_PIPELINE_BYTES}
    source = graph.meta.get("source")
    folder = tokenizer if tokenizer is not None else Path(source).parent if source else None
    vocab = graph.outputs[0].type.shape[-1] if graph.outputs and graph.outputs[0].type.shape else 0
    if folder is not None and (nbytes := tokenizer_bytes(folder, vocab)):
        parts["tokenizer"] = nbytes
    return parts


def lift_genai(
    model: ov.Model | str | os.PathLike[str], *, seq_len: int = 1, batch: int = 1, past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None, **lift_options: Any,
) -> Graph:  # fmt: skip
    """:func:`ovmem.ir.lift` of ``model`` (a path or an ``ov.Model``, not modified) as genai compiles
    it: :func:`prepare_model`, :func:`paged_shapes` (``shapes`` win), :func:`settle_paged_graph`;
    named as the path's lift would be; ``graph.meta["runtime"]`` is ``genai``."""
    from ovmem.ir import lift
    from ovmem.ir.lift import _display_name, read_model, resolve_model_path

    source = None
    if not is_model(model):
        source = resolve_model_path(model)
        model = read_model(source)
    prepared = prepare_model(model)
    sizes = paged_shapes(model, prepared, seq_len=seq_len, batch=batch, past_len=past_len)
    shapes = {**sizes, **(shapes or {})}
    graph = lift(prepared, seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes, finish=settle_paged_graph, **lift_options)
    if source is not None:
        graph.name = _display_name(source)
        graph.meta["source"] = str(source)
    graph.meta["runtime"] = "genai"
    return graph
