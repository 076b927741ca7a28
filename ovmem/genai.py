"""The ``genai`` runtime: an LLM as ``openvino_genai.LLMPipeline`` runs it, as far as memory goes.

``ovmem.analyze(..., runtime="genai")`` (``--runtime genai``) is a switch that works on top of any
device; it changes two things (``docs/genai-notes.md`` has the sources and the measurements):

1. **The graph**, before it is lifted (:func:`prepare_model`, on a clone; the caller's model is
   not modified):

   * the LM head reads only the last token. genai's ``utils::apply_gather_before_matmul_transformation``
     (``src/cpp/src/utils.cpp`` in ``openvinotoolkit/openvino.genai``) makes the MatMul that
     produces ``logits`` read ``Gather(hidden, sampled_tokens_indices)``, one row per sampled
     sequence (the last prompt token; its stateful fallback ``apply_slice_before_matmul_transformation``
     slices the last position). Here: a ``Slice`` of the last position on the sequence axis, so
     the logits are ``[batch, 1, vocab]`` instead of ``[batch, seq, vocab]`` (notes rule 2).
   * no attention mask: genai compiles the model after ``ov::pass::SDPAToPagedAttention``, and the
     ``PagedAttention`` op takes no mask (it is causal by construction). Here every
     ``ScaledDotProductAttention``'s mask input is replaced by a scalar zero constant; the chain
     that computed the ``[batch, 1, seq, past + seq]`` mask — every value read, transitively, only
     by SDPA's mask port — is then dead and is not lifted (values other ops read stay).

2. **The passes** (:func:`ovmem.api.configure_pipeline` with ``runtime="genai"``): the device's pipeline with
   ``states{layout=paged}`` — the KV cache in genai's CPU blocks of 32 tokens, resident for the
   blocks written (:mod:`ovmem.passes.states`, rules 5-6) — and, where the pipeline has
   ``cpu-scratch``, ``cpu-scratch{attention=pa}``: the PagedAttention kernel's per-thread scratch
   instead of the stateful SDPA prefill buffers (:mod:`ovmem.passes.cpu_scratch`, rule 3).

What genai holds besides the model: its library and the ``openvino_tokenizers`` extension,
:data:`GENAI_LIBRARY_BYTES` (measured: RSS added by ``import openvino_genai``, notes section 8),
added to the report's ``runtime_bytes`` on a device that counts its runtime's own memory (CPU;
``generic`` counts none). The tokenizer and detokenizer models are **not** added:
the notes give no measured figure for them ("a few MB for a 150k vocabulary").

The analysed graph is still the stateful export's, so its other temporaries are those of one
``[N, ·]`` prefill (notes rule 7: genai's default scheduler runs the whole prompt in one step).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import openvino as ov
import openvino.opset13 as ops

from ovmem.errors import UsageError
from ovmem.ir.core import Graph

__all__ = ["GENAI_LIBRARY_BYTES", "RUNTIMES", "check_runtime", "drop_attention_masks", "gather_last_token", "lift_genai", "prepare_model"]

RUNTIMES = ("ov", "genai")
"""``ov``: the compiled model as given (as optimum-intel runs it); ``genai``: openvino.genai's LLMPipeline."""

GENAI_LIBRARY_BYTES = 12 * 2**20
"""openvino.genai's library and the openvino_tokenizers extension: the RSS ``import openvino_genai``
adds after ``import openvino`` (~12 MiB, ``docs/genai-notes.md`` section 8; openvino-genai 2026.4.1,
this machine). A process cost, whatever the model."""

LOGITS = "logits"
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


def gather_last_token(model: ov.Model) -> bool:
    """Make the LM head read the last position only (in place); False if it already does."""
    matmul = _lm_head(model)
    hidden = matmul.input_value(0)
    shape = hidden.get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 3:
        raise UsageError(f"runtime genai: the LM head's input is not [batch, seq, hidden] ({shape})")
    if shape[1].is_static and shape[1].get_length() == 1:
        return False
    i64 = np.int64
    last = ops.slice(
        hidden, np.array([-1], i64), np.array([np.iinfo(i64).max], i64), np.array([1], i64), np.array([1], i64)
    )
    last.set_friendly_name(f"{matmul.get_friendly_name()}/genai_last_token")
    matmul.input(0).replace_source_output(last.output(0))
    return True


def drop_attention_masks(model: ov.Model) -> int:
    """Replace every SDPA's mask input by a scalar zero (in place); how many masks were dropped."""
    dropped = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "ScaledDotProductAttention" or op.get_input_size() < 4:
            continue
        mask = op.input_value(3)
        if mask.get_node().get_type_name() == "Constant" and mask.get_partial_shape().rank.get_length() == 0:
            continue
        zero = ops.constant(0, dtype=mask.get_element_type())
        zero.set_friendly_name(f"{op.get_friendly_name()}/genai_no_mask")
        op.input(3).replace_source_output(zero.output(0))
        dropped += 1
    return dropped


def prepare_model(model: ov.Model) -> ov.Model:
    """A clone of ``model`` as genai compiles it, as far as memory goes (the module's point 1)."""
    model = model.clone()
    gather_last_token(model)
    drop_attention_masks(model)
    model.validate_nodes_and_infer_types()
    return model


def lift_genai(model: ov.Model | str | os.PathLike[str], **sizes: Any) -> Graph:
    """:func:`ovmem.ir.lift` of ``model`` (a path or an ``ov.Model``, not modified) after
    :func:`prepare_model`, named as the path's lift would be; ``graph.meta["runtime"]`` is ``genai``."""
    from ovmem.ir import lift
    from ovmem.ir.lift import _display_name, read_model, resolve_model_path

    source = None
    if not isinstance(model, ov.Model):
        source = resolve_model_path(model)
        model = read_model(source)
    graph = lift(prepare_model(model), **sizes)
    if source is not None:
        graph.name = _display_name(source)
        graph.meta["source"] = str(source)
    graph.meta["runtime"] = "genai"
    return graph
