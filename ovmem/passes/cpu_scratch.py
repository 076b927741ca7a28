"""``cpu-scratch``: the CPU plugin's kernel scratch buffers — memory no tensor of the graph names.

Both are shared by every node of their kind, grow to the largest request and are never released,
so each counts once, for the whole run (next to the temporaries, not in their arena). Measured on
real-width Phi-3-mini, Llama-3.2-1B and Qwen2-0.5B exports by tracing the plugin's allocations and
the pages they touch (``docs/cpu-plugin-notes.md`` section 10):

  1. ``fc``: every dynamic-shape FullyConnected takes its oneDNN scratchpad from the graph's one grow-only
     ``DnnlScratchPad`` (``src/plugins/intel_cpu/src/dnnl_scratch_pad.h``). oneDNN's brgemm inner product on
     AMX reduces at most 64 blocks of 32 input channels in one pass (``jit_brgemm_ip_fwd_conf_t::init_conf``
     in oneDNN's ``src/cpu/x64/jit_brgemm_inner_product_utils.cpp``, openvinotoolkit/oneDNN fork); with more
     input features (K > 2048) and a bf16/f16 output it accumulates the whole ``M × N`` output in f32 there
     — M·N·4 bytes, written, so resident. Only on AMX targets, in bf16/f16 inference, with more than one
     thread, and for wide outputs (N ≥ 3072: narrower ones take a loop order that touches a per-thread block
     only). The buffer is the largest such FC's: for a decoder with hidden size above 2048 that is the LM
     head, ``T × vocab × 4``.
  2. ``sdpa``: in a model with states (``Transformations::PreLpt`` in
     ``src/plugins/intel_cpu/src/transformations/transformation_pipeline.cpp`` keeps only the SDPAs
     that ``SDPASubgraphFusion`` turns into ``ScaledDotProductAttentionWithKVCache``, which needs the
     ReadValue/Assign pattern; ``CommonOptimizations`` decomposes every other one,
     ``ScaledDotProductAttentionDecomposition``; older versions had a callback on that pass keeping every
     SDPA of a model with variables; rule 4), the ``ScaledDotProductAttention`` prefill kernel
     (``MHAKernel<KT_ONEDNN>`` in
     ``src/plugins/intel_cpu/src/nodes/scaled_attn.cpp``; all layers share one executor, cached by
     precision) keeps K and V packed for brgemm (``B·Hk·L·(S + Sv)`` elements in the inference
     precision), an f32 copy of its output in bf16/f16 mode (``B·Tq·H·Sv·4``), and per-thread
     attention weights (``threads·32·L·4``), where Tq is the query length and L the keys'. A
     one-token step uses another kernel; its cache was filled by a prefill whose buffers stay:
     with ``seq_len`` 1 the prefill of the ``past_len`` cached tokens is counted.

  3. ``pa``: the ``PagedAttentionExtension`` kernel (the model as openvino.genai compiles it after
     ``SDPAToPagedAttention``, ``--runtime genai``, ``docs/genai-notes.md`` rule 6): all nodes share
     one executor (``PagedAttention::createPrimitive`` in ``src/plugins/intel_cpu/src/nodes/paged_attn.cpp``
     takes it from the graph's params cache, keyed by precision) with grow-only f32 buffers
     (``src/plugins/intel_cpu/src/nodes/kernels/scaled_attn/executor_pa.cpp`` since
     openvinotoolkit/openvino#29850, 2025, so in 2026.4):
     ``_weight [threads, weight_h, 32, rnd_up(kv_len, 32)]``, sized by
     ``MHAHelper::resize_temporary_weight_buffer`` from ``MHA::exec_loop_mixed``, and ``_output
     [threads, 32, H, D]`` (``MHAHelper::init``). kv_len is the context (``past + seq``), H the query
     heads, D the head size (``max(D, D_v)`` with by-channel u8 keys; ovmem takes the larger) — the
     node's ``num_k_heads``/``k_head_size``/``v_head_size`` attributes. ``weight_h`` is 1 when the loop
     runs over query heads, always in a prefill ("if only first token, loop H"), and ``H / Hkv`` when
     it runs over KV heads: a step of ``batch ≥ threads`` decoding sequences with
     ``batch · Hkv > 2 · threads``. With ``seq_len`` 1 the buffer is the larger of the prefill's
     (``past`` keys, weight_h 1) and the decode step's, if that takes the mixed loop (fewer decoding
     sequences than threads take ``exec_loop_bhl``, whose own ``[batch, H, 1, kv_len]`` buffers are not
     modelled). ``pa_nodes``: ``one`` (the shared
     executor: the largest node's buffers) or ``all`` (the what-if of an executor per node).

  4. ``mha``: an SDPA of a model without states becomes MatMul/Softmax/MatMul, which the Snippets
     tokenizer makes one MHA ``Subgraph`` (AVX2 in f32, AVX-512 in f32/bf16, AMX-FP16 in f16:
     ``Transformations::MainSnippets``). Its executor takes one request from the graph's scratchpad
     (``SubgraphExecutor``, ``src/plugins/intel_cpu/src/nodes/executors/x64/subgraph.cpp``): per
     thread ``m_blk`` = 32 query rows of scores and softmax (f32: ``2·32·L·4``; bf16: ``32·L·(4 + 2)``,
     ``32·Dv·4`` and the AMX workspace ``BrgemmCPU::SCRATCH_BYTE_SIZE``), plus K^T and V repacked for
     brgemm (``compute_buffer_b_allocation_shape``: f32 ``rnd(D,16)·rnd(L,64)`` and ``rnd(L,16)·rnd(Dv,64)``,
     bf16 ``rnd(D,2)·rnd(L,32)`` and ``rnd(L,2)·rnd(Dv,32)`` elements) — one head per thread while a head's
     source and repacked copies fit the core's L1d + L2 (:attr:`ovmem.target.Target.core_cache`), else
     every head at once (``BrgemmExternalRepackingAdjuster::run``). Threads: ``min(threads, B·H)``, the
     query rows split when B·H is smaller. The scratchpad is rule 1's, grown to the larger request:
     ``mha`` is what it adds beyond ``fc``. Traced on Qwen2.5-VL's vision merger and synthetic SDPAs,
     f32 under the AVX-512 cap and bf16 on AMX (``research/snippets-scratch``); the AVX2 blocking was
     not traced (AVX-512's is used).

  5. ``slices``: not shared — every ``StridedSlice``/``Slice`` node's executor keeps two ``size_t``
     index arrays, a source and a destination offset per block it copies, written before the copy and
     kept with the node for the run (``StridedSlice::StridedSliceCommonExecutor::dimsGluing`` and
     ``indicesCalculation`` in ``src/plugins/intel_cpu/src/nodes/strided_slice.cpp``; the executor is the
     node's ``execPtr``). A block is the trailing run of the output that is contiguous in the input: the
     trailing axes taken whole, and the last sliced axis's range if its step is 1 — so a step on the
     last axis (``x[..., ::2]``, gpt-oss's expert GLU) makes every element a block, 16 bytes each.
     Summed over the nodes (measured: a stride-2 slice of ``[32, 1024, 2880]`` keeps exactly
     ``32·1024·1440·16`` bytes, ``research/moe-gpt-oss``).

``threads`` (0: the target's, :mod:`ovmem.target`: the plugin's ``INFERENCE_NUM_THREADS`` there) is
the number of inference threads.

Reads: ``stored_type``, ``kernel``, ``graph.meta["inference_precision"]`` (``cpu-runtime``), the target, ``seq_len``,
``past_len``. Writes: the graph key ``scratch`` (:data:`SCRATCH`, bytes by rule).
"""

from __future__ import annotations

import math
from typing import Literal

import attrs
import numpy as np

from ovmem.errors import UsageError
from ovmem.ir.core import Graph, Node
from ovmem.ir.meta import MetaKey
from ovmem.passes.base import Pass, PassPreconditionError, PassResult
from ovmem.passes.cpu_runtime import RUNTIME_WEIGHT_PORTS, fc_constants
from ovmem.passes.fuse import _const
from ovmem.passes.keys import CATEGORY, COMPILE_TIME, KERNEL, STORED_TYPE, Category
from ovmem.passes.registry import register_pass
from ovmem.target import Target, target_of

__all__ = ["SCRATCH", "CpuScratch"]

SCRATCH: MetaKey[dict] = MetaKey("scratch", dict, "Graph: kernel scratch buffers the runtime holds for the run, bytes by name.")

BRGEMM_MAX_K = 64 * 32
"""Input channels oneDNN's AMX brgemm inner product reduces in one pass (64 blocks of 32)."""
WIDE_N = 3072
"""Outputs at least this wide accumulate their whole output in the scratchpad (the narrowest seen to)."""
SDPA_BLOCK = 32
"""Query rows per thread block of the prefill kernel's attention weights."""
MHA_M_BLOCK = 32
"""Query rows per thread block of the Snippets MHA (``BrgemmCPUBlocking``'s default ``m_blk``)."""
AMX_WORKSPACE = 32 * 1024
"""``BrgemmCPU::SCRATCH_BYTE_SIZE``: the AMX tile workspace of each bf16 brgemm call."""


def _fc_scratch(node: Node, precision: str, threads: int, target: Target) -> int:
    if precision == "f32" or threads < 2 or not target.isa.amx_bf16 or not fc_constants(node):
        return 0
    if node.op_type in RUNTIME_WEIGHT_PORTS and node.op_type != "FullyConnected":
        return 0  # LLMMLP / QKVProjection run the plugin's own AMX kernels, not oneDNN's
    x = node.inputs[0]
    out = KERNEL.get(node, node).outputs[0]  # with its post-ops fused (``fuse.fc``) the FC writes the last one's output
    if STORED_TYPE.get(out, out.type).dtype not in ("bf16", "f16") or not x.type.shape or not out.type.shape:
        return 0
    k, n = x.type.shape[-1], out.type.shape[-1]
    return math.prod(out.type.shape) * 4 if k > BRGEMM_MAX_K and n >= WIDE_N else 0


def _pa_scratch(node: Node, threads: int, seq: int, past: int, batch: int) -> int:
    q, attributes = node.inputs[0].type.shape, node.attributes
    if len(q) != 2 or not attributes.get("k_head_size"):
        return 0
    heads = q[1] // attributes["k_head_size"]
    kv_heads = attributes.get("num_k_heads") or heads
    head_size = max(attributes["k_head_size"], attributes.get("v_head_size", 0))
    rows = _round_up(past + seq, SDPA_BLOCK)  # weight_h · rnd_up(kv_len, 32): a prefill loops over query heads
    if seq == 1 and past > 0:
        # a decode step: the buffer is the prefill's of the past tokens, unless exec_loop_mixed (at least one
        # sequence per thread) grows it, over KV heads (H / Hkv) with more than two work items per thread
        mixed = batch >= threads
        weight_h = heads // kv_heads if mixed and batch * kv_heads > 2 * threads else 1
        rows = max(_round_up(past, SDPA_BLOCK), weight_h * rows if mixed else 0)
    return threads * SDPA_BLOCK * rows * 4 + threads * SDPA_BLOCK * heads * head_size * 4


def _sdpa_scratch(node: Node, precision: str, threads: int, queries: int, keys: int, kv_heads: int | None) -> int:
    q, k, v = (value.type.shape for value in node.inputs[:3])
    if len(q) != 4 or len(k) != 4 or len(v) != 4 or queries < 2:
        return 0
    batch, heads, head_size, v_size = q[0], q[1], q[3], v[3]
    kv_heads = kv_heads or k[1]  # the exported graph feeds SDPA GQA-broadcast K/V; the kernel packs the cache's heads
    element = 4 if precision == "f32" else 2
    packed = batch * kv_heads * keys * (head_size + v_size) * element
    staging = 0 if precision == "f32" else batch * queries * heads * v_size * 4
    return packed + staging + threads * SDPA_BLOCK * keys * 4


def _slice_steps(node: Node, rank: int) -> list[int] | None:
    """The step of every axis of a ``StridedSlice``/``Slice`` (``None`` where a mask or an input is not plain)."""
    steps = [1] * rank
    if node.op_type == "StridedSlice":
        masks = ("new_axis_mask", "shrink_axis_mask", "ellipsis_mask")
        if any(any(int(m) for m in node.attributes.get(k) or ()) for k in masks):
            return None
        given = _const(node.inputs[3]) if len(node.inputs) > 3 else None
        if given is None and len(node.inputs) > 3:
            return None
        for axis, step in enumerate(given if given is not None else ()):
            steps[axis] = int(step)
    else:  # Slice (v8): start, stop, step, [axes]
        given = _const(node.inputs[3]) if len(node.inputs) > 3 else None
        axes = _const(node.inputs[4]) if len(node.inputs) > 4 else np.arange(len(given)) if given is not None else None
        if given is None or axes is None:
            return None
        for axis, step in zip(axes, given):
            steps[int(axis) % rank] = int(step)
    return steps


def _slice_indices(node: Node) -> int:
    """Rule 5: the bytes of a slice node's two ``size_t`` offset arrays, one entry per contiguous block."""
    if node.op_type not in ("StridedSlice", "Slice") or COMPILE_TIME.get(node, False) or not node.outputs:
        return 0
    source, out = node.inputs[0].type.shape, node.outputs[0].type.shape
    steps = _slice_steps(node, len(source))
    if steps is None or len(source) != len(out) or not out or CATEGORY.get(node.outputs[0], None) is Category.FOLDED:
        return 0
    block = 1
    for axis in reversed(range(len(out))):
        if steps[axis] != 1:
            break
        block *= out[axis]
        if out[axis] != source[axis]:
            break  # the last sliced axis: its range is contiguous, what is before it is not
    return 2 * 8 * (math.prod(out) // max(block, 1))


def _round_up(x: int, block: int) -> int:
    return -(-x // block) * block


def _mha_scratch(node: Node, precision: str, threads: int, core_cache: int) -> int:
    """Rule 4: the Snippets MHA ``Subgraph``'s request for one SDPA ``[..., H, Lq, D]`` (3-D or 4-D)."""
    q, k, v = (value.type.shape for value in node.inputs[:3])
    if len(q) not in (3, 4) or len(k) != len(q) or len(v) != len(q):
        return 0
    heads = math.prod(q[:-2])  # batch × heads: the Subgraph's parallel work
    keys, d, dv = k[-2], q[-1], v[-1]
    if precision == "f32":
        element, k_block, n_block = 4, 16, 64
        per_thread = 2 * MHA_M_BLOCK * keys * 4  # MatMul0 output and Softmax output, f32
    else:
        element, k_block, n_block = 2, 2, 32
        per_thread = MHA_M_BLOCK * keys * (4 + 2) + MHA_M_BLOCK * dv * 4 + AMX_WORKSPACE
    kt = _round_up(d, k_block) * _round_up(keys, n_block) * element
    vr = _round_up(keys, k_block) * _round_up(dv, n_block) * element
    working = d * keys * element + kt + keys * dv * element + vr  # one head's sources and repacked copies
    # min(threads, B·H) threads, the query rows split among them when there are fewer heads than threads
    repacked = (heads if working >= core_cache else threads) * (kt + vr)
    return threads * per_thread + repacked


@register_pass
@attrs.frozen
class CpuScratch(Pass):
    """Sizes the CPU plugin's shared kernel scratch buffers."""

    name = "cpu-scratch"
    threads: int = 0
    """Inference threads (0: the target's, ``graph.meta["target"]``)."""
    fc: bool = True
    """Rule 1: the FullyConnected scratchpad."""
    sdpa: bool = True
    """Rule 2: the SDPA prefill kernel's buffers."""
    pa: bool = True
    """Rule 3: the PagedAttention kernel's buffers."""
    pa_nodes: Literal["all", "one"] = "one"
    """Rule 3: every PagedAttention node's buffers resident together, or only the largest."""
    mha: bool = True
    """Rule 4: the Snippets MHA Subgraph's scratchpad request (an SDPA in a model without states)."""
    slices: bool = True
    """Rule 5: every StridedSlice/Slice node's index arrays (per node, summed)."""

    def __attrs_post_init__(self) -> None:
        if self.threads < 0:
            raise UsageError("cpu-scratch: threads must be >= 0")

    def requires(self, graph: Graph) -> None:
        if "inference_precision" not in graph.meta:
            raise PassPreconditionError("cpu-scratch: run cpu-runtime first (it sets the inference precision)")

    def call(self, graph: Graph) -> PassResult:
        precision = graph.meta["inference_precision"]
        target = target_of(graph)
        threads = self.threads or target.threads
        seq, past = graph.meta.get("seq_len", 1), graph.meta.get("past_len", 0)
        queries, keys = (seq, past + seq) if seq > 1 else (past, past)
        scratch = {}
        if self.fc:
            scratch["fc"] = max((_fc_scratch(n, precision, threads, target) for n in graph.nodes), default=0)
        sdpa = [n for n in graph.nodes if n.op_type == "ScaledDotProductAttention" and len(n.inputs) >= 3]
        if self.sdpa and graph.states:
            caches = [s.type.shape[1] for s in graph.states if len(s.type.shape) == 4]
            kv_heads = min(caches) if caches else None
            scratch["sdpa"] = max((_sdpa_scratch(n, precision, threads, queries, keys, kv_heads) for n in sdpa), default=0)
        if self.pa:
            batch = graph.meta.get("batch", 1)
            pa = [_pa_scratch(n, threads, seq, past, batch) for n in graph.nodes
                  if n.op_type == "PagedAttentionExtension"]  # fmt: skip
            scratch["pa"] = sum(pa) if self.pa_nodes == "all" else max(pa, default=0)
        if self.mha and not graph.states:
            mha = max((_mha_scratch(n, precision, threads, target.core_cache) for n in sdpa), default=0)
            scratch["mha"] = max(0, mha - scratch.get("fc", 0))  # the same scratchpad as rule 1's
        if self.slices:
            scratch["slices"] = sum(_slice_indices(n) for n in graph.nodes)
        modified = SCRATCH.get(graph, None) != scratch
        SCRATCH.set(graph, scratch)
        return PassResult(graph, modified)
