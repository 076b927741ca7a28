"""The allocator protocol and its registry.

An allocator never sees the IR: it takes a sequence of frozen :class:`BufferRequest` and returns a
frozen :class:`Plan`. Subclasses are ``attrs`` classes whose fields are their options and implement
:meth:`Allocator.place`; the base class checks the input, applies the alignment and builds the plan.
Register one with :func:`register_allocator` or, from another package, through the entry-point group
``ovmem.allocators``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar, TypeVar

import attrs

from ovmem.alloc.plan import Plan
from ovmem.alloc.request import BufferRequest, align_up
from ovmem.options import configure, describe
from ovmem.registry import Registry

__all__ = ["ALLOCATORS", "Allocator", "available_allocators", "get_allocator", "parse_allocator", "register_allocator"]

ENTRY_POINT_GROUP = "ovmem.allocators"


def _positive(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


def positive_seconds(instance: object, attribute: attrs.Attribute, value: float) -> None:
    """attrs validator of a time limit: more than 0 seconds."""
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


@attrs.frozen
class Allocator:
    """Base of all allocators: turns buffer requests into a plan of offsets in one arena."""

    name: ClassVar[str] = ""
    """Kebab-case name used by :func:`get_allocator` and ``--allocator``."""

    alignment: int = attrs.field(default=1, validator=_positive, kw_only=True)
    """Offsets are multiples of it and sizes are rounded up to it (bytes)."""

    def allocate(self, requests: Sequence[BufferRequest]) -> Plan:
        """Plan ``requests``; the result has an offset for each of them."""
        requests = tuple(requests)
        if len({r.id for r in requests}) != len(requests):
            raise ValueError("BufferRequest ids must be unique")
        sizes = {r.id: align_up(r.size, self.alignment) for r in requests}
        offsets = self.place(requests, sizes)
        peak = max((offsets[r.id] + sizes[r.id] for r in requests), default=0)
        return Plan(self.name, requests, offsets, peak, self.alignment)

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        """Return an offset (a multiple of ``alignment``) for every request.

        Args:
            requests: what to place, in the caller's order.
            sizes: each request's size already rounded up to ``alignment``, by id.
        """
        raise NotImplementedError

    def __str__(self) -> str:
        """The allocator as ``--allocator`` writes it: ``name{option=value,...}``."""
        return describe(self, self.name)


A = TypeVar("A", bound=type[Allocator])

ALLOCATORS: Registry[type[Allocator]] = Registry("allocator", Allocator, ENTRY_POINT_GROUP)
"""Every allocator by name."""


def register_allocator(cls: A) -> A:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    return ALLOCATORS.register(cls)


def available_allocators() -> list[str]:
    """Names of every registered allocator, built-in and plugin, sorted."""
    return list(ALLOCATORS.classes())


def parse_allocator(text: str) -> Allocator:
    """An allocator from ``name{option=value,...}`` (``"greedy-by-size{alignment=32}"``)."""
    return configure(text, _allocator_class, "allocator")


def _allocator_class(name: str) -> type[Allocator]:
    try:
        return ALLOCATORS.get(name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def get_allocator(name: str, **options: object) -> Allocator:
    """An allocator by name, configured with ``options`` (its attrs fields)."""
    return _allocator_class(name)(**options)


