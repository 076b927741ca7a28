"""``states``: the KV cache as the runtime stores it — precision, quantisation overhead, new tokens.

Rules:
  1. A variable's sequence axes are the dynamic axes of its declared shape other than axis 0 (the
     batch): ``[?, kv_heads, ?, head_dim]`` holds ``past + seq + new_tokens`` tokens after a
     generation of ``new_tokens`` more tokens (``--new-tokens``; default 0: after this run).
  2. The element type is, in order: the ``precision`` option (``--kv-cache-precision``), the model's
     ``rt_info`` ``runtime_options`` ``KV_CACHE_PRECISION`` (optimum-intel writes ``f16`` there for
     unquantised exports; OpenVINO applies it when compiling), else ``fallback``: the variable's
     declared type, or a device's default (u8 for the CPU plugin on x86, ``config.h``; i8 for the
     GPU plugin on GPUs without XMX, ``ExecutionConfig::apply_model_specific_options``).
  3. Quantised caches (``u8``, ``i8``, ``u4``) carry a scale and a zero point per token, per head
     and per group of ``group_size`` channels of the last axis (0 = the whole axis, the runtime's
     default ``KEY_CACHE_GROUP_SIZE`` / ``VALUE_CACHE_GROUP_SIZE``), each ``scale_precision``: f32
     on the CPU plugin, f16 (the query's type) on the GPU plugin (``KVCacheCompressionMatcher`` in
     ``src/plugins/intel_gpu/src/plugin/transformations/kv_cache_compression.cpp``).
  4. ``growth``: ``exact`` sizes the cache for the tokens it holds; ``double`` follows the CPU
     plugin's stateful SDPA (``ScaledDotProductAttention::updatePastkv`` in
     ``src/plugins/intel_cpu/src/nodes/scaled_attn.cpp``): when a run needs more than the capacity,
     a new buffer of twice the new length is allocated — the prefill reserves ``2 * (past + seq)``
     tokens, and each decode step that overflows it reserves ``2 * (length + 1)``. ``chunk``
     follows the GPU plugin (``kv_cache_inst::get_prealloc_iter_num`` in
     ``src/plugins/intel_gpu/src/graph/kv_cache.cpp``, ``docs/gpu-plugin-notes.md`` section 5): each
     allocation of the ``i``-th variable holds its length plus ``128 + i % 64`` tokens, and a step
     that overflows it allocates that again for the new length.

Reads: ``graph.states``, ``graph.meta["rt_info"]``, ``graph.meta["past_len"]``/``["seq_len"]``.
Writes: the state key ``state_bytes`` (:data:`STATE_BYTES`) and ``state_precision`` on every state.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

from ovmem.errors import UsageError
from ovmem.ir.core import Graph, State
from ovmem.ir.meta import MetaKey
from ovmem.ir.types import ELEMENT_BITS
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.registry import register_pass

__all__ = ["KV_PRECISIONS", "STATE_BYTES", "STATE_PRECISION", "States", "state_bytes"]

KV_PRECISIONS = ("f32", "f16", "bf16", "u8", "i8", "u4")
QUANTIZED = frozenset({"u8", "i8", "u4"})
SCALE_BYTES = 4  # f32 scale and f32 zero point per group
CHUNK_TOKENS, CHUNK_SPREAD = 128, 64  # growth=chunk: 128 + i % 64 spare tokens (the GPU plugin)

STATE_BYTES: MetaKey[int] = MetaKey("state_bytes", int, "Bytes the runtime holds for the variable (with overhead).")
STATE_PRECISION: MetaKey[str] = MetaKey("state_precision", str, "Element type the runtime stores the variable in.")


def state_bytes(state: State, tokens: int, precision: str, group_size: int = 0, scale_bytes: int = SCALE_BYTES) -> int:
    """Bytes of ``state`` holding ``tokens`` tokens in ``precision`` (rules 1 and 3)."""
    declared = state.read.attributes.get("variable_shape")
    shape = list(state.type.shape)
    if isinstance(declared, (list, tuple)) and len(declared) == len(shape):
        for axis, dim in enumerate(declared):
            if axis > 0 and int(dim) < 0:
                shape[axis] = tokens
    elements = math.prod(shape)
    data = -(-elements * ELEMENT_BITS[precision] // 8)
    if precision not in QUANTIZED or not shape:
        return data
    channels = shape[-1]
    groups = max(1, channels // group_size) if group_size else 1
    return data + (elements // max(channels, 1)) * groups * 2 * scale_bytes


@register_pass
@attrs.frozen
class States(Pass):
    """Sizes every variable as the runtime stores it."""

    name = "states"
    precision: Literal["auto", "f32", "f16", "bf16", "u8", "i8", "u4"] = "auto"
    """KV-cache element type; ``auto`` follows the model's rt_info, else the declared type."""
    new_tokens: int = 0
    """Tokens generated after this run that the cache must also hold."""
    group_size: int = 0
    """Channels per scale/zero-point group of a quantised cache (0: the whole last axis)."""
    fallback: Literal["declared", "f32", "f16", "bf16", "u8", "i8", "u4"] = "declared"
    """Rule 2: the element type when the model's rt_info names none (the CPU plugin's x86 default is u8)."""
    growth: Literal["exact", "double", "chunk"] = "exact"
    """Rule 4: capacity = the tokens held, the CPU plugin's doubling, or the GPU plugin's chunks."""
    scale_precision: Literal["f32", "f16"] = "f32"
    """Rule 3: the element type of each scale and zero point of a quantised cache."""

    def __attrs_post_init__(self) -> None:
        if self.new_tokens < 0 or self.group_size < 0:
            raise UsageError("states: new_tokens and group_size must be >= 0")

    def _precision(self, graph: Graph, state: State) -> str:
        if self.precision != "auto":
            return self.precision
        hinted = graph.meta.get("rt_info", {}).get("KV_CACHE_PRECISION", "").lower()
        if hinted in KV_PRECISIONS:
            return hinted
        return state.type.dtype if self.fallback == "declared" else self.fallback

    def capacity(self, past_len: int, seq_len: int, index: int = 0) -> int:
        """Tokens the ``index``-th variable holds room for after this run and ``new_tokens`` steps."""
        length = past_len + seq_len
        if self.growth == "exact":
            return length + self.new_tokens
        spare = CHUNK_TOKENS + index % CHUNK_SPREAD

        def grown(n: int) -> int:
            return 2 * n if self.growth == "double" else n + spare

        capacity = grown(length)
        for _ in range(self.new_tokens):
            length += 1
            if length > capacity:
                capacity = grown(length)
        return capacity

    def call(self, graph: Graph) -> PassResult:
        past_len, seq_len = graph.meta.get("past_len", 0), graph.meta.get("seq_len", 0)
        scale_bytes = 2 if self.scale_precision == "f16" else SCALE_BYTES
        modified = False
        for index, state in enumerate(graph.states):
            precision = self._precision(graph, state)
            tokens = self.capacity(past_len, seq_len, index)
            nbytes = state_bytes(state, tokens, precision, self.group_size, scale_bytes)
            if STATE_BYTES.get(state, None) != nbytes or STATE_PRECISION.get(state, None) != precision:
                STATE_BYTES.set(state, nbytes)
                STATE_PRECISION.set(state, precision)
                modified = True
        return PassResult(graph, modified)
