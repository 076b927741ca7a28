"""ovmem from Python: a custom pass and a custom allocator, then a sweep, a budget and a what-if.

Runs as it is, on the built-in demo model (a Llama-style decoder built with openvino.opset*,
random weights, nothing to download)::

    python examples/custom_pass_and_allocator.py

``tests/test_examples.py`` runs it, so it keeps working.
"""

from __future__ import annotations

import attrs

import ovmem
from ovmem.alloc import Allocator, register_allocator
from ovmem.ir.types import TensorType
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.passes import CATEGORY, STORED_TYPE, Category, Pass, PassResult, register_pass
from ovmem.sweeps import format_sweep
from ovmem.units import format_bytes


@register_pass
@attrs.frozen
class HalfActivations(Pass):
    """What-if: the runtime keeps every f32 intermediate tensor in f16 (a GPU-like plugin would).

    Runs after ``placement`` (which pins inputs, outputs and states; weights and folded shapes
    are categorised before it, and a value left without a category is a temporary) and before
    ``lifetime`` (which sizes the buffers from each value's stored type).
    """

    name = "half-activations"
    dtype: str = "f16"
    """The element type the temporaries are stored in."""

    def call(self, graph):
        modified = False
        for value in graph.values():
            if CATEGORY.get(value, None) in (None, Category.TEMP) and value.type.dtype == "f32":
                STORED_TYPE.set(value, TensorType(self.dtype, value.type.shape))
                modified = True
        return PassResult(graph, modified)


@register_allocator
@attrs.frozen
class FirstFitByStart(Allocator):
    """Buffers in the order they start, each at the lowest offset free for its whole lifetime
    (what a simple online arena does; no look-ahead, unlike ``greedy-by-size``)."""

    name = "first-fit-by-start"

    def place(self, requests, sizes):
        offsets, placed = {}, []
        for r in sorted(requests, key=lambda r: (r.start, -sizes[r.id])):
            busy = sorted((offsets[p.id], offsets[p.id] + sizes[p.id]) for p in placed if p.overlaps_in_time(r))
            offset = 0
            for begin, end in busy:
                if offset + sizes[r.id] <= begin:
                    break
                offset = max(offset, end)
            offsets[r.id] = -(-offset // self.alignment) * self.alignment
            placed.append(r)
        return offsets


def main() -> None:
    model = build_llama(LlamaConfig(num_layers=2))
    half = "fold-weights,fold-shapes,fuse,inplace,states,placement,half-activations,lifetime"

    # 1. one analysis, with the custom pass and the custom allocator
    base = ovmem.analyze(model, seq_len=1024)
    custom = ovmem.analyze(model, seq_len=1024, passes=half, allocator="first-fit-by-start")
    custom.plan.validate()  # no two buffers live at the same step overlap in memory
    print(f"seq_len 1024: temp peak {format_bytes(base.temp_peak_bytes)} -> {format_bytes(custom.temp_peak_bytes)} "
          f"(half-activations + first-fit-by-start; lower bound {format_bytes(custom.temp_lower_bound_bytes)})")

    # 2. a sweep: every part against the sequence length (each point equals ovmem.analyze there)
    result = ovmem.sweep(model, "256:4096:x2", passes=half, allocator="first-fit-by-start")
    print(format_sweep(result))
    assert result.points[-1].report.total_bytes == ovmem.analyze(
        model, seq_len=4096, passes=half, allocator="first-fit-by-start"
    ).total_bytes

    # 3. a budget: the longest sequence that fits in 512 MiB, with and without the custom pass
    for label, options in (("default passes", {}), ("half-activations", {"passes": half})):
        answer = ovmem.max_seq_len(model, "512MiB", **options)
        print(f"512 MiB, {label}: up to {answer.length} tokens; the wall is {answer.wall}")
    check = ovmem.fits(model, "512MiB", seq_len=2048)
    print(f"2048 tokens: {'fit' if check.fits else 'do not fit'}, margin {format_bytes(check.margin_bytes)}")

    # 4. a what-if: changes as the command writes them, or as ovmem.analyze keywords
    table = ovmem.whatif(
        model,
        ["kv-cache-precision=u4", {"allocator": "first-fit-by-start"}, {"passes": half}, "disable=fuse"],
        seq_len=2048,
    )
    for scenario in table.scenarios:
        delta = scenario.report.total_bytes - table.baseline.report.total_bytes
        print(f"what if {scenario.label}: total {'+' if delta >= 0 else ''}{format_bytes(delta)}")


if __name__ == "__main__":
    main()
