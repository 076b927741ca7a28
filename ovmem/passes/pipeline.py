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
import typing
from collections.abc import Sequence
from typing import TextIO

import attrs

from ovmem.errors import UsageError
from ovmem.ir.core import Graph
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.registry import get_pass_class

__all__ = ["Instrument", "Pipeline", "PrintAfterInstrument", "TimingInstrument", "parse_pipeline"]


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


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise UsageError(f"pipeline {text!r}: unbalanced '}}'")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise UsageError(f"pipeline {text!r}: unbalanced '{{'")
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _convert(text: str, type_: object, where: str) -> object:
    if type_ is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise UsageError(f"{where}: expected true or false, got {text!r}")
    if type_ in (int, float):
        try:
            return type_(text)  # type: ignore[operator]
        except ValueError:
            raise UsageError(f"{where}: expected {type_.__name__}, got {text!r}") from None  # type: ignore[union-attr]
    if typing.get_origin(type_) is typing.Literal:
        choices = typing.get_args(type_)
        if text not in choices:
            raise UsageError(f"{where}: expected one of {', '.join(map(str, choices))}, got {text!r}")
        return text
    return text


def _make_pass(item: str) -> Pass:
    name, brace, rest = item.partition("{")
    name = name.strip()
    if not name:
        raise UsageError("pipeline: empty pass name")
    try:
        cls = get_pass_class(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if brace and not rest.endswith("}"):
        raise UsageError(f"pipeline: options of {name!r} must end with '}}'")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in attrs.fields(cls)}
    options: dict[str, object] = {}
    for pair in filter(None, (p.strip() for p in rest[:-1].split(","))) if brace else ():
        key, eq, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise UsageError(f"pipeline: pass {name!r} has no option {pair!r} (options: {known})")
        options[key] = _convert(value.strip(), hints.get(key, str), f"{name}.{key}")
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"pipeline: pass {name!r}: {exc}") from None


def parse_pipeline(text: str | Sequence[str], *, instruments: Sequence[Instrument] = ()) -> Pipeline:
    """A :class:`Pipeline` from a string such as ``"fold-weights,lifetime{...}"`` (or a list of items)."""
    items = _split_top_level(text) if isinstance(text, str) else [t.strip() for t in text]
    return Pipeline([_make_pass(item) for item in items if item], instruments=instruments)
