"""Passes by name: the built-ins, user classes registered with :func:`register_pass`, and plugins.

A package makes its passes available to ``ovmem --passes`` through the entry-point group
``ovmem.passes``, each entry naming a :class:`~ovmem.passes.base.Pass` subclass::

    [project.entry-points."ovmem.passes"]
    drop-logits = "my_package.passes:DropLogits"
"""

from __future__ import annotations

from typing import TypeVar

from ovmem.passes.base import Pass
from ovmem.registry import Registry

__all__ = ["ENTRY_POINT_GROUP", "PASSES", "available_passes", "get_pass_class", "register_pass"]

ENTRY_POINT_GROUP = "ovmem.passes"

P = TypeVar("P", bound=type[Pass])

PASSES: Registry[type[Pass]] = Registry("pass", Pass, ENTRY_POINT_GROUP)
"""Every pass by name."""


def register_pass(cls: P) -> P:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    return PASSES.register(cls)


def available_passes() -> dict[str, type[Pass]]:
    """Every registered pass class by name, built-in and plugin."""
    return PASSES.classes()


def get_pass_class(name: str) -> type[Pass]:
    """The pass class registered as ``name``; ``KeyError`` naming the known ones otherwise."""
    return PASSES.get(name)
