"""Named classes, built-in and from plugins: the shared machinery behind passes and allocators.

A :class:`Registry` maps kebab-case names to classes. Other packages add to it through an
entry-point group, loaded on first use; a plugin that fails to load is logged and skipped, never
fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Generic, TypeVar

__all__ = ["Registry"]

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes of one kind (``kind``, e.g. "pass"), each a subclass of ``base`` with a ``name``."""

    plugins_loaded: ClassVar[bool] = False
    """Whether this process registered a class from outside ovmem (a plugin, or a user's own in-process),
    in any registry: code that :mod:`ovmem.replay`'s key does not hash, so it keeps no answer then."""

    def __init__(self, kind: str, base: type, group: str) -> None:
        self.kind = kind
        self.base = base
        self.group = group
        """Entry-point group plugins register in."""
        self._classes: dict[str, T] = {}
        self._plugins_loaded = False

    def register(self, cls: T) -> T:
        """Class decorator: make ``cls`` available under ``cls.name`` (kebab-case)."""
        name = getattr(cls, "name", "")
        if not name or name != name.lower() or " " in name:
            raise ValueError(f"{cls.__qualname__}: a {self.kind} needs a kebab-case name, got {name!r}")
        self._classes[name] = cls
        if not cls.__module__.startswith("ovmem."):
            Registry.plugins_loaded = True
        return cls

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points  # ~10 ms: only when a name is not built in, or to list

        for ep in entry_points(group=self.group):
            try:
                cls = ep.load()
                if not (isinstance(cls, type) and issubclass(cls, self.base)):
                    raise TypeError(f"{ep.value} is not a {self.base.__name__} subclass")
                if getattr(cls, "name", "") in self._classes and self._classes[cls.name] is not cls:
                    raise ValueError(f"{cls.name!r} is taken (a plugin cannot replace a registered {self.kind})")
                self.register(cls)
            except Exception as exc:  # a broken plugin must not break the tool
                logger.warning("%s plugin %r could not be loaded: %s", self.kind, ep.name, exc)

    def classes(self) -> dict[str, T]:
        """Every registered class by name, built-in and plugin, sorted by name."""
        self._load_plugins()
        return dict(sorted(self._classes.items()))

    def get(self, name: str) -> T:
        """The class registered as ``name``; ``KeyError`` naming the known ones otherwise. Plugins are
        looked for only when ``name`` is not registered (they cannot replace a registered name)."""
        if name in self._classes:
            return self._classes[name]
        classes = self.classes()
        if name not in classes:
            raise KeyError(f"unknown {self.kind} {name!r}; available: {', '.join(classes)}")
        return classes[name]

    @contextmanager
    def scratch(self) -> Iterator[Registry[T]]:
        """Registrations (and plugins loaded) inside the block are forgotten after it (for tests)."""
        saved, loaded = dict(self._classes), self._plugins_loaded
        self._plugins_loaded = False
        try:
            yield self
        finally:
            self._classes, self._plugins_loaded = saved, loaded
