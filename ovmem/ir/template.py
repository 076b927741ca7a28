"""Shapes as functions of the sequence length: a lifted graph at another length, without OpenVINO.

Lifting (:func:`~ovmem.ir.lift.lift`) reads the model, reshapes it with OpenVINO and walks every op;
for one model at many sequence lengths (a sweep, a budget search) only the shapes change. A
:class:`ShapeTemplate` is fitted on two graphs lifted at lengths ``s0 != s1``:

1. The two graphs must have the same structure: the same nodes in the same order (type, name,
   inputs), the same output names and element types, the same states, inputs and outputs, the same
   graph facts but the length. Anything else is a :class:`TemplateMismatch`.
2. Every dimension ``d`` (and every integer of an attribute that differs, such as a
   ``Parameter``'s ``shape``) is taken to be affine in the length: ``d(s) = a·s + b`` with ``a``
   and ``b`` rational, through ``d(s0)`` and ``d(s1)``.
3. :meth:`ShapeTemplate.check` compares the template with a third lifted graph — every dimension,
   attribute and fact. Callers must check before they trust the template (an LLM's shapes are
   affine in the length; a sliding window's ``min(s, w)`` is not, and the check sees the kink when
   it lies between the lengths compared).
4. :meth:`ShapeTemplate.instantiate` builds a fresh graph at any length, as ``lift`` would have
   built it; a dimension that would not be a whole non-negative number is a mismatch.

The annotations ``lift`` makes (``declared_shape``, ``constant_storage``) are copied as they are:
they do not depend on the length.
"""

from __future__ import annotations

import copy
import math
from fractions import Fraction
from typing import Any

import attrs
import numpy as np

from ovmem.ir.core import Graph, State, Value
from ovmem.ir.types import TensorType

__all__ = ["ShapeTemplate", "TemplateMismatch"]

_LENGTH_KEYS = ("seq_len",)
"""Graph facts that are the length itself."""


class TemplateMismatch(Exception):
    """The graphs differ in more than affine shapes (the message says where)."""


@attrs.frozen
class _Affine:
    """``(num · s + off) / den``, exact."""

    num: int
    off: int
    den: int

    @classmethod
    def through(cls, s0: int, d0: int, s1: int, d1: int) -> _Affine | int:
        if d0 == d1:
            return d0
        slope = Fraction(d1 - d0, s1 - s0)
        intercept = d0 - slope * s0
        den = math.lcm(slope.denominator, intercept.denominator)
        return cls(int(slope * den), int(intercept * den), den)

    def at(self, s: int) -> int:
        value, rest = divmod(self.num * s + self.off, self.den)
        if rest or value < 0:
            raise TemplateMismatch(f"a dimension ({self.num}·s{self.off:+d})/{self.den} is not a size at s={s}")
        return value


def _at(dim: _Affine | int, s: int) -> int:
    return dim if isinstance(dim, int) else dim.at(s)


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    return type(x) is type(y) and x == y


def _int_list(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in x)


@attrs.frozen
class _Attr:
    """An attribute whose integers depend on the length."""

    kind: type
    dims: tuple[_Affine | int, ...]

    def at(self, s: int) -> Any:
        return self.kind(_at(d, s) for d in self.dims)


@attrs.frozen
class _Output:
    name: str
    dtype: str
    dims: tuple[_Affine | int, ...]
    meta: dict[str, Any]


@attrs.frozen
class _Node:
    op_type: str
    name: str
    inputs: tuple[tuple[int, int], ...]
    attributes: dict[str, Any]
    outputs: tuple[_Output, ...]
    meta: dict[str, Any]


def _ref(value: Value) -> tuple[int, int]:
    if value.producer is None:
        raise TemplateMismatch(f"value {value.name!r} has no producer")
    return value.producer.order, value.index


def _states(graph: Graph) -> tuple[tuple[str, int, int | None], ...]:
    return tuple((s.variable_id, s.read.order, None if s.assign is None else s.assign.order) for s in graph.states)


def _facts(graph: Graph) -> dict[str, Any]:
    return {k: v for k, v in graph.meta.items() if k not in _LENGTH_KEYS}


class ShapeTemplate:
    """A lifted graph with every dimension a function of the sequence length (module doc)."""

    def __init__(self, a: Graph, b: Graph | None = None) -> None:
        """Fit on ``a`` and ``b``, lifted at two different lengths; without ``b``, a template of
        ``a`` alone, which instantiates fresh copies of ``a`` at its own length only."""
        s0 = a.meta.get("seq_len")
        s1 = s0 if b is None else b.meta.get("seq_len")
        if b is None:
            b, s1 = a, s0
        elif not isinstance(s0, int) or not isinstance(s1, int) or s0 == s1:
            raise TemplateMismatch(f"fitting needs two different lengths, got {s0} and {s1}")
        self.fixed = b is a
        if a.name != b.name or len(a.nodes) != len(b.nodes):
            raise TemplateMismatch(f"{len(a.nodes)} nodes at {s0}, {len(b.nodes)} at {s1}")
        if not _same(_facts(a), _facts(b)):
            raise TemplateMismatch("the graph facts differ")
        if _states(a) != _states(b):
            raise TemplateMismatch("the states differ")
        if [_ref(v) for v in a.inputs] != [_ref(v) for v in b.inputs] or [_ref(v) for v in a.outputs] != [
            _ref(v) for v in b.outputs
        ]:
            raise TemplateMismatch("the inputs or outputs differ")
        self.name = a.name
        self.facts = copy.deepcopy(_facts(a))
        self.lengths = (s0,) if self.fixed else (s0, s1)
        self.states = _states(a)
        self.inputs = tuple(_ref(v) for v in a.inputs)
        self.outputs = tuple(_ref(v) for v in a.outputs)
        self.nodes = tuple(self._fit_node(n, m, s0, s1) for n, m in zip(a.nodes, b.nodes))

    @staticmethod
    def _fit_node(n: Any, m: Any, s0: int, s1: int) -> _Node:  # n is m for a fixed template
        where = f"node #{n.order} {n.op_type} {n.name!r}"
        if (n.op_type, n.name, len(n.outputs)) != (m.op_type, m.name, len(m.outputs)):
            raise TemplateMismatch(f"{where}: the nodes differ")
        inputs = tuple(_ref(v) for v in n.inputs)
        if inputs != tuple(_ref(v) for v in m.inputs) or not _same(n.meta, m.meta):
            raise TemplateMismatch(f"{where}: its inputs differ")
        if n.attributes.keys() != m.attributes.keys():
            raise TemplateMismatch(f"{where}: its attributes differ")
        attributes: dict[str, Any] = {}
        for key, x in n.attributes.items():
            y = m.attributes[key]
            if _same(x, y):
                attributes[key] = x
            elif _int_list(x) and _int_list(y) and type(x) is type(y) and len(x) == len(y):
                attributes[key] = _Attr(type(x), tuple(_Affine.through(s0, p, s1, q) for p, q in zip(x, y)))
            else:
                raise TemplateMismatch(f"{where}: attribute {key!r} is {x!r} at {s0} and {y!r} at {s1}")
        outputs = []
        for u, v in zip(n.outputs, m.outputs):
            if (u.name, u.type.dtype, len(u.type.shape)) != (v.name, v.type.dtype, len(v.type.shape)):
                raise TemplateMismatch(f"{where}: output {u.name!r} is {u.type} at {s0} and {v.type} at {s1}")
            declared = u.meta.get("declared_shape"), v.meta.get("declared_shape")
            if u.meta.keys() != v.meta.keys() or declared[0] != declared[1]:
                raise TemplateMismatch(f"{where}: output {u.name!r} is annotated differently")
            dims = tuple(_Affine.through(s0, p, s1, q) for p, q in zip(u.type.shape, v.type.shape))
            outputs.append(_Output(u.name, u.type.dtype, dims, dict(u.meta)))
        return _Node(n.op_type, n.name, inputs, attributes, tuple(outputs), dict(n.meta))

    def check(self, graph: Graph) -> None:
        """Raise :class:`TemplateMismatch` unless ``graph`` (lifted at its ``seq_len``) is what
        :meth:`instantiate` gives at that length."""
        s = graph.meta.get("seq_len")
        if graph.name != self.name or len(graph.nodes) != len(self.nodes):
            raise TemplateMismatch(f"{len(graph.nodes)} nodes at {s}, {len(self.nodes)} in the template")
        if not _same(_facts(graph), self.facts) or _states(graph) != self.states:
            raise TemplateMismatch(f"the graph facts or states differ at {s}")
        if tuple(_ref(v) for v in graph.inputs) != self.inputs or tuple(_ref(v) for v in graph.outputs) != self.outputs:
            raise TemplateMismatch(f"the inputs or outputs differ at {s}")
        for node, t in zip(graph.nodes, self.nodes):
            where = f"node #{node.order} {node.op_type} {node.name!r} at s={s}"
            if (node.op_type, node.name, len(node.outputs)) != (t.op_type, t.name, len(t.outputs)):
                raise TemplateMismatch(f"{where}: not the template's node")
            if tuple(_ref(v) for v in node.inputs) != t.inputs or node.attributes.keys() != t.attributes.keys():
                raise TemplateMismatch(f"{where}: inputs or attributes differ")
            for key, value in t.attributes.items():
                if not _same(node.attributes[key], value.at(s) if isinstance(value, _Attr) else value):
                    raise TemplateMismatch(f"{where}: attribute {key!r} is not affine in the length")
            for v, o in zip(node.outputs, t.outputs):
                try:
                    shape = tuple(_at(d, s) for d in o.dims)
                except TemplateMismatch as exc:
                    raise TemplateMismatch(f"{where}: {v.name!r}: {exc}") from None
                if (v.name, v.type.dtype) != (o.name, o.dtype) or v.type.shape != shape:
                    raise TemplateMismatch(f"{where}: {v.name!r} is {v.type}, the template says {o.dtype}{list(shape)}")
                if v.meta.keys() != o.meta.keys():
                    raise TemplateMismatch(f"{where}: {v.name!r} is annotated differently")

    def instantiate(self, seq_len: int) -> Graph:
        """A fresh graph at ``seq_len``, as :func:`~ovmem.ir.lift.lift` builds it (not annotated by
        any pass). Raises :class:`TemplateMismatch` where a dimension is not a size there."""
        if self.fixed and seq_len != self.lengths[0]:
            raise TemplateMismatch(f"a template of one graph instantiates at {self.lengths[0]} only, not {seq_len}")
        graph = Graph(self.name)
        graph.meta.update(copy.deepcopy(self.facts))
        graph.meta["seq_len"] = seq_len
        nodes = graph.nodes
        for t in self.nodes:
            node = graph.add_node(
                t.op_type,
                [nodes[i].outputs[port] for i, port in t.inputs],
                [TensorType(o.dtype, tuple(_at(d, seq_len) for d in o.dims)) for o in t.outputs],
                name=t.name,
                output_names=[o.name for o in t.outputs] or None,
                attributes={k: v.at(seq_len) if isinstance(v, _Attr) else v for k, v in t.attributes.items()},
            )
            node.meta.update(t.meta)
            for value, o in zip(node.outputs, t.outputs):
                value.meta.update(o.meta)
        graph.inputs = [nodes[i].outputs[port] for i, port in self.inputs]
        graph.outputs = [nodes[i].outputs[port] for i, port in self.outputs]
        graph.states = [State(vid, nodes[r], None if w is None else nodes[w]) for vid, r, w in self.states]
        return graph
