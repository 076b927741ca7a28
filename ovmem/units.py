"""Byte counts for people: ``format_bytes(3 * 2**30) == "3.00 GiB"``."""

from __future__ import annotations

__all__ = ["format_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(n: int | None) -> str:
    """Binary units with two decimals (whole bytes below 1 KiB); ``?`` when unknown."""
    if n is None:
        return "?"
    size, unit = float(n), 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{n} B" if unit == 0 else f"{size:.2f} {_UNITS[unit]}"
