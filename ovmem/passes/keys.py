"""Analysis results that several passes and the report share. Each key documents who writes it.

==============  ==========  ======================================================================
key             on          written by / meaning
==============  ==========  ======================================================================
``category``    Value       ``fold-weights`` (``weight``, ``folded``), other folding and fusing
                            passes (``folded``), ``lifetime`` (``io``, ``state``, ``temp``):
                            which part of the memory report the value's bytes go to.
``folded_by``   Value       whoever sets ``folded``: the rule that removed the value's buffer.
``alias_of``    Value       in-place passes: the value whose buffer this value reuses.
``lifetime``    Value       ``lifetime``: first and last execution step at which its buffer is live.
``stored_type`` Value       device passes: the element type and shape the device really stores the
                            value in (bf16 activations on CPU, say); sizes follow it.
``weight_copy_bytes`` Value device passes, on a weight: bytes of the device's own (repacked) copy,
                            resident next to the stored weight.
``resident_bytes`` Value   device passes, on a weight: the bytes of its mapped storage that become
                            resident when fewer than all are read (a lookup table: the pages of
                            the rows looked up); the report counts these instead of its size.
``io_copy_bytes`` Value     device passes, on a model input or output: bytes of the runtime's own
                            copy of the caller's tensor (a device-side input, a network-side
                            output), held next to it.
``client_copy_bytes`` Value ``placement``, on a model output: bytes of the caller's copy once the run
                            is over (optimum-intel's clone of the logits); counted like the above.
``compile_time`` Node       folding passes: the node runs at compile time and reads no buffer at
                            run time.
``kernel``      Node        ``fuse``: the node whose fused runtime kernel computes this node; its
                            inputs are read when that kernel runs.
==============  ==========  ======================================================================
"""

from __future__ import annotations

import enum

import attrs

from ovmem.ir.core import Node, Value
from ovmem.ir.meta import MetaKey
from ovmem.ir.types import TensorType

__all__ = ["ALIAS_OF", "CATEGORY", "COMPILE_TIME", "FOLDED_BY", "KERNEL", "LIFETIME", "STORED_TYPE", "WEIGHT_COPY_BYTES", "IO_COPY_BYTES", "CLIENT_COPY_BYTES", "copy_bytes", "RESIDENT_BYTES", "stored_nbytes", "Category", "Lifetime", "alias", "alias_root", "fold", "fold_node", "run_step"]


class Category(str, enum.Enum):
    """Where a value's bytes are counted."""

    WEIGHT = "weight"
    """Model weights: constants, resident for the model's life."""
    FOLDED = "folded"
    """No runtime buffer: computed at compile time, or inside a fused kernel that never stores it."""
    STATE = "state"
    """Variables of a stateful model (the KV cache), resident across runs."""
    IO = "io"
    """Model inputs and outputs: buffers the caller hands in and reads back, pinned for the run."""
    TEMP = "temp"
    """Intermediate tensors: packed into a reusable arena by an allocator."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Lifetime:
    """Execution steps ``start`` to ``end`` (inclusive) during which a value must be kept."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


CATEGORY: MetaKey[Category] = MetaKey("category", Category, "Which part of the report the value's bytes go to.")
FOLDED_BY: MetaKey[str] = MetaKey("folded_by", str, "The rule that removed the value's runtime buffer.")
ALIAS_OF: MetaKey[Value] = MetaKey("alias_of", Value, "The value whose buffer this value reuses (in place).")
LIFETIME: MetaKey[Lifetime] = MetaKey("lifetime", Lifetime, "First and last step at which the value's buffer is live.")
STORED_TYPE: MetaKey[TensorType] = MetaKey("stored_type", TensorType, "The type the device stores the value in.")
WEIGHT_COPY_BYTES: MetaKey[int] = MetaKey(
    "weight_copy_bytes", int, "Bytes of the device's own (repacked) copy of this weight, next to the stored one."
)
RESIDENT_BYTES: MetaKey[int] = MetaKey(
    "resident_bytes", int, "Bytes of this mapped weight that become resident (the pages a lookup reads), if not all."
)
IO_COPY_BYTES: MetaKey[int] = MetaKey(
    "io_copy_bytes", int, "Bytes of the runtime's own copy of this model input or output, next to the caller's."
)
CLIENT_COPY_BYTES: MetaKey[int] = MetaKey(
    "client_copy_bytes", int, "Bytes of the caller's copy of this model output once the run is over."
)
def copy_bytes(value: Value) -> int:
    """The copies of a model input or output held next to it: the runtime's and the caller's."""
    return IO_COPY_BYTES.get(value, 0) + CLIENT_COPY_BYTES.get(value, 0)


COMPILE_TIME: MetaKey[bool] = MetaKey("compile_time", bool, "The node runs at compile time, reading no runtime buffer.")
KERNEL: MetaKey[Node] = MetaKey("kernel", Node, "The node whose fused kernel computes this node at run time.")


def fold(value: Value, rule: str) -> bool:
    """Mark ``value`` as holding no runtime buffer because of ``rule``; whether anything changed.

    Weights stay weights (their stored bytes still count).
    """
    if CATEGORY.get(value, None) in (Category.WEIGHT, Category.FOLDED):
        return False
    CATEGORY.set(value, Category.FOLDED)
    FOLDED_BY.set(value, rule)
    return True


def stored_nbytes(value: Value) -> int | None:
    """Bytes the device stores ``value`` in: its ``stored_type`` if a device pass set one."""
    return STORED_TYPE.get(value, value.type).nbytes


def fold_node(node: Node, rule: str) -> bool:
    """Mark ``node`` as computed at compile time and fold its outputs; whether anything changed."""
    changed = not COMPILE_TIME.get(node, False)
    COMPILE_TIME.set(node, True)
    for value in node.outputs:
        changed |= fold(value, rule)
    return changed


def run_step(node: Node) -> int | None:
    """The step at which ``node`` reads its inputs at run time; ``None`` if it runs at compile time."""
    if COMPILE_TIME.get(node, False):
        return None
    return KERNEL.get(node, node).order


def alias(value: Value, target: Value) -> bool:
    """Make ``value`` share ``target``'s buffer (merging their alias groups); whether anything changed."""
    a, b = alias_root(value), alias_root(target)
    if a is b:
        return False
    ALIAS_OF.set(a, b)
    return True


def alias_root(value: Value) -> Value:
    """The value that owns the buffer ``value`` lives in (itself unless an in-place rule says so)."""
    seen = 0
    while ALIAS_OF.is_set(value):
        value = ALIAS_OF.get(value)
        seen += 1
        if seen > 100_000:
            raise RuntimeError(f"alias cycle through {value!r}")
    return value
