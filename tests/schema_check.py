"""A tiny JSON Schema checker: the subset ``ovmem.schemas`` uses (type, const, enum, minimum,
properties, required, additionalProperties, items, anyOf, local ``$ref``), so the tests need no
``jsonschema``. ``errors(data, schema)`` lists every violation with its JSON path."""

from __future__ import annotations

from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KNOWN = {"type", "const", "enum", "minimum", "properties", "required", "additionalProperties", "items", "anyOf",
          "$ref", "$defs", "description", "$schema", "$id", "title"}  # fmt: skip


def errors(data: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """Every way ``data`` breaks ``schema`` (empty: it validates)."""
    root = root or schema
    unknown = set(schema) - _KNOWN
    assert not unknown, f"the checker does not know {unknown} (at {path})"
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return errors(data, target, root, path)
    if "anyOf" in schema:
        options = [errors(data, s, root, path) for s in schema["anyOf"]]
        if all(options):
            return [f"{path}: matches none of anyOf: " + " | ".join(o[0] for o in options)]
        return []
    found: list[str] = []
    kind = schema.get("type")
    if kind is not None and not _TYPES[kind](data):
        return [f"{path}: expected {kind}, got {type(data).__name__} {data!r:.60}"]
    if "const" in schema and data != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}, got {data!r}")
    if "enum" in schema and data not in schema["enum"]:
        found.append(f"{path}: {data!r} not in {schema['enum']}")
    if "minimum" in schema and data < schema["minimum"]:
        found.append(f"{path}: {data} < {schema['minimum']}")
    if isinstance(data, dict):
        properties = schema.get("properties", {})
        found += [f"{path}: missing {name!r}" for name in schema.get("required", ()) if name not in data]
        extra = schema.get("additionalProperties", True)
        for key, value in data.items():
            if key in properties:
                found += errors(value, properties[key], root, f"{path}.{key}")
            elif extra is False:
                found.append(f"{path}: unexpected field {key!r}")
            elif isinstance(extra, dict):
                found += errors(value, extra, root, f"{path}.{key}")
    if isinstance(data, list) and "items" in schema:
        for i, item in enumerate(data):
            found += errors(item, schema["items"], root, f"{path}[{i}]")
    return found
