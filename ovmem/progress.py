"""One status line on stderr while something long runs — only when stderr is a terminal.

Sweeps, budget searches and what-ifs say which point they are at; a single analysis says what it
is doing (lifting, each pass, planning). The line is redrawn in place and erased when the work is
done, so nothing of it remains in a terminal's scrollback, and a pipe or a file never sees it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import attrs

from ovmem.passes.base import Pass, PassResult
from ovmem.passes.pipeline import Instrument

__all__ = ["Progress"]

_MIN_INTERVAL = 0.05
"""Seconds between two redraws: a fast loop must not spend its time writing to the terminal."""


@attrs.define
class Progress:
    """A status line; :meth:`for_stderr` gives one that writes only to a terminal.

    ``status`` replaces the line's text, :meth:`step` counts points of a longer job (``3/8``),
    :meth:`close` erases the line.
    """

    stream: TextIO | None = None
    """Where to draw; ``None`` draws nothing."""
    label: str = "ovmem"
    total: int | None = None
    """Points in the current job, for ``step``."""
    done: int = 0
    _last: float = 0.0
    _shown: bool = False

    @classmethod
    def for_stderr(cls, label: str = "ovmem") -> Progress:
        """Draws on stderr if it is a terminal, else nowhere."""
        stream = sys.stderr
        return cls(stream if stream is not None and stream.isatty() else None, label)

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def status(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` (after the label and the step count, if any)."""
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self._last < _MIN_INTERVAL:
            return
        self._last = now
        count = f" {self.done}/{self.total}" if self.total else ""
        line = f"{self.label}{count}: {text}"
        width = 100
        self.stream.write("\r\x1b[K" + (line if len(line) <= width else line[: width - 1] + "…"))
        self.stream.flush()
        self._shown = True

    def step(self, text: str) -> None:
        """One more point of the job started with ``total``."""
        self.done += 1
        self.status(text, force=True)

    def start(self, total: int | None, label: str | None = None) -> None:
        """A new job of ``total`` points."""
        self.total, self.done = total, 0
        if label is not None:
            self.label = label

    def close(self) -> None:
        """Erase the line."""
        if self.stream is not None and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def instrument(self, passes: int) -> Instrument:
        """An instrument that shows each pass of a pipeline of ``passes`` passes as it starts."""
        return _PassStatus(self, passes)


@attrs.define
class _PassStatus(Instrument):
    progress: Progress
    passes: int
    index: int = 0

    def run_before_pass(self, pass_: Pass, graph: object) -> None:
        self.index += 1
        self.progress.status(f"pass {self.index}/{self.passes} {pass_.name}")

    def run_after_pass(self, pass_: Pass, result: PassResult) -> None:
        pass
