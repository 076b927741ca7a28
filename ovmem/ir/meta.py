"""Typed accessors for analysis results stored on values, nodes and graphs.

Passes store what they learn in each object's ``meta`` dict, as torch.fx does, but never through raw
strings: a pass module defines a :class:`MetaKey` for each result it writes, with a docstring, and
everyone reads and writes through it::

    LIFETIME = MetaKey("lifetime", Lifetime, "First and last step at which the value is live.")
    LIFETIME.set(value, Lifetime(3, 7))
    LIFETIME.get(value)           # KeyError if no pass wrote it
    LIFETIME.get(value, None)     # or a default

Every key created is listed in :data:`ALL_KEYS` (for ``Graph.dump()`` and the docs).
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

__all__ = ["ALL_KEYS", "HasMeta", "MetaKey"]

T = TypeVar("T")
_MISSING: Any = object()


class HasMeta(Protocol):
    meta: dict[str, Any]


class MetaKey(Generic[T]):
    """A named, typed, documented slot in ``obj.meta``."""

    def __init__(self, name: str, type_: type[T] | tuple[type, ...], doc: str) -> None:
        if name in ALL_KEYS:
            raise ValueError(f"meta key {name!r} is defined twice")
        self.name = name
        self.type = type_
        self.doc = doc
        ALL_KEYS[name] = self

    def get(self, obj: HasMeta, default: T = _MISSING) -> T:
        """The stored result; ``default`` (or ``KeyError``) when no pass wrote it."""
        if default is _MISSING:
            try:
                return obj.meta[self.name]
            except KeyError:
                raise KeyError(f"{self.name!r} is not set on {obj!r}: run the pass that writes it") from None
        return obj.meta.get(self.name, default)

    def set(self, obj: HasMeta, value: T) -> None:
        """Store ``value``, checking its type."""
        if not isinstance(value, self.type):
            raise TypeError(f"meta {self.name!r} takes {self.type}, got {type(value).__name__}")
        obj.meta[self.name] = value

    def clear(self, obj: HasMeta) -> None:
        """Remove the stored result, if any."""
        obj.meta.pop(self.name, None)

    def is_set(self, obj: HasMeta) -> bool:
        """Whether a result is stored."""
        return self.name in obj.meta

    def __repr__(self) -> str:
        return f"MetaKey({self.name!r})"


ALL_KEYS: dict[str, MetaKey[Any]] = {}
"""Every key defined so far, by name."""
