"""``states``: the KV cache as the runtime stores it — precision, quantisation overhead, new tokens.

Rules:
  1. A variable's sequence axes are the dynamic axes of its declared shape other than axis 0 (the
     batch): ``[?, kv_heads, ?, head_dim]`` holds ``past + seq + new_tokens`` tokens after a
     generation of ``new_tokens`` more tokens (``--new-tokens``; default 0: after this run).
  2. The element type is, in order: the ``precision`` option (``--kv-cache-precision``), the model's
     ``rt_info`` ``runtime_options`` ``KV_CACHE_PRECISION`` (optimum-intel writes ``f16`` there for
     unquantised exports; OpenVINO applies it when compiling), else ``fallback``: the variable's
     declared type, or a device's default (u8 for the CPU plugin on x86,
     ``src/plugins/intel_cpu/src/config.h``; i8 for the
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
  5. ``layout=paged``: openvino.genai's paged cache (``--runtime genai``, ``docs/genai-notes.md``
     rules 3-5). Tokens live in blocks of ``block`` tokens (``KVCacheManager``: 32 on CPU), and
     only the blocks written are resident (the cache tensors are never zeroed; capacity beyond
     that costs no RSS): ``ceil(T / block)`` blocks with ``T = past + seq + new_tokens - 1`` (the
     last sampled token is never fed back; ``T = past + seq`` with ``new_tokens`` 0), per sequence
     of the batch. ``growth`` does not apply.
  6. Paged block layout per variable
     (``src/plugins/intel_cpu/src/nodes/kernels/scaled_attn/executor_pa.cpp``; a variable whose id names
     ``value`` is a value cache, every other one a key cache; the id's last ``key``/``value`` counts),
     ``Hkv`` heads of ``D`` channels: 16/32-bit ``Hkv·block·D`` elements; quantised keys by channel,
     ``[Hkv, block + 2·scale/elem, D]`` (an f32 scale and zero point per channel per block: 8 extra u8 rows);
     quantised values by token, ``[Hkv, block, D + 2·scale/elem]`` (f32 scale and zero point before each
     token's D bytes). u8: ``Hkv·(40·D + 32·(D + 8))`` bytes per block per layer (K + V).

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
from ovmem.ir.types import ELEMENT_BITS, KV_PRECISIONS
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.registry import register_pass

__all__ = ["KV_PRECISIONS", "PAGED_BLOCK", "STATE_BYTES", "STATE_PRECISION", "States", "paged_state_bytes", "state_bytes"]

QUANTIZED = frozenset({"u8", "i8", "u4"})
SCALE_BYTES = 4  # f32 scale and f32 zero point per group
CHUNK_TOKENS, CHUNK_SPREAD = 128, 64  # growth=chunk: 128 + i % 64 spare tokens (the GPU plugin)
# openvino.genai's KV block on CPU (``cpu_block_size`` in openvinotoolkit/openvino.genai
# ``src/cpp/src/continuous_batching/cache/kv_cache_manager.hpp``)
PAGED_BLOCK = 32

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


def _is_value_cache(state: State) -> bool:
    """A value cache: its id's last ``key``/``value`` is ``value`` (``past_key_values.0.valuepresent.0.value``, ``value_cache.0``)."""
    name = state.variable_id.lower()
    value, key = name.rfind("value"), name.rfind("key")
    return value >= 0 and (key < 0 or value > key + 2)  # "key" inside "past_key_values" comes first


def paged_state_bytes(state: State, tokens: int, precision: str, block: int = PAGED_BLOCK, scale_bytes: int = SCALE_BYTES) -> int:
    """Bytes of the blocks genai's paged cache has written for ``state`` holding ``tokens`` tokens
    per sequence (rules 5 and 6); ``state`` is ``[batch, heads, seq, head_size]``."""
    shape = list(state.type.shape)
    if len(shape) != 4 or tokens <= 0:
        return state_bytes(state, tokens, precision, 0, scale_bytes) if tokens > 0 else 0
    batch, heads, head_size = shape[0], shape[1], shape[3]
    blocks = -(-tokens // block)
    bits = ELEMENT_BITS[precision]
    if precision not in QUANTIZED:
        per_block = -(-heads * block * head_size * bits // 8)
    elif _is_value_cache(state):  # by token: scale + zero point in front of each token
        per_block = heads * block * (-(-head_size * bits // 8) + 2 * scale_bytes)
    else:  # keys by channel: a scale and a zero point per channel per block
        per_block = heads * head_size * (-(-block * bits // 8) + 2 * scale_bytes)
    return batch * blocks * per_block


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
    layout: Literal["contiguous", "paged"] = "contiguous"
    """Rules 5-6: one buffer per variable (the stateful model) or openvino.genai's paged blocks."""
    block: int = PAGED_BLOCK
    """Rule 5: tokens per block of the paged cache (genai: 32 on CPU, 16 on GPU)."""

    def __attrs_post_init__(self) -> None:
        if self.new_tokens < 0 or self.group_size < 0:
            raise UsageError("states: new_tokens and group_size must be >= 0")
        if self.block < 1:
            raise UsageError("states: block must be >= 1")

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
            if self.layout == "paged":  # rule 5: the tokens written, in whole blocks
                tokens = past_len + seq_len + max(self.new_tokens - 1, 0)
                nbytes = paged_state_bytes(state, tokens, precision, self.block, scale_bytes)
            else:
                tokens = self.capacity(past_len, seq_len, index)
                nbytes = state_bytes(state, tokens, precision, self.group_size, scale_bytes)
            if STATE_BYTES.get(state, None) != nbytes or STATE_PRECISION.get(state, None) != precision:
                STATE_BYTES.set(state, nbytes)
                STATE_PRECISION.set(state, precision)
                modified = True
        return PassResult(graph, modified)
