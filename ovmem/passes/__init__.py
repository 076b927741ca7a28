"""Analysis passes over ovmem's IR, their registry and the pipeline that runs them."""

from __future__ import annotations

from ovmem.passes import cpu_runtime, cpu_scratch, fold_shapes, fold_weights, fuse, gpu_runtime, inplace, lifetime, placement, schedule, states  # noqa: F401  (register the built-ins)
from ovmem.passes.base import Pass, PassPreconditionError, PassResult
from ovmem.passes.cpu_runtime import CpuRuntime
from ovmem.passes.cpu_scratch import SCRATCH, CpuScratch
from ovmem.passes.fold_shapes import FoldShapes
from ovmem.passes.fold_weights import FoldWeights
from ovmem.passes.keys import (
    ALIAS_OF,
    CATEGORY,
    COMPILE_TIME,
    FOLDED_BY,
    CLIENT_COPY_BYTES,
    IO_COPY_BYTES,
    KERNEL,
    LIFETIME,
    STORED_TYPE,
    WEIGHT_COPY_BYTES,
    Category,
    Lifetime,
    alias,
    alias_root,
    fold,
    fold_node,
    run_step,
)
from ovmem.passes.fuse import Fuse, fused_kernels
from ovmem.passes.gpu_runtime import GpuRuntime
from ovmem.passes.inplace import InPlace
from ovmem.passes.lifetime import Buffer, LifetimeAnalysis, buffers
from ovmem.passes.pipeline import Instrument, Pipeline, PrintAfterInstrument, TimingInstrument, disable, parse_pipeline
from ovmem.passes.placement import Placement
from ovmem.passes.registry import available_passes, get_pass_class, register_pass
from ovmem.passes.schedule import Schedule
from ovmem.passes.states import STATE_BYTES, STATE_PRECISION, States

DEFAULT_PIPELINE = "fold-weights,fold-shapes,fuse,inplace,states,placement,lifetime"
"""The passes ``ovmem analyze`` runs unless told otherwise."""

__all__ = [
    "ALIAS_OF",
    "CATEGORY",
    "COMPILE_TIME",
    "FOLDED_BY",
    "CLIENT_COPY_BYTES",
    "IO_COPY_BYTES",
    "KERNEL",
    "Buffer",
    "DEFAULT_PIPELINE",
    "LIFETIME",
    "Category",
    "FoldShapes",
    "FoldWeights",
    "Fuse",
    "InPlace",
    "Instrument",
    "Lifetime",
    "LifetimeAnalysis",
    "Pass",
    "PassPreconditionError",
    "PassResult",
    "Placement",
    "Pipeline",
    "PrintAfterInstrument",
    "STATE_BYTES",
    "STORED_TYPE",
    "WEIGHT_COPY_BYTES",
    "STATE_PRECISION",
    "Schedule",
    "States",
    "CpuRuntime",
    "CpuScratch",
    "SCRATCH",
    "GpuRuntime",
    "TimingInstrument",
    "alias",
    "alias_root",
    "available_passes",
    "buffers",
    "disable",
    "fold",
    "fold_node",
    "fused_kernels",
    "get_pass_class",
    "parse_pipeline",
    "register_pass",
    "run_step",
]
