"""Frozen descriptors of tensors: element types (with sub-byte sizes) and tensor types."""

from __future__ import annotations

import math

import attrs

__all__ = ["DYNAMIC", "ELEMENT_BITS", "KV_PRECISIONS", "TensorType", "element_bits"]

DYNAMIC = -1
"""A dimension OpenVINO could not make static."""

ELEMENT_BITS: dict[str, int] = {
    "boolean": 8, "u1": 1, "u2": 2, "u3": 3, "u4": 4, "i4": 4, "nf4": 4, "f4e2m1": 4, "u6": 6,
    "u8": 8, "i8": 8, "f8e4m3": 8, "f8e5m2": 8, "f8e8m0": 8,
    "u16": 16, "i16": 16, "f16": 16, "bf16": 16,
    "u32": 32, "i32": 32, "f32": 32,
    "u64": 64, "i64": 64, "f64": 64,
}  # fmt: skip
"""Bits per element, by OpenVINO element type name (``ov.Type.get_type_name()``).

Sub-byte types are packed: a u4 tensor of n elements takes ceil(n / 2) bytes, as in the ``.bin``.
"""

KV_PRECISIONS = ("f32", "f16", "bf16", "u8", "i8", "u4")
"""The element types a KV cache can be stored in (``--kv-cache-precision``, ``ovmem.passes.states``)."""


def element_bits(name: str) -> int:
    """Bits per element of an element type name; ``ValueError`` for unknown or unsized types."""
    try:
        return ELEMENT_BITS[name]
    except KeyError:
        raise ValueError(f"element type {name!r} has no fixed size") from None


def _dims(value: object) -> tuple[int, ...]:
    return tuple(map(int, value))  # type: ignore[call-overload]


@attrs.frozen
class TensorType:
    """Element type and shape of a value."""

    dtype: str
    """OpenVINO element type name: ``f32``, ``f16``, ``u4``, ..."""
    shape: tuple[int, ...] = attrs.field(converter=_dims)
    """Dimensions; :data:`DYNAMIC` (-1) where unknown."""

    @property
    def is_static(self) -> bool:
        """Whether every dimension is known."""
        return DYNAMIC not in self.shape

    @property
    def numel(self) -> int | None:
        """Number of elements, or ``None`` if the shape is not static."""
        return math.prod(self.shape) if self.is_static else None

    @property
    def nbytes(self) -> int | None:
        """Bytes the tensor occupies (sub-byte types packed), or ``None`` if unknown."""
        n = self.numel
        if n is None or self.dtype not in ELEMENT_BITS:
            return None
        return -(-n * ELEMENT_BITS[self.dtype] // 8)

    def __str__(self) -> str:
        return f"{self.dtype}[{','.join('?' if d == DYNAMIC else str(d) for d in self.shape)}]"
