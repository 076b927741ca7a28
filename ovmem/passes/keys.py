"""Analysis results that several passes and the report share. Each key documents who writes it.

==============  ==========  ======================================================================
key             on          written by / meaning
==============  ==========  ======================================================================
``category``    Value       ``fold-weights`` (``weight``), ``lifetime`` (``io``, ``state``,
                            ``temp``): which part of the memory report the value's bytes go to.
``lifetime``    Value       ``lifetime``: first and last execution step at which it is live.
==============  ==========  ======================================================================
"""

from __future__ import annotations

import enum

import attrs

from ovmem.ir.meta import MetaKey

__all__ = ["CATEGORY", "LIFETIME", "Category", "Lifetime"]


class Category(str, enum.Enum):
    """Where a value's bytes are counted."""

    WEIGHT = "weight"
    """Model weights: constants, resident for the model's life."""
    STATE = "state"
    """Variables of a stateful model (the KV cache), resident across runs."""
    IO = "io"
    """Model inputs and outputs: buffers the caller hands in and reads back, pinned for the run."""
    TEMP = "temp"
    """Intermediate tensors: packed into a reusable arena by an allocator."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Lifetime:
    """Execution steps ``start`` to ``end`` (inclusive) during which a value must be kept."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


CATEGORY: MetaKey[Category] = MetaKey("category", Category, "Which part of the report the value's bytes go to.")
LIFETIME: MetaKey[Lifetime] = MetaKey("lifetime", Lifetime, "First and last execution step at which the value is live.")
