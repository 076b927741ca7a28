"""ovmem's persistent cache: what a later run can reuse instead of redoing, never inside a model folder.

``$OVMEM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ovmem``, else ``~/.cache/ovmem``:

* ``remote/``: remote models, each a sparse local copy (:mod:`ovmem.remote.cache`);
* ``host/``: what the CPU plugin said about this machine (:func:`ovmem.target.detect_host` compiles three
  tiny models to learn it; a later run reads the answer), keyed by everything that changes it;
* ``graphs/``: lifted graphs as shape templates (:mod:`ovmem.ir.store`);
* ``answers/``: what a command printed, for the same command on unchanged files (:mod:`ovmem.replay`).

``OVMEM_NO_CACHE=1`` (``--no-cache``) makes the host probe, the lift and the answer run afresh and write nothing;
remote models still need their local copy (``--refresh`` fetches it again). Entries are
written to a temporary file and renamed into place, so concurrent runs never read half of one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write", "cache_root", "clear", "code_digest", "disk_bytes", "enabled", "file_digest", "key_digest", "read_json",
    "usage", "write_json",
]  # fmt: skip


def cache_root() -> Path:
    """Where ovmem caches (created on first use)."""
    if env := os.environ.get("OVMEM_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ovmem"


def enabled() -> bool:
    """False under ``OVMEM_NO_CACHE=1`` (``--no-cache``)."""
    return os.environ.get("OVMEM_NO_CACHE", "") in ("", "0")


def key_digest(key: Any) -> str:
    """A short name for an entry's key (any JSON-able value)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content, hashed once per process while its size and modification time stay
    (the graph store and the kept answers both key on a model's ``.xml``)."""
    stat = path.stat()
    return _content_digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _content_digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def code_digest(modules: list[Path]) -> str:
    """A hash of ovmem's modules (their paths inside the package and their text): an edit in a checkout,
    or a release that kept its version number, makes the entries keyed on it unreachable."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(modules):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _file(kind: str, key: Any) -> Path:
    return cache_root() / kind / f"{key_digest(key)}.json"


def read_json(kind: str, key: Any) -> Any | None:
    """The entry of ``kind`` stored under ``key`` (any JSON-able value), or ``None``."""
    if not enabled():
        return None
    try:
        entry = json.loads(_file(kind, key).read_text())
    except (OSError, ValueError):
        return None
    return entry.get("value") if isinstance(entry, dict) and entry.get("key") == json.loads(json.dumps(key)) else None


def write_json(kind: str, key: Any, value: Any) -> None:
    """Store ``value`` under ``key``; a cache that cannot be written is skipped silently."""
    if not enabled():
        return
    try:
        atomic_write(_file(kind, key), json.dumps({"key": key, "value": value}).encode())
    except OSError:
        pass


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path`` and rename it there: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def disk_bytes(folder: Path) -> int:
    """The bytes the files below ``folder`` really take on disk (a sparse file counts its blocks)."""
    return sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file())


def _kinds() -> list[Path]:
    root = cache_root()
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _entries(kind: Path) -> int:
    return sum(1 for p in kind.iterdir() if not p.name.startswith("."))


def usage() -> dict[str, dict[str, int]]:
    """Each kind's entries and the bytes they really take on disk."""
    return {kind.name: {"entries": _entries(kind), "disk_bytes": disk_bytes(kind)} for kind in _kinds()}


def clear() -> dict[str, int]:
    """Remove everything ovmem cached; entries removed by kind."""
    removed = {}
    for kind in _kinds():
        removed[kind.name] = _entries(kind)
        shutil.rmtree(kind, ignore_errors=True)
    return removed
