"""Passes by name: the built-ins, user classes registered with :func:`register_pass`, and plugins.

A package makes its passes available to ``ovmem --passes`` through the entry-point group
``ovmem.passes``, each entry naming a :class:`~ovmem.passes.base.Pass` subclass::

    [project.entry-points."ovmem.passes"]
    drop-logits = "my_package.passes:DropLogits"
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TypeVar

from ovmem.passes.base import Pass

__all__ = ["ENTRY_POINT_GROUP", "available_passes", "get_pass_class", "register_pass"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ovmem.passes"

P = TypeVar("P", bound=type[Pass])
_REGISTRY: dict[str, type[Pass]] = {}
_entry_points_loaded = False


def register_pass(cls: P) -> P:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not cls.name or cls.name != cls.name.lower() or " " in cls.name:
        raise ValueError(f"{cls.__qualname__}: a pass needs a kebab-case name, got {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Pass)):
                raise TypeError(f"{ep.value} is not a Pass subclass")
            register_pass(cls)
        except Exception as exc:  # a broken plugin must not break the tool
            logger.warning("pass plugin %r could not be loaded: %s", ep.name, exc)


def available_passes() -> dict[str, type[Pass]]:
    """Every registered pass class by name, built-in and plugin."""
    _load_entry_points()
    return dict(sorted(_REGISTRY.items()))


def get_pass_class(name: str) -> type[Pass]:
    """The pass class registered as ``name``; ``KeyError`` naming the known ones otherwise."""
    passes = available_passes()
    if name not in passes:
        raise KeyError(f"unknown pass {name!r}; available: {', '.join(passes)}")
    return passes[name]
