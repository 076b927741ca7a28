"""Which bytes of a ``.bin`` the analysis reads, decided from the ``.xml`` alone.

An IR's ``.xml`` holds every operation, shape and element type, and each ``Const``'s ``offset`` and
``size`` in the ``.bin``. Reading the model and specialising it reads the data of few constants:

* those OpenVINO's shape inference evaluates: a ``Reshape``'s target, a ``Gather``'s indices and axis,
  ``Slice`` bounds, ``Broadcast`` shapes, reduction axes, ``Interpolate`` scales, ``Range`` limits and
  whatever shape arithmetic computes them. Shape values are integers (``i32``/``i64``) or, for
  ``Interpolate``/``Range``, small float tensors, so they are found by walking back from every input
  that an index-typed output feeds (and from those ops' value inputs) through index-typed, boolean or
  small (at most :data:`SMALL_ELEMENTS`) intermediate values to the constants at the end; a walk stops
  at ``ShapeOf`` (it reads a shape, not data), parameters and states;
* those ovmem's lift keeps as values (at most :data:`SMALL_ELEMENTS`; ``ovmem.ir.lift``);
* a few rows of a pipeline's embedding table and LM head, which ``ovmem.vlm.pipeline`` compares to tell
  tied weights (:func:`ovmem.vlm.pipeline.tie_sample_rows`; the caller adds them).

Everything else — the weights — is never read: their sizes are in the ``.xml``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import attrs

from ovmem.errors import ModelError
from ovmem.ir.lift import SMALL_CONSTANT_ELEMENTS

__all__ = ["COALESCE_GAP", "SMALL_ELEMENTS", "Constant", "IrFile", "coalesce", "parse_ir"]

SMALL_ELEMENTS = SMALL_CONSTANT_ELEMENTS
"""A value with at most this many elements is shape arithmetic's size; the lift keeps such constants' values."""

COALESCE_GAP = 64 << 10
"""Ranges closer than this are read in one request: a round trip costs more than 64 KiB at typical rates."""

_INDEX = frozenset({"I64", "I32", "U64", "U32"})
_PASS = _INDEX | {"BOOL", "U1"}
_STOP = frozenset({"ShapeOf", "Parameter", "ReadValue", "Assign"})
_VALUE_INPUTS = {"Interpolate": range(1, 4), "Range": range(3)}
"""Ops whose non-integer inputs shape inference reads as values (Interpolate's scales, Range's limits)."""


@attrs.frozen
class Constant:
    """A ``Const`` layer's data in the ``.bin``."""

    layer: str
    element_type: str
    shape: tuple[int, ...]
    offset: int
    size: int


@attrs.frozen
class IrFile:
    """What the ``.xml`` says about its ``.bin``: every constant, and those whose data the analysis reads."""

    constants: tuple[Constant, ...]
    read: tuple[Constant, ...]

    @property
    def bin_size(self) -> int:
        """The smallest ``.bin`` that holds every constant."""
        return max((c.offset + c.size for c in self.constants), default=0)

    def largest(self) -> Constant | None:
        """The largest constant (the first of equals, in the file's order)."""
        return max(self.constants, key=lambda c: c.size, default=None)


def parse_ir(text: bytes, name: str = "model.xml") -> IrFile:
    """The constants of an IR's ``.xml`` and those the analysis reads; :class:`ModelError` if it is no IR."""
    try:
        net = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ModelError(f"{name}: not an OpenVINO IR ({exc})") from None
    if net.tag != "net" or net.find("layers") is None:
        raise ModelError(f"{name}: not an OpenVINO IR (no <net> with <layers>)")
    layers = {layer.get("id"): layer for layer in net.find("layers")}
    outputs = {(lid, port.get("id")): port for lid, layer in layers.items() for port in layer.findall("output/port")}
    inputs = {lid: [port.get("id") for port in layer.findall("input/port")] for lid, layer in layers.items()}
    producer = {}
    for edge in net.findall("edges/edge"):
        producer[(edge.get("to-layer"), edge.get("to-port"))] = (edge.get("from-layer"), edge.get("from-port"))

    constants = {lid: c for lid, layer in layers.items() if (c := _constant(layer)) is not None}
    top = {id(layer) for layer in layers.values()}  # a Loop's or TensorIterator's body has layers of its own
    nested = [c for layer in net.iter("layer") if id(layer) not in top and (c := _constant(layer)) is not None]

    read: set[str] = set()
    seen: set[str] = set()

    def walk(lid: str) -> None:
        if lid in seen:
            return
        seen.add(lid)
        if lid in constants:
            read.add(lid)
            return
        if layers[lid].get("type") in _STOP:
            return
        for port in inputs[lid]:
            if (source := producer.get((lid, port))) and (source[0] in constants or _passes(outputs.get(source))):
                walk(source[0])

    for (lid, port), (source, source_port) in producer.items():
        value_ports = _VALUE_INPUTS.get(layers[lid].get("type"), ())
        starts = (outputs.get((source, source_port)) is not None and
                  outputs[(source, source_port)].get("precision") in _INDEX)  # fmt: skip
        if starts or (port in inputs[lid] and inputs[lid].index(port) in value_ports):
            walk(source)
    small = {lid for lid, c in constants.items() if math.prod(c.shape) <= SMALL_ELEMENTS}
    chosen = [constants[lid] for lid in sorted(read | small, key=int)]
    chosen += [c for c in nested if c.element_type.upper() in _PASS or math.prod(c.shape) <= SMALL_ELEMENTS]
    return IrFile(tuple(constants.values()) + tuple(nested), tuple(chosen))


def coalesce(ranges: Iterable[tuple[int, int]], gap: int = COALESCE_GAP) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges sorted and merged where they overlap or lie less than ``gap`` apart."""
    merged: list[list[int]] = []
    for start, stop in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start - merged[-1][1] < gap:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(a, b) for a, b in merged]


def _constant(layer: ET.Element) -> Constant | None:
    if layer.get("type") != "Const" or (data := layer.find("data")) is None or data.get("offset") is None:
        return None
    shape = data.get("shape", "")
    dims = tuple(int(d) for d in shape.split(",") if d.strip()) if shape else ()
    return Constant(layer.get("name", ""), data.get("element_type", ""), dims, int(data.get("offset")),
                    int(data.get("size", 0)))  # fmt: skip


def _passes(port: ET.Element | None) -> bool:
    """Whether a walk goes on through the value this output port carries: an index, a flag, or small."""
    if port is None:
        return False
    if port.get("precision") in _PASS:
        return True
    dims = [int(d.text) for d in port.findall("dim")]
    return all(d >= 0 for d in dims) and math.prod(dims) <= SMALL_ELEMENTS
