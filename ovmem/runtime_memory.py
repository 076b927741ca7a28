"""The CPU plugin's own resident memory: what a process holds to run models besides their tensors.

A model of physical parameters, each measured (``research/cpu-runtime/RESULTS.md``: 429 fresh-process
runs of OpenVINO 2026.4.1 at 1 and 2 threads, 178-4711 ops, every oneDNN ISA cap from AVX2 to AMX;
``research/cpu-runtime/probe.py`` reproduces them, ``fit.py`` fits them)::

    runtime = BASE + PER_OP · ops + [prefill] · PREFILL + threads · (PER_THREAD + PER_OP_THREAD · ops)

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

The ISA changes none of it by more than 0.9 MiB (the same plugin pages are mapped, only different
JIT kernels are generated), so the model has no ISA term; measured, not assumed
(``RESULTS.md`` section B).
"""

from __future__ import annotations

from collections.abc import Iterable

from ovmem.ir.core import Graph
from ovmem.target import Target

__all__ = ["BASE", "PER_OP", "PER_OP_THREAD", "PER_THREAD", "PREFILL", "cpu_runtime_bytes", "ir_ops"]

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
    return BASE + PER_OP * ops + PREFILL * prefill + target.threads * (PER_THREAD + PER_OP_THREAD * ops)
