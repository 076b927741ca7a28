"""``name{option=value,...}`` items, as pipeline strings and ``--allocator`` write them.

The options are the ``attrs`` fields of the class the name stands for; values are converted to the
field's annotated type (``int``, ``float``, ``bool``, ``str`` or a ``Literal``).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import attrs

from ovmem.errors import UsageError

__all__ = ["configure", "describe", "split_top_level"]


def split_top_level(text: str) -> list[str]:
    """Split ``text`` at the commas outside braces; strips white space around each item."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise UsageError(f"{text!r}: unbalanced '}}'")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise UsageError(f"{text!r}: unbalanced '{{'")
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _convert(text: str, type_: object, where: str) -> object:
    if type_ is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise UsageError(f"{where}: expected true or false, got {text!r}")
    if type_ in (int, float):
        try:
            return type_(text)  # type: ignore[operator]
        except ValueError:
            raise UsageError(f"{where}: expected {type_.__name__}, got {text!r}") from None  # type: ignore[union-attr]
    if typing.get_origin(type_) is typing.Literal:
        choices = typing.get_args(type_)
        if text not in choices:
            raise UsageError(f"{where}: expected one of {', '.join(map(str, choices))}, got {text!r}")
        return text
    return text


def configure(item: str, lookup: Callable[[str], type], kind: str) -> Any:
    """An instance for ``name{option=value,...}``: ``lookup(name)`` gives the class.

    Args:
        item: the text, e.g. ``"greedy-by-size{alignment=32}"``.
        lookup: name → class; raises ``KeyError`` (or ``ValueError``) with a message for unknown names.
        kind: what the item is, for messages (``"pass"``, ``"allocator"``).
    """
    name, brace, rest = item.partition("{")
    name = name.strip()
    if not name:
        raise UsageError(f"empty {kind} name in {item!r}")
    try:
        cls = lookup(name)
    except (KeyError, ValueError) as exc:
        raise UsageError(str(exc.args[0])) from None
    if brace and not rest.endswith("}"):
        raise UsageError(f"options of {kind} {name!r} must end with '}}'")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in attrs.fields(cls)}
    options: dict[str, object] = {}
    for pair in filter(None, (p.strip() for p in rest[:-1].split(","))) if brace else ():
        key, eq, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise UsageError(f"{kind} {name!r} has no option {pair!r} (options: {known})")
        options[key] = _convert(value.strip(), hints.get(key, str), f"{name}.{key}")
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{kind} {name!r}: {exc}") from None


def describe(instance: Any, name: str) -> str:
    """The item text for ``instance``: its name and the options that differ from their defaults."""
    changed = []
    for f in attrs.fields(type(instance)):
        value = getattr(instance, f.name)
        if f.default is attrs.NOTHING or value != f.default:
            changed.append(f"{f.name}={str(value).lower() if isinstance(value, bool) else value}")
    return name + (f"{{{','.join(changed)}}}" if changed else "")
