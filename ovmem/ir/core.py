"""The dataflow IR: values, nodes in execution order, states, and the graph that holds them.

Modelled on onnx-ir: a :class:`Value` knows its producer and its ordered uses; a :class:`Node` knows
its inputs and outputs and its position in the execution order, which is the "time" of lifetime
analysis. Objects compare and hash by identity. Analysis results live in each object's ``meta``
dict, read and written through :class:`ovmem.ir.meta.MetaKey` accessors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import attrs

from ovmem.ir.types import TensorType

__all__ = ["Graph", "Node", "State", "Use", "Value"]


class Use(NamedTuple):
    """A value read by ``node`` as its input number ``index``."""

    node: Node
    index: int


@attrs.define(eq=False, repr=False)
class Value:
    """A tensor: produced by one node output, read by any number of node inputs."""

    name: str
    """Tensor name from the model (or ``friendly_name:port`` where it has none)."""
    type: TensorType
    """Element type and (specialised) shape."""
    producer: Node | None = None
    """The node whose output this is."""
    index: int = 0
    """Which output of the producer."""
    meta: dict[str, Any] = attrs.field(factory=dict)
    """Analysis results; use :class:`~ovmem.ir.meta.MetaKey` accessors."""
    _uses: list[Use] = attrs.field(factory=list, alias="_uses")

    def uses(self) -> list[Use]:
        """The inputs that read this value, in execution order of the readers (a copy)."""
        return list(self._uses)

    @property
    def nbytes(self) -> int | None:
        """Bytes the value occupies, ``None`` if its shape is not static."""
        return self.type.nbytes

    def __repr__(self) -> str:
        return f"Value(%{self.name}: {self.type})"


@attrs.define(eq=False, repr=False)
class Node:
    """One operation, in the execution order of its graph."""

    op_type: str
    """OpenVINO type name: ``MatMul``, ``ReadValue``, ``Constant``, ..."""
    name: str
    """Friendly name from the model."""
    inputs: tuple[Value, ...] = ()
    """Values read, by input port."""
    outputs: tuple[Value, ...] = ()
    """Values written, by output port."""
    attributes: dict[str, Any] = attrs.field(factory=dict)
    """Op attributes as OpenVINO reports them (plus ``value`` for small constants)."""
    order: int = -1
    """Position in the graph's execution order; the time step of lifetime analysis."""
    meta: dict[str, Any] = attrs.field(factory=dict)
    """Analysis results; use :class:`~ovmem.ir.meta.MetaKey` accessors."""

    def __repr__(self) -> str:
        return f"Node(#{self.order} {self.op_type} {self.name!r})"


@attrs.define(eq=False, repr=False)
class State:
    """A variable of a stateful model (a KV-cache tensor, say): ``ReadValue`` ... ``Assign``."""

    variable_id: str
    """The variable's id in the model."""
    read: Node
    """The ``ReadValue`` node; its output is the state before this step."""
    assign: Node | None
    """The ``Assign`` node; its input is the state after this step (``None`` if never written)."""
    meta: dict[str, Any] = attrs.field(factory=dict)
    """Analysis results; use :class:`~ovmem.ir.meta.MetaKey` accessors."""

    @property
    def values(self) -> tuple[Value, ...]:
        """The values that hold the variable: the ``ReadValue`` output and the ``Assign`` input."""
        return (self.read.outputs[0], *(self.assign.inputs[:1] if self.assign is not None else ()))

    @property
    def type(self) -> TensorType:
        """The variable's type after this step (the larger of read and written tensors)."""
        before = self.read.outputs[0].type
        if self.assign is None:
            return before
        after = self.assign.inputs[0].type
        return after if (after.nbytes or 0) >= (before.nbytes or 0) else before

    def __repr__(self) -> str:
        return f"State({self.variable_id!r}: {self.type})"


@attrs.define(eq=False, repr=False)
class Graph:
    """A model specialised to concrete shapes, with its nodes in execution order."""

    name: str
    nodes: list[Node] = attrs.field(factory=list)
    """Every node, in execution order (``node.order`` is the index)."""
    inputs: list[Value] = attrs.field(factory=list)
    """Values of the model's ``Parameter`` nodes, in model order."""
    outputs: list[Value] = attrs.field(factory=list)
    """Values read by the model's ``Result`` nodes, in model order."""
    states: list[State] = attrs.field(factory=list)
    """Variables of a stateful model."""
    meta: dict[str, Any] = attrs.field(factory=dict)
    """Graph-level facts (how it was specialised, where it came from) and analysis results."""

    def add_node(
        self,
        op_type: str,
        inputs: Sequence[Value] = (),
        output_types: Sequence[TensorType] = (),
        *,
        name: str = "",
        output_names: Sequence[str] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Node:
        """Append a node at the end of the execution order and wire its uses."""
        node = Node(op_type, name or f"{op_type}_{len(self.nodes)}", attributes=dict(attributes or {}))
        node.order = len(self.nodes)
        names = output_names or [f"{node.name}:{i}" for i in range(len(output_types))]
        node.outputs = tuple(Value(n, t, node, i) for i, (n, t) in enumerate(zip(names, output_types)))
        node.inputs = tuple(inputs)
        for i, value in enumerate(node.inputs):
            value._uses.append(Use(node, i))
        self.nodes.append(node)
        return node

    def insert_after(self, node: Node, op_type: str, output_type: TensorType, *, name: str) -> Node:
        """Insert a one-input, one-output node right after ``node``, reading its first output, and
        move every other reader of that output onto the new node's output (renumbering the order)."""
        source = node.outputs[0]
        readers = source.uses()
        new = Node(op_type, name)
        new.inputs = (source,)
        new.outputs = (Value(f"{name}:0", output_type, new, 0),)
        for use in readers:
            inputs = list(use.node.inputs)
            inputs[use.index] = new.outputs[0]
            use.node.inputs = tuple(inputs)
            new.outputs[0]._uses.append(use)
        source._uses = [Use(new, 0)]
        self.nodes.insert(node.order + 1, new)
        for i, n in enumerate(self.nodes):
            n.order = i
        self.outputs = [new.outputs[0] if v is source else v for v in self.outputs]
        return new

    def values(self) -> Iterator[Value]:
        """Every value, in the execution order of its producer."""
        for node in self.nodes:
            yield from node.outputs

    def dump(self) -> str:
        """A readable listing of the graph and its analysis results (stable, for golden tests)."""
        from ovmem.ir.dump import dump_graph

        return dump_graph(self)

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self.nodes)} nodes)"
