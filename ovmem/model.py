"""``ovmem.Model``: one read of a model, many questions — for a notebook or a service.

    model = ovmem.Model("qwen2-0.5b-int4-ov")             # read once
    for n in (1024, 4096, 32768):
        print(n, model.analyze(seq_len=n).total_bytes)   # after three lengths, no lift at all
    model.analyze(seq_len=4096, target="zen4", kv_cache_precision="u4")

The model is read once (:class:`~ovmem._study.ModelSource`) and the graphs lifted from it are kept in
memory as shape templates (:func:`ovmem.ir.store.lift_through`, the persistent store's logic on an
in-memory shelf): a length analysed before is not lifted again, and once three lengths are kept any
length between them comes from the fitted template. Every other option (device, target, precisions,
passes, allocator, what-ifs) changes only the passes, never the lift.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ovmem._study import ModelSource, check_options
from ovmem.api import analyze_lifted, lift_model
from ovmem.config import RunConfig
from ovmem.ir.core import Graph
from ovmem.ir.store import MemoryShelf, lift_through
from ovmem.passes import Instrument
from ovmem.report import MemoryReport

__all__ = ["Model"]


class Model:
    """A model read once and analysed at any sizes and options (module doc)."""

    def __init__(self, model: Any, **options: Any) -> None:
        """``model``: an IR path (``.xml`` or its folder, or a remote ``hf://``/``http(s)://`` one) or an
        ``openvino.Model``; ``options``: defaults for every :meth:`analyze` (``ovmem.analyze``'s)."""
        check_options(options)
        self._source = ModelSource(model)
        self.name = self._source.name
        self.options = options
        self._shelves: dict[str, MemoryShelf] = {}

    def analyze(
        self, seq_len: int = 1024, *, batch: int = 1, past_len: int = 0, shapes: dict[str, tuple[int, ...]] | None = None,
        instruments: tuple[Instrument, ...] = (), **options: Any,
    ) -> MemoryReport:  # fmt: skip
        """:func:`ovmem.analyze` of this model (``options`` over the model's defaults), without reading it again."""
        merged = {**self.options, **options}
        check_options(merged)
        config = RunConfig.create(**merged)
        return analyze_lifted(lambda **sizes: self._lift(config, sizes), self.name, config, seq_len=seq_len, batch=batch,
                              past_len=past_len, shapes=shapes, instruments=instruments)  # fmt: skip

    def _lift(self, config: RunConfig, sizes: dict[str, Any]) -> Graph:
        if config.lift_from != "graph":  # a compiled graph: nothing to keep
            graph = lift_model(self._source.model, config, **sizes)
            graph.name = self.name
            return graph
        others = {k: v for k, v in sizes.items() if k != "seq_len"}
        shelf = self._shelves.setdefault(json.dumps([config.runtime, others], sort_keys=True, default=str), MemoryShelf())
        return lift_through(shelf, sizes["seq_len"], lambda: self._source.lift(runtime=config.runtime, **sizes))

    def __repr__(self) -> str:
        where = os.fspath(self._source.path) if self._source.path else "an openvino.Model"
        return f"ovmem.Model({self.name!r}: {where}, {sum(len(s.entries) for s in self._shelves.values())} templates kept)"
