"""Answers kept across runs: the same command on unchanged files prints again what it printed.

A user who asks twice (a script that checks a model fits, a README example, the Quickstart's demo)
should not wait twice. ``ovmem analyze``, ``demo``, ``llm``, ``vit`` and ``vlm`` keep what they printed
in ovmem's cache (:mod:`ovmem.cache`, ``answers/``), under a key of everything the answer depends on:

* the arguments as typed and the working folder they are relative to;
* every file of the model's folder (the folder named, or the one holding the ``.xml`` named) and of
  the ``--tokenizer`` folder: name, size and modification time, and the content hash of each ``.xml``;
* ovmem's own code (a hash of every module of the package, so an edit in a checkout is a new key),
  OpenVINO's version, and the machine as the host probe keys it (CPU, cores, oneDNN/OpenVINO
  environment: :func:`ovmem.target.host_key`), with the ``OVMEM_*`` environment.

A repeat with the same key prints the kept answer without reading the model or importing numpy or
OpenVINO. Nothing is kept for a run that failed (an error, or an exit code other than 0), logged a
warning (a repeat would not show it), or loaded a plugin pass or allocator (code outside the hash);
nor for a remote model (its last line says what this run fetched), ``--plot`` (it writes a file),
``--budget`` (it reports its own time) or ``--no-cache``. ``tests/test_replay.py`` checks that a
replayed answer is byte for byte the fresh one and that each part of the key invalidates it.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ovmem import cache

__all__ = ["REPLAYED", "Recording", "key_for", "recording", "replay"]

REPLAYED = ("analyze", "demo", "llm", "vit", "vlm")
"""Commands whose answer is kept: each only prints, and prints nothing that depends on the clock."""


def key_for(argv: Sequence[str], args: Any) -> dict[str, Any] | None:
    """The key of this command's answer, or ``None`` where it is not kept (module doc)."""
    from ovmem.remote.source import is_remote

    if args.command not in REPLAYED or not cache.enabled() or "--debug" in argv:
        return None
    path = getattr(args, "path", None)
    if (getattr(args, "plot", None) or getattr(args, "budget", None) is not None or getattr(args, "weights_from", None)
            or is_remote(path)):  # fmt: skip
        return None
    try:
        folders = [_folder(Path(p)) for p in (path, getattr(args, "tokenizer", None)) if p is not None]
        files = {str(folder.resolve()): _fingerprint(folder) for folder in folders}
    except OSError:  # a missing path: the command says so
        return None
    from ovmem._lazy import installed_version
    from ovmem.target import host_key

    environment = {k: v for k, v in os.environ.items() if k.startswith("OVMEM_") and k != "OVMEM_CACHE_DIR"}
    return {"argv": list(argv), "cwd": os.getcwd(), "files": files, "code": _code_digest(),
            "openvino": installed_version(), "host": host_key(), "env": environment}  # fmt: skip


def replay(key: dict[str, Any]) -> bool:
    """Print the answer kept under ``key``; False if there is none."""
    answer = cache.read_json("answers", key)
    if not isinstance(answer, str):
        return False
    sys.stdout.write(answer)
    sys.stdout.flush()
    return True


class Recording:
    """What :func:`recording` yields: set ``succeeded`` when the command exits with 0."""

    succeeded = False


@contextmanager
def recording(key: dict[str, Any] | None) -> Iterator[Recording]:
    """Run the block with stdout copied; keep the copy under ``key`` if the block ends without an
    exception, having set ``succeeded``, with no warning logged and no plugin loaded."""
    run = Recording()
    if key is None:
        yield run
        return
    from ovmem.registry import Registry

    warned = _WarningSeen()
    logging.getLogger().addHandler(warned)
    copy, stdout = io.StringIO(), sys.stdout
    sys.stdout = _Tee(stdout, copy)
    try:
        yield run
    finally:
        sys.stdout = stdout
        logging.getLogger().removeHandler(warned)
    if run.succeeded and not warned.seen and not Registry.plugins_loaded:
        cache.write_json("answers", key, copy.getvalue())


class _Tee(io.TextIOBase):
    def __init__(self, stream: Any, copy: io.StringIO) -> None:
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()


class _WarningSeen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True


def _folder(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(path)
    return path if path.is_dir() else path.parent


def _fingerprint(folder: Path) -> dict[str, list]:
    """Name → [size, mtime] of every file in ``folder`` (not below it), with the ``.xml``'s content hash."""
    prints = {}
    for entry in os.scandir(folder):
        if entry.is_file():
            stat = entry.stat()
            prints[entry.name] = [stat.st_size, stat.st_mtime_ns]
            if entry.name.endswith(".xml"):
                prints[entry.name].append(cache.file_digest(Path(entry.path)))
    return prints


@functools.cache
def _code_digest() -> str:
    """Every module of ovmem: any change to the code makes older answers unreachable."""
    return cache.code_digest(list(Path(__file__).parent.rglob("*.py")))
