"""Buffer requests as CSV, in MiniMalloc's format: what other allocators read, and where they come from.

google/minimalloc (``src/converter.cc``) reads a header row and one buffer a row: ``id`` (or
``buffer``, ``buffer_id``), ``lower`` (or ``start``, ``begin``), ``upper`` (a half-open lifetime
``[lower, upper)``) or ``end`` (inclusive), ``size``, and optionally ``alignment`` and ``offset`` (a
solution), ``hint`` and ``gaps`` (times inside the lifetime when the buffer is free). Its benchmark
files name their capacity: ``A.1048576.csv``. ovmem reads ``gaps`` as live (a plan stays valid, perhaps
less tight) and refuses per-buffer alignment. ovmem's
:class:`~ovmem.alloc.BufferRequest` lifetimes are inclusive, so ``lower = start`` and
``upper = end + 1``. ``ovmem dump --buffers FILE.csv`` writes a model's temporaries this way;
``ovmem compare-allocators --requests FILE.csv`` plans any such file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

from ovmem.alloc.request import BufferRequest
from ovmem.errors import UsageError

__all__ = ["capacity_in_name", "read_requests", "write_requests"]

_ID, _LOWER, _UPPER, _END = ("id", "buffer", "buffer_id"), ("lower", "start", "begin"), ("upper",), ("end",)


def read_requests(path: str | Path) -> list[BufferRequest]:
    """The buffer requests of a MiniMalloc CSV file; :class:`UsageError` naming the row if it is not one."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rows = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(rows, [])]

    def column(names: tuple[str, ...], required: bool = True) -> int | None:
        found = [header.index(n) for n in names if n in header]
        if not found and required:
            raise UsageError(f"{path}: no {names[0]!r} column (the header is {','.join(header) or 'empty'})")
        return found[0] if found else None

    ident, lower, size = column(_ID), column(_LOWER), column(("size",))
    upper, end = column(_UPPER, required=False), column(_END, required=False)
    alignment = column(("alignment",), required=False)
    if upper is None and end is None:
        raise UsageError(f"{path}: no 'upper' (or 'end') column")
    requests = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            first = int(row[lower])
            last = int(row[upper]) - 1 if upper is not None else int(row[end])
            aligned = alignment is None or int(row[alignment]) <= 1
            request = BufferRequest(row[ident].strip(), int(row[size]), first, last)
        except (ValueError, IndexError) as exc:
            raise UsageError(f"{path}:{line}: not a buffer row ({exc})") from None
        if not aligned:
            raise UsageError(f"{path}:{line}: per-buffer alignment is not supported (use an allocator's alignment)")
        requests.append(request)
    if len({r.id for r in requests}) != len(requests):
        raise UsageError(f"{path}: buffer ids are not unique")
    return requests


def write_requests(path: str | Path, requests: Sequence[BufferRequest], names: Sequence[str] | None = None) -> None:
    """Write ``requests`` as a MiniMalloc CSV; ``names`` (one a request, e.g. the tensors) go in a last
    ``value`` column, which MiniMalloc reads past. MiniMalloc splits rows at every comma and knows no
    quoting, so an id with a comma is refused and a name's commas become semicolons."""
    lines = ["id,lower,upper,size" + (",value" if names is not None else "")]
    for k, r in enumerate(requests):
        ident = str(r.id)
        if any(c in ident for c in ",\n\r"):
            raise ValueError(f"request id {ident!r}: MiniMalloc's CSV cannot hold a comma or a line break in an id")
        name = "," + " ".join(names[k].replace(",", ";").split()) if names is not None else ""
        lines.append(f"{ident},{r.start},{r.end + 1},{r.size}{name}")
    Path(path).write_text("\n".join(lines) + "\n")


def capacity_in_name(path: str | Path) -> int | None:
    """The capacity a MiniMalloc benchmark file names (``A.1048576.csv`` → 1048576), else ``None``."""
    match = re.fullmatch(r".*\.(\d+)\.csv", Path(path).name)
    return int(match.group(1)) if match else None
