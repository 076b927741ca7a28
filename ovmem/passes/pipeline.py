"""Run passes in order, with instruments, and build pipelines from strings.

A pipeline string names registered passes separated by commas, each with optional options in
braces (xDSL style)::

    "fold-weights,lifetime"
    "fold-weights{count_shared_once=false},lifetime"

Instruments (TVM style) see every pass before and after it runs: :class:`TimingInstrument` records
durations, :class:`PrintAfterInstrument` prints the graph after each pass (``--print-after-all``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

import attrs

from ovmem.errors import UsageError
from ovmem.ir.core import Graph
from ovmem.passes.base import Pass, PassResult
from ovmem.options import configure, split_top_level
from ovmem.passes.registry import get_pass_class

__all__ = ["Instrument", "Pipeline", "PrintAfterInstrument", "TimingInstrument", "disable", "parse_pipeline"]


class Instrument:
    """Hooks around every pass of a pipeline; override what you need."""

    def run_before_pass(self, pass_: Pass, graph: Graph) -> None:
        """Called before ``pass_`` runs on ``graph``."""

    def run_after_pass(self, pass_: Pass, result: PassResult) -> None:
        """Called after ``pass_`` returned ``result``."""


@attrs.define
class TimingInstrument(Instrument):
    """Records how long each pass took, in seconds, in run order."""

    timings: list[tuple[str, float]] = attrs.field(factory=list)
    _started: float = 0.0

    def run_before_pass(self, pass_: Pass, graph: Graph) -> None:
        self._started = time.perf_counter()

    def run_after_pass(self, pass_: Pass, result: PassResult) -> None:
        self.timings.append((str(pass_), time.perf_counter() - self._started))


@attrs.define
class PrintAfterInstrument(Instrument):
    """Prints ``Graph.dump()`` after every pass (to ``stream``, by default the current stderr)."""

    stream: TextIO | None = None

    def run_after_pass(self, pass_: Pass, result: PassResult) -> None:
        stream = self.stream or sys.stderr
        print(f"// after {pass_} (modified={result.modified})", file=stream)
        print(result.graph.dump(), file=stream)


@attrs.frozen
class Pipeline(Pass):
    """Runs its passes in order; modified if any of them modified the graph."""

    name = "pipeline"
    passes: tuple[Pass, ...] = attrs.field(converter=tuple, factory=tuple)
    instruments: tuple[Instrument, ...] = attrs.field(converter=tuple, factory=tuple, kw_only=True)

    def call(self, graph: Graph) -> PassResult:
        modified = False
        for pass_ in self.passes:
            for instrument in self.instruments:
                instrument.run_before_pass(pass_, graph)
            result = pass_(graph)
            for instrument in self.instruments:
                instrument.run_after_pass(pass_, result)
            graph, modified = result.graph, modified or result.modified
        return PassResult(graph, modified)

    def __str__(self) -> str:
        return ",".join(str(p) for p in self.passes)


def parse_pipeline(text: str | Sequence[str], *, instruments: Sequence[Instrument] = ()) -> Pipeline:
    """A :class:`Pipeline` from a string such as ``"fold-weights,lifetime{...}"`` (or a list of items)."""
    items = split_top_level(text) if isinstance(text, str) else [t.strip() for t in text]
    if not any(items):
        raise UsageError("empty pass pipeline: name the passes, e.g. \"fold-weights,placement,lifetime\" (`ovmem list`)")
    return Pipeline([configure(item, get_pass_class, "pass") for item in items if item], instruments=instruments)


_RULE_DEFAULTS = (True, False, "auto", "on", "off")
"""Defaults that make an option a rule ``--disable`` can switch off (``fuse.mlp`` is ``off`` unless a
device's pipeline says ``auto``)."""


def disable(pipeline: Pipeline, names: Sequence[str]) -> Pipeline:
    """``pipeline`` without the passes or rules named: ``"fuse"`` drops the pass, ``"inplace.rope"``
    switches that rule's option off (``false``, or ``"off"`` for an ``auto|on|off`` option)."""
    passes = list(pipeline.passes)
    for name in names:
        pass_name, _, rule = name.partition(".")
        matching = [p for p in passes if p.name == pass_name]
        if not matching:
            raise UsageError(f"--disable {name}: no pass {pass_name!r} in the pipeline ({pipeline})")
        if not rule:
            passes = [p for p in passes if p.name != pass_name]
            continue
        field = rule.replace("-", "_")
        fields = {f.name: f for f in attrs.fields(type(matching[0]))}
        if field not in fields or fields[field].default not in _RULE_DEFAULTS:
            rules = [f for f, a in fields.items() if a.default in _RULE_DEFAULTS]
            raise UsageError(f"--disable {name}: {pass_name} has no rule {rule!r} (rules: {', '.join(rules) or 'none'})")
        off = False if isinstance(fields[field].default, bool) else "off"
        passes = [attrs.evolve(p, **{field: off}) if p.name == pass_name else p for p in passes]
    return attrs.evolve(pipeline, passes=passes)
