"""ovmem's cache of remote models: one folder per source, never inside a model folder.

Remote models live under ``remote/<key>/`` of :func:`ovmem.cache.cache_root` (``key``: a hash of the source as written), each with a ``manifest.json`` (the source,
the commit or ETags it was read at, what the fetch cost) and the model folder itself: the ``.xml`` and
JSON files whole, each ``.bin`` as a sparse file of its full size holding only the ranges the analysis
reads (the rest are holes: they take no disk and read as zeros). An entry is built in a temporary
folder and renamed into place, so concurrent runs never see half of one.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from ovmem.cache import cache_root, disk_bytes, key_digest

__all__ = ["entries", "entry_folder", "install", "read_manifest", "staging_folder"]

MANIFEST = "manifest.json"


def entry_folder(source_text: str) -> Path:
    """The cache entry of a source (it may not exist yet)."""
    return cache_root() / "remote" / key_digest(source_text.rstrip("/"))


def read_manifest(entry: Path) -> dict[str, Any] | None:
    """An entry's manifest, or ``None`` if the entry is missing or unfinished."""
    try:
        return json.loads((entry / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def staging_folder(entry: Path) -> Path:
    """A fresh folder beside ``entry`` to build it in."""
    staging = entry.parent / f".staging-{entry.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    return staging


def install(staging: Path, entry: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest and move a built entry into place (replacing an older one of the same source)."""
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    old = None
    if entry.exists():
        old = entry.parent / f".old-{entry.name}-{uuid.uuid4().hex[:8]}"
        try:
            entry.rename(old)
        except FileNotFoundError:
            old = None
    try:
        staging.rename(entry)
    except OSError:  # another run installed it first: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def entries() -> list[dict[str, Any]]:
    """Every cached remote model: its manifest plus ``folder`` and ``disk_bytes`` (blocks really used)."""
    root = cache_root() / "remote"
    found = []
    for entry in sorted(root.iterdir()) if root.is_dir() else ():
        if entry.name.startswith(".") or (manifest := read_manifest(entry)) is None:
            continue
        found.append({**manifest, "folder": str(entry), "disk_bytes": disk_bytes(entry)})
    return found
