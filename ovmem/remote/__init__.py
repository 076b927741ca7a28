"""Remote models: analyse an IR on the Hub or any HTTP server from its ``.xml`` and a few KB of its ``.bin``.

``hf://OWNER/REPO[@REVISION][/SUBFOLDER]`` and ``http(s)://`` URLs of an export folder or one ``.xml``
are taken wherever a model path is (the command line, :func:`ovmem.analyze` and the studies). The
modules, in the order a fetch runs them: :mod:`~ovmem.remote.source` (what the text names),
:mod:`~ovmem.remote.hub` (a Hub revision's files), :mod:`~ovmem.remote.http` (requests, ranges, errors),
:mod:`~ovmem.remote.reads` (which bytes the analysis reads, from the ``.xml``),
:mod:`~ovmem.remote.fetch` (the sparse local copy) and :mod:`~ovmem.remote.cache` (where it stays).
The fetching half is imported when first used: a local model never loads the HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import Any

from ovmem.remote.source import is_remote, parse_source

__all__ = ["DEFAULT_TIMEOUT", "RemoteModel", "fetch_model", "fetch_weights", "is_remote", "parse_source"]


def __getattr__(name: str) -> Any:
    if name in ("DEFAULT_TIMEOUT", "RemoteModel", "fetch_model", "fetch_weights"):
        return getattr(importlib.import_module("ovmem.remote.fetch"), name)
    raise AttributeError(f"module 'ovmem.remote' has no attribute {name!r}")
