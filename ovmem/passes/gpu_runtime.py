"""``gpu-runtime``: what the OpenVINO GPU plugin stores differently from the graph as exported.

Modelled from the plugin's documentation and source, **not validated**: no Intel GPU was available
to measure. Rules (sources in ``docs/gpu-plugin-notes.md``, sections 1, 2 and 6):
  1. ``precision``: float temporaries are stored in the inference precision — f16, the plugin's
     ``INFERENCE_PRECISION_HINT`` default (``options.inl``), applied by ``ConvertPrecision`` in
     ``TransformationsPipeline::apply``; 64- and unsigned 32/16-bit integer temporaries are i32
     (the pipeline's second ``ConvertPrecision``). Model inputs, outputs and states keep their types
     (``convert_input_output_precision`` is off). The plugin's map also takes i16 to i32 (and boolean to u8,
     i4/u4 to i8/u8); i16 is not modelled.
  2. ``weights``: in f16 mode every float weight is stored in f16 (an f32 constant at half its
     ``.bin`` size; f16 as stored), 64-bit integer constants as i32, and compressed int4/int8
     weights, their scales and zero points as stored (``MarkDequantization`` and ``KeepConstPrecision``
     for u8/i8/u4/i4, formerly ``MarkDequantizationSubgraph``; ``KeepConstantsPrecisionAndAddConverts``).
     Each constant has one copy, in device memory
     (``program::transfer_memory_to_device`` moves it there and drops the host copy), so no
     ``weight_copy_bytes``. In f32 mode weights keep their stored types.
  3. ``input_copies``: the caller's host tensor is copied into a device buffer before the run
     (``SyncInferRequest::prepare_input``), in the type the device takes (f64 as f32, u64 and u32
     as i32; ``convert_to_supported_device_type``).
  4. ``output_copies``: for a model compiled with dynamic shapes the network writes each output
     into its own buffer and the request copies it into the caller's tensor after the run
     (``SyncInferRequest::wait``): every output is held twice — full f32 logits included. With
     static shapes the network writes straight into the request's tensor.

Reads: ``category``, ``graph.meta["dynamic_model"]``. Writes: ``stored_type`` on temporaries and
weights, ``io_copy_bytes`` on model inputs and outputs, and ``graph.meta["inference_precision"]``.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ovmem.ir.core import Graph, Value
from ovmem.ir.meta import MetaKey
from ovmem.ir.types import TensorType
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.keys import CATEGORY, IO_COPY_BYTES, STORED_TYPE, Category
from ovmem.passes.registry import register_pass

__all__ = ["GpuRuntime"]

FLOATS = frozenset({"f32", "f16", "bf16", "f64"})
TO_I32 = frozenset({"i64", "u64", "u32", "u16"})
INPUT_TYPES = {"f64": "f32", "i16": "f32", "u16": "f32", "u64": "i32", "u32": "i32"}
"""Rule 3: element types the device does not take as inputs, and what the plugin converts them to."""


def _stored(dtype: str, precision: str) -> str | None:
    """Rules 1-2: the element type the plugin stores ``dtype`` in, or ``None`` if unchanged."""
    if dtype in FLOATS and dtype != precision:
        return precision
    if dtype in TO_I32:
        return "i32"
    return None


def _update(key: MetaKey, value: Value, new: object) -> bool:
    """Set ``key`` on ``value`` to ``new`` (clear it for ``None``); whether anything changed."""
    if key.get(value, None) == new:
        return False
    if new is None:
        key.clear(value)
    else:
        key.set(value, new)
    return True


@register_pass
@attrs.frozen
class GpuRuntime(Pass):
    """Element types, weight storage and input/output copies of the GPU plugin (modelled)."""

    name = "gpu-runtime"
    precision: Literal["f16", "f32"] = "f16"
    """Rule 1: the inference precision (f16 unless the GPU lacks f16 support)."""
    weights: bool = True
    """Rule 2: weights stored in the inference precision."""
    input_copies: bool = True
    """Rule 3: a device copy of every input."""
    output_copies: bool = True
    """Rule 4: a network-side copy of every output of a dynamic-shape model."""

    def call(self, graph: Graph) -> PassResult:
        graph.meta["inference_precision"] = self.precision
        pinned = {*graph.inputs, *graph.outputs}
        for state in graph.states:
            pinned.update(state.values)
        modified = False
        for value in graph.values():
            category = CATEGORY.get(value, None)
            if category is Category.FOLDED or value in pinned:
                continue
            if category is Category.WEIGHT and not (self.weights and self.precision == "f16"):
                continue
            dtype = _stored(value.type.dtype, self.precision)
            modified |= _update(STORED_TYPE, value, None if dtype is None else TensorType(dtype, value.type.shape))
        copies: dict[Value, int] = {}
        if self.input_copies:
            for value in graph.inputs:
                dtype = INPUT_TYPES.get(value.type.dtype, value.type.dtype)
                copies[value] = TensorType(dtype, value.type.shape).nbytes or 0
        if self.output_copies and graph.meta.get("dynamic_model"):
            for value in graph.outputs:
                copies[value] = copies.get(value, 0) + (value.nbytes or 0)
        for value in {*graph.inputs, *graph.outputs}:
            modified |= _update(IO_COPY_BYTES, value, copies.get(value))
        return PassResult(graph, modified)
