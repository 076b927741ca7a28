"""The pass protocol: a frozen, configurable transformation or analysis of a :class:`Graph`.

A pass is an ``attrs`` frozen class whose fields are its options and whose ``name`` is kebab-case
(as in xDSL). :meth:`Pass.call` does the work and returns a :class:`PassResult`; optional
:meth:`Pass.requires` / :meth:`Pass.ensures` check pre- and postconditions and raise
:class:`PassPreconditionError` (as in onnx-ir). Analysis results go into ``meta`` through
:class:`~ovmem.ir.meta.MetaKey` accessors, each documented in the module that defines it.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from ovmem.errors import UsageError
from ovmem.ir.core import Graph
from ovmem.options import describe

__all__ = ["Pass", "PassPreconditionError", "PassResult"]


class PassPreconditionError(UsageError, RuntimeError):
    """A pass was run on a graph it cannot handle (say, before the passes it depends on): a pipeline
    put together wrongly, reported as one usage line."""


@attrs.frozen
class PassResult:
    """What a pass returns."""

    graph: Graph
    """The graph after the pass (the same object for in-place passes)."""
    modified: bool
    """Whether the pass changed the graph or its analysis results."""


@attrs.frozen
class Pass:
    """Base class of every pass."""

    name: ClassVar[str] = ""
    """Kebab-case name used in pipeline strings (``"fold-weights,lifetime"``)."""

    def requires(self, graph: Graph) -> None:
        """Raise :class:`PassPreconditionError` if ``graph`` is not ready for this pass."""

    def ensures(self, graph: Graph) -> None:
        """Raise :class:`PassPreconditionError` if the pass left ``graph`` inconsistent."""

    def call(self, graph: Graph) -> PassResult:
        """Do the work. Subclasses implement this."""
        raise NotImplementedError

    def __call__(self, graph: Graph) -> PassResult:
        self.requires(graph)
        result = self.call(graph)
        self.ensures(result.graph)
        return result

    def __str__(self) -> str:
        """The pass as it is written in a pipeline string: ``name{option=value,...}``."""
        return describe(self, self.name)
