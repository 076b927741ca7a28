"""The CPU plugin's own resident memory: what a process holds to run models besides their tensors.

A model of physical parameters, each measured (``research/cpu-runtime/RESULTS.md``: 429 fresh-process
runs of OpenVINO 2026.4.1 at 1 and 2 threads, 178-4711 ops, every oneDNN ISA cap from AVX2 to AMX;
``research/cpu-runtime/probe.py`` reproduces them, ``fit.py`` fits them)::

    runtime = BASE + PER_OP · ops + [prefill] · PREFILL + threads · (PER_THREAD + PER_OP_THREAD · ops)
              + Σ kernel families beyond an LLM's + (compiled models − 1) · PER_EXTRA_MODEL

* ``BASE`` — the code the process maps in to run an LLM-like graph (``libopenvino_intel_cpu_plugin``
  ≈ 24.8 MiB and ``libopenvino`` ≈ 9.4 MiB of file-backed pages, the kernels' code paging in as they
  are used) and the plugin's static data (≈ 8.9 MiB anonymous). Counted once per process: a VLM
  pipeline's sub-models share it.
* ``PER_OP`` — per operation of each IR as read (``len(model.get_ops())``, graph key ``ir_ops``):
  ``read_model`` keeps ≈ 5.2 KiB per op and the compiled graph ≈ 3.2 KiB more (node objects, shape
  inference, memory descriptors); none of it is given back while the model lives. The IR's op count
  predicts the real exports better than the compiled graph's (rms 1.4 vs 2.4 MiB).
* ``PREFILL`` — the first multi-token inference pages in the prefill kernels' code (seq > 1).
* ``PER_THREAD``, ``PER_OP_THREAD`` — each inference thread beyond the executor's own: a TBB worker's
  stack and arena, and per-node per-thread state. ``threads`` is the target's
  (:attr:`ovmem.target.Target.threads`); the plugin clamps a request above the cores it has.

* Kernel families (:data:`KERNEL_FAMILIES`) — ``BASE`` holds the code of an f16 LLM's kernels
  (FullyConnected, fused MLP, stateful SDPA, RoPE, RMS, the mask subgraph); a family beyond those
  pages in its own code the first time any compiled model uses it, once per process (code pages
  are shared: measured as the union of resident pages, ``research/cpu-runtime/kernels/RESULTS.md``).
  A non-stateful SDPA (a vision encoder's attention) also JITs its kernels per compiled model.
* ``PER_EXTRA_MODEL`` — each compiled model beyond the first: its graph context, executors and
  their JIT kernels (0.5-5.4 MiB measured over 13 graphs, the median; ``kernels/RESULTS.md`` §4).

A process that compiles no LLM-like graph (``ovmem vit`` alone) holds up to ~12 MiB less than
``BASE``: the LLM kernels' code it never pages in (a one-Add graph measures 32.45 MiB).

The ISA changes none of it by more than 0.9 MiB (the same plugin pages are mapped, only different
JIT kernels are generated), so the model has no ISA term; measured, not assumed
(``RESULTS.md`` section B).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ovmem.ir.core import Graph, Node
from ovmem.target import Target

__all__ = [
    "BASE", "KERNEL_FAMILIES", "PER_EXTRA_MODEL", "PER_OP", "PER_OP_THREAD", "PER_THREAD", "PREFILL", "cpu_runtime_bytes",
    "ir_ops", "kernel_families",
]  # fmt: skip

MIB = 2**20

BASE = 46_109_396
"""Bytes the process holds to run any LLM-like graph on the CPU plugin (43.97 MiB)."""
PER_OP = 8_991
"""Bytes per op of the IR as read (8.78 KiB)."""
PREFILL = 559_189
"""Bytes of prefill kernels' code once a multi-token inference ran (0.53 MiB)."""
PER_THREAD = 224_483
"""Bytes per inference thread (219 KiB)."""
PER_OP_THREAD = 85
"""Bytes per op per inference thread."""
PER_EXTRA_MODEL = round(2.38 * MIB)
"""Bytes per compiled model beyond the first in one process (the median of 13 graphs)."""


def _compressed_fc(bits: frozenset[str]) -> Callable[[Node, Graph], bool]:
    def uses(node: Node, graph: Graph) -> bool:
        from ovmem.passes.cpu_runtime import fc_constants

        return node.op_type == "MatMul" and any(weight and c.type.dtype in bits for c, weight in fc_constants(node))

    return uses


def _op(*types: str) -> Callable[[Node, Graph], bool]:
    return lambda node, graph: node.op_type in types


KERNEL_FAMILIES: dict[str, tuple[int, bool, Callable[[Node, Graph], bool]]] = {
    "int4 FullyConnected": (round((0.94 + 0.64) * MIB), False, _compressed_fc(frozenset({"u4", "i4", "nf4"}))),
    "int8 FullyConnected": (round((0.38 + 0.60) * MIB), False, _compressed_fc(frozenset({"u8", "i8"}))),
    "Convolution": (round((1.79 + 0.89) * MIB), False, _op("Convolution")),
    "GroupConvolution": (round((0.67 + 0.41) * MIB), False, _op("GroupConvolution")),
    "MVN": (round((0.53 + 0.09) * MIB), False, _op("MVN")),
    "Softmax": (round((0.57 + 0.16) * MIB), False, _op("Softmax")),
    "AvgPool": (round(0.72 * MIB), False, _op("AvgPool")),
    "SDPA without a KV cache": (
        round((0.23 + 2.3) * MIB), True, lambda node, graph: node.op_type == "ScaledDotProductAttention" and not graph.states
    ),
}
"""Kernel families beyond an LLM's: bytes each adds on top of an f16 LLM (code + anon, measured),
whether it is paid per compiled model (JIT code and buffers of its own) rather than once per
process, and how to recognise it in a lifted graph."""


def kernel_families(graphs: Iterable[Graph]) -> dict[str, int]:
    """The kernel families beyond an LLM's that ``graphs`` use, with the bytes each adds."""
    found: dict[str, int] = {}
    for graph in graphs:
        for name, (nbytes, per_model, uses) in KERNEL_FAMILIES.items():
            if (per_model or name not in found) and any(uses(node, graph) for node in graph.nodes):
                found[name] = found.get(name, 0) + nbytes if per_model else nbytes
    return found


def ir_ops(graph: Graph) -> int:
    """Operations of the IR the graph was lifted from, as read (``graph.meta["ir_ops"]``; the
    graph's own nodes where it was built another way)."""
    return graph.meta.get("ir_ops") or len(graph.nodes)


def cpu_runtime_bytes(target: Target, graphs: Iterable[Graph]) -> int:
    """The CPU plugin's own resident bytes on ``target`` for a process that compiled ``graphs``
    (one model's, or each sub-model of a pipeline once) and ran them at their sizes."""
    graphs = list(graphs)
    ops = sum(ir_ops(g) for g in graphs)
    prefill = any(g.meta.get("seq_len", 1) > 1 for g in graphs)
    families = sum(kernel_families(graphs).values())
    extra_models = max(len(graphs) - 1, 0) * PER_EXTRA_MODEL
    return (
        BASE + PER_OP * ops + PREFILL * prefill + target.threads * (PER_THREAD + PER_OP_THREAD * ops) + families
        + extra_models
    )  # fmt: skip
