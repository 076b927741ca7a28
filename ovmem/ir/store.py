"""Lifted graphs kept across runs: a model read once is analysed later without OpenVINO.

Lifting reads the model, reshapes it with OpenVINO and walks every op (``import openvino`` alone is
0.1–0.2 s). For a model file it has lifted, ovmem keeps :class:`~ovmem.ir.template.ShapeTemplate`\\ s in
its cache (:mod:`ovmem.cache`, ``graphs/``), keyed by the ``.xml``'s path, size, modification time and
content hash, the ``.bin``'s size and time, ovmem's and OpenVINO's versions and a hash of the code that
lifts (``ovmem/ir/``, ``ovmem/genai.py``), how it was lifted (as exported, or as openvino.genai prepares
it) and the sizes other than the length:

* every length lifted is kept as a template of that one graph (a repeat at that length needs no
  OpenVINO);
* once three lengths are kept, a template is fitted on the shortest and longest and checked on one
  between (the sweeps' affine template, :mod:`ovmem.ir.template`); from then on any length in that
  range is instantiated from it. A length outside is lifted and widens the range at the next fit.
  Where the shapes are not affine over the lengths kept (the check fails), those lengths are noted
  and not tried again; each length is then lifted, as without a store.

A graph from the store is what :func:`~ovmem.ir.lift.lift` gives (``tests/test_store.py`` compares the
analyses field for field). ``OVMEM_NO_CACHE=1`` (``--no-cache``) bypasses it; an ``openvino.Model``
object (no file to key it by) and ``--lift runtime`` (a compiled graph) are never stored. Files are
written to a temporary name and renamed, so concurrent runs never read half of one; an unreadable
entry is lifted again.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ovmem import cache
from ovmem.ir.core import Graph
from ovmem.ir.template import ShapeTemplate, TemplateMismatch

__all__ = ["FORMAT", "FolderShelf", "MemoryShelf", "Shelf", "cached_lift", "lift_through"]

logger = logging.getLogger(__name__)

FORMAT = 1
"""Bumped when what a template holds changes: older entries are then never read."""
KEEP_LENGTHS = 6
"""Single-length templates kept per model and sizes (the oldest go)."""


def cached_lift(model: Any, lift: Callable[..., Graph], kind: str, sizes: dict[str, Any]) -> Graph:
    """``lift(model, **sizes)``, or the same graph from the store (module doc)."""
    seq_len = sizes.get("seq_len")
    if not cache.enabled() or not isinstance(model, (str, os.PathLike)) or not isinstance(seq_len, int):
        return lift(model, **sizes)
    from ovmem.ir.lift import resolve_model_path

    xml = resolve_model_path(model)
    if not xml.is_file() or not xml.with_suffix(".bin").is_file():  # the lift says what is wrong
        return lift(model, **sizes)
    shelf = FolderShelf(cache.cache_root() / "graphs" / _key(xml, kind, sizes))
    return lift_through(shelf, seq_len, lambda: lift(model, **sizes))


def lift_through(shelf: Shelf, seq_len: int, lift: Callable[[], Graph]) -> Graph:
    """The graph at ``seq_len`` from ``shelf`` (kept at that length, or from its fitted template), else
    ``lift()``'s, which the shelf then keeps (fitting a template once it holds three lengths)."""
    if (graph := _from_shelf(shelf, seq_len)) is not None:
        return graph
    graph = lift()
    try:
        _keep(shelf, graph)
    except (OSError, TemplateMismatch, pickle.PicklingError, RecursionError) as exc:
        logger.debug("graph store: not kept (%s)", exc)
    return graph


class Shelf:
    """Where one model's templates (at given sizes) are kept: entries by name, oldest first."""

    def load(self, name: str) -> Any | None:
        raise NotImplementedError

    def save(self, name: str, entry: Any) -> None:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def names(self) -> list[str]:
        raise NotImplementedError


class MemoryShelf(Shelf):
    """In this process only (:class:`ovmem.Model`)."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}

    def load(self, name: str) -> Any | None:
        return self.entries.get(name)

    def save(self, name: str, entry: Any) -> None:
        self.entries.pop(name, None)
        self.entries[name] = entry

    def drop(self, name: str) -> None:
        self.entries.pop(name, None)

    def names(self) -> list[str]:
        return list(self.entries)


class FolderShelf(Shelf):
    """Pickles in a folder of ovmem's cache, each written to a temporary name and renamed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, name: str) -> Any | None:
        try:
            with open(self.folder / f"{name}.pkl", "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a torn or stale entry is lifted again
            logger.debug("graph store: %s/%s unreadable (%s)", self.folder, name, exc)
            return None

    def save(self, name: str, entry: Any) -> None:
        cache.atomic_write(self.folder / f"{name}.pkl", pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))

    def drop(self, name: str) -> None:
        (self.folder / f"{name}.pkl").unlink(missing_ok=True)

    def names(self) -> list[str]:
        files = [p for p in self.folder.glob("*.pkl")] if self.folder.is_dir() else []
        return [p.stem for p in sorted(files, key=lambda p: p.stat().st_mtime_ns)]


@functools.cache
def _code_digest() -> str:
    """A hash of the code that makes a lifted graph (``ovmem/ir/``, ``ovmem/genai.py``)."""
    import ovmem.genai
    import ovmem.ir

    return cache.code_digest([*Path(ovmem.ir.__file__).parent.glob("*.py"), Path(ovmem.genai.__file__)])


def _key(xml: Path, kind: str, sizes: dict[str, Any]) -> str:
    from ovmem import __version__
    from ovmem._lazy import installed_version

    files = {}
    for path in (xml, xml.with_suffix(".bin")):
        stat = path.stat()
        files[str(path.resolve())] = [stat.st_size, stat.st_mtime_ns]
    others = {k: v for k, v in sizes.items() if k != "seq_len"}
    key = [FORMAT, __version__, _code_digest(), installed_version(), files, cache.file_digest(xml), kind, others]
    return cache.key_digest(key)


def _from_shelf(shelf: Shelf, seq_len: int) -> Graph | None:
    for name in (f"at-{seq_len}", "fitted"):
        entry = shelf.load(name)
        if entry is None:
            continue
        template, low, high = entry
        if low <= seq_len <= high:
            try:
                return template.instantiate(seq_len)
            except TemplateMismatch as exc:
                logger.debug("graph store: %s", exc)
    return None


def _keep(shelf: Shelf, graph: Graph) -> None:
    """Keep ``graph``'s length; with three lengths kept, fit and check a template over their range."""
    seq_len = graph.meta["seq_len"]
    shelf.save(f"at-{seq_len}", (ShapeTemplate(graph), seq_len, seq_len))
    kept = [name for name in shelf.names() if name.startswith("at-")]
    for old in kept[:-KEEP_LENGTHS]:
        shelf.drop(old)
    lengths = sorted(int(name[3:]) for name in kept[-KEEP_LENGTHS:])
    fitted = shelf.load("fitted")
    if len(lengths) < 3 or (fitted is not None and fitted[1] <= lengths[0] and lengths[-1] <= fitted[2]):
        return
    low, middle, high = lengths[0], lengths[len(lengths) // 2], lengths[-1]
    if shelf.load("unaffine") == (low, middle, high):
        return  # these lengths were tried: the shapes are not affine between them (a sliding window's kink)
    entries = {n: shelf.load(f"at-{n}") for n in (low, middle, high) if n != seq_len}
    if any(entry is None for entry in entries.values()):
        return  # torn or gone meanwhile: fitted at a later lift
    graphs = {n: graph if n == seq_len else entries[n][0].instantiate(n) for n in (low, middle, high)}
    try:
        template = ShapeTemplate(graphs[low], graphs[high])
        template.check(graphs[middle])
    except TemplateMismatch:
        shelf.save("unaffine", (low, middle, high))
        raise
    shelf.save("fitted", (template, low, high))
