"""Byte counts for people: ``format_bytes(3 * 2**30) == "3.00 GiB"``, ``parse_bytes("8GiB") == 8 * 2**30``."""

from __future__ import annotations

import re

from ovmem.errors import UsageError

__all__ = ["format_bytes", "format_delta", "parse_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")

_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(i?)(b?)\s*", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def format_bytes(n: int | None) -> str:
    """Binary units with two decimals (whole bytes below 1 KiB); ``?`` when unknown."""
    if n is None:
        return "?"
    size, unit = float(n), 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{n} B" if unit == 0 else f"{size:.2f} {_UNITS[unit]}"


def format_delta(n: int) -> str:
    """A signed difference: ``+2.00 MiB``, ``-512 B``, ``0``."""
    return "0" if n == 0 else ("+" if n > 0 else "") + format_bytes(n)


def parse_bytes(text: str | int) -> int:
    """A size as people write it, in bytes: ``8GiB``, ``512MiB``, ``8G``, ``8GB``, ``1.5GiB``, ``1000000``.

    ``KiB``/``MiB``/``GiB``/``TiB`` and a bare ``K``/``M``/``G``/``T`` (as ``docker --memory 8g``
    and ``java -Xmx8g`` read it) are powers of 1024; ``KB``/``MB``/``GB``/``TB`` are powers of 1000
    (SI). Case does not matter; a fraction is rounded down to whole bytes.

    Raises:
        UsageError: not a size, or not positive.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 1:
            raise UsageError(f"a memory size must be positive, got {text}")
        return text
    match = _SIZE.fullmatch(str(text))
    if not match:
        raise UsageError(f"expected a memory size such as 8GiB, 512MiB, 8G or 8GB, got {text!r}")
    number, prefix, binary, _ = match.groups()
    prefix = prefix.lower()
    if binary and not prefix:
        raise UsageError(f"expected a memory size such as 8GiB, 512MiB, 8G or 8GB, got {text!r}")
    si = bool(prefix) and not binary and match.group(4) != ""
    scale = (1000 if si else 1024) ** _POWERS[prefix]
    value = int(float(number) * scale) if "." in number else int(number) * scale
    if value < 1:
        raise UsageError(f"a memory size must be positive, got {text!r}")
    return value
