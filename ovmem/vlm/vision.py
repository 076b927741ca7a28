"""The vision encoder's input shapes for a vision sequence length, and the sequence an image makes.

The *vision sequence* is what the encoder's attention runs over: patches. Two kinds of encoder,
told apart by the graph (the first vision part's first input):

* **patch sequence** (rank 2, Qwen2-VL / Qwen2.5-VL / Qwen3-VL): the processor cuts the image into
  ``N`` patches of ``C·T·P·P`` values; ``vision_embeddings`` embeds them (``[N, C·T·P·P]``, the
  width read off its ``Convolution`` weight) and the merger runs the ViT blocks with ``[1, N, N]``
  attention masks, ``window_index`` over ``N / m²`` merged tokens and ``[N, ·]`` rotary tables
  (``Qwen2_5_VLOpenVINOConfig.inputs`` in optimum-intel). ``m`` is ``spatial_merge_size``.
* **fixed image** (rank 4 ``pixel_values``, LLaVA, Gemma 3, InternVL, ...): the tower's position
  table fixes the image to ``S × S`` (``vision_config.image_size``), ``(S / P)²`` patches each; a
  vision sequence of ``N`` is ``round(N / (S/P)²)`` images or tiles (a class token per image, as
  CLIP and InternViT have, does not change the count).

Every other input keeps its static dimensions and gets ``N`` for its dynamic ones. A part after the
encoder (merger, projector, resampler) whose first input has the rank of the part before it takes
that part's output shape.

:func:`image_sequence` maps an image size to the vision sequence as the family's processor would:
Qwen2-VL's ``smart_resize`` (multiples of ``P·m`` within ``min_pixels``..``max_pixels``), LLaVA-NeXT's
best grid resolution plus the base image, InternVL's tiles (closest aspect ratio, at most
``max_dynamic_patch``, plus a thumbnail), one image for the fixed-size others.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import openvino as ov

from ovmem.errors import UsageError
from ovmem.ir.lift import read_model
from ovmem.vlm.layout import Layout

__all__ = ["VisionPlan", "image_sequence", "plan_vision"]

PATCH_SEQUENCE_FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_5", "qwen3_5_moe")
TILED_FAMILIES = ("llava_next", "llava_next_video", "internvl_chat")
FIXED_IMAGE_FAMILIES = ("llava", "gemma3", "got_ocr2", "maira2", "llava-qwen2")
"""One image, resized to the tower's size (Gemma 3 with pan-and-scan off, the processor's default)."""


@attrs.frozen
class VisionPlan:
    """How the vision parts run for one vision sequence."""

    sequence: int
    """Patches the encoder runs over (as planned: whole images for fixed-size encoders)."""
    images: int
    """Images (or tiles, crops) fed to a fixed-size encoder; 1 for a patch-sequence encoder."""
    shapes: dict[str, dict[str, tuple[int, ...]]]
    """Input shapes by part role and input name (every vision part but those chained after)."""


def _vision_config(layout: Layout) -> dict[str, Any]:
    return layout.config.get("vision_config") or {}


def _int(value: Any, what: str, layout: Layout) -> int:
    if isinstance(value, (list, tuple)):  # some configs give [h, w]
        value = value[0]
    if not isinstance(value, (int, float)) or value <= 0:
        raise UsageError(f"{layout.folder}: config.json has no usable {what} for a {layout.model_type} vision encoder")
    return int(value)


def _image_size(layout: Layout) -> int:
    value = layout.config.get("force_image_size") or _vision_config(layout).get("image_size")
    return _int(value, "vision_config.image_size", layout)


def _patch_size(layout: Layout) -> int:
    return _int(_vision_config(layout).get("patch_size"), "vision_config.patch_size", layout)


def _merge_size(layout: Layout) -> int:
    value = _vision_config(layout).get("spatial_merge_size") or layout.config["preprocessor"].get("merge_size") or 2
    return _int(value, "vision_config.spatial_merge_size", layout)


def _patch_width(model: ov.Model) -> int | None:
    """Values per patch of a patch-sequence encoder: the input width of its patch ``Convolution``."""
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Convolution" and op.get_input_partial_shape(1).is_static:
            return math.prod(op.get_input_shape(1)[1:])
    return None


def _generic(model: ov.Model, sequence: int, known: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for port in model.inputs:
        name = port.get_any_name()
        if name in known:
            shapes[name] = known[name]
            continue
        pshape = port.get_partial_shape()
        if pshape.rank.is_dynamic:
            raise UsageError(f"input {name!r} has a dynamic rank; give its shape with --shape {name}=D0,D1,...")
        shapes[name] = tuple(d.get_length() if d.is_static else sequence for d in pshape)
    return shapes


def plan_vision(layout: Layout, sequence: int, overrides: dict[str, tuple[int, ...]] | None = None) -> VisionPlan:
    """Input shapes of the first vision part (and of the merger of a patch-sequence encoder)."""
    parts = layout.stage("vision")
    if not parts:
        raise UsageError(f"{layout.folder}: no vision encoder in this export")
    if sequence < 1:
        raise UsageError(f"the vision sequence must be a positive integer, got {sequence}")
    overrides = dict(overrides or {})
    first = read_model(parts[0].xml)
    pixel = first.inputs[0].get_partial_shape()
    if first.inputs[0].get_element_type().is_integral():
        raise UsageError(f"{parts[0].xml.name}: not a vision encoder (its first input, "
                         f"{first.inputs[0].get_any_name()!r}, holds integers, not pixels)")  # fmt: skip
    if pixel.rank.is_static and pixel.rank.get_length() == 2:  # patch sequence
        width = _patch_width(first)
        if width is None:
            raise UsageError(f"{parts[0].xml.name}: a patch-sequence encoder without a patch Convolution")
        merge = _merge_size(layout) ** 2
        if sequence % merge:
            raise UsageError(f"the vision sequence of a {layout.model_type} encoder is a multiple of {merge} patches, got {sequence}")
        shapes = {parts[0].role: _generic(first, sequence, {first.inputs[0].get_any_name(): (sequence, width), **overrides})}
        for part in parts[1:]:
            model = read_model(part.xml)
            known = {"window_index": (sequence // merge,), **overrides}
            for port in model.inputs:
                name, rank = port.get_any_name(), port.get_partial_shape().rank
                if rank.is_static and rank.get_length() == 3 and name.endswith("attention_mask"):
                    known.setdefault(name, (1, sequence, sequence))
            shapes[part.role] = _generic(model, sequence, known)
        return VisionPlan(sequence, 1, shapes)
    size, patch = _image_size(layout), _patch_size(layout)
    per_image = (size // patch) ** 2
    images = max(1, round(sequence / per_image))
    name = first.inputs[0].get_any_name()
    known = {name: (images, pixel[1].get_length() if pixel[1].is_static else 3, size, size), **overrides}
    return VisionPlan(images * per_image, images, {parts[0].role: _generic(first, images * per_image, known)})


def image_sequence(layout: Layout, width: int, height: int) -> int:
    """The vision sequence the family's processor makes of one ``width × height`` image."""
    if width < 1 or height < 1:
        raise UsageError(f"--image must be WIDTHxHEIGHT in pixels, got {width}x{height}")
    family = layout.model_type or ""
    if family in PATCH_SEQUENCE_FAMILIES:
        patch, merge = _patch_size(layout), _merge_size(layout)
        pre = layout.config["preprocessor"]
        h, w = _smart_resize(height, width, patch * merge, pre.get("min_pixels", 56 * 56), pre.get("max_pixels", 28 * 28 * 1280))
        return (h // patch) * (w // patch)
    if family not in (*FIXED_IMAGE_FAMILIES, *TILED_FAMILIES):
        raise UsageError(f"--image is not modelled for the {family or 'unknown'} family; give the vision sequence instead")
    size, patch = _image_size(layout), _patch_size(layout)
    per_image = (size // patch) ** 2
    if family in ("llava_next", "llava_next_video"):
        pinpoints = layout.config.get("image_grid_pinpoints") or [[size, size]]
        best_w, best_h = _best_resolution(width, height, [tuple(p) for p in pinpoints])
        return ((best_w // size) * (best_h // size) + 1) * per_image
    if family == "internvl_chat":
        return _internvl_tiles(width, height, int(layout.config.get("max_dynamic_patch", 12)), size) * per_image
    return per_image


def _smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL's processor: both sides multiples of ``factor``, the area within the pixel bounds."""
    h, w = max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = max(factor, math.floor(height / beta / factor) * factor), max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = math.ceil(height * beta / factor) * factor, math.ceil(width * beta / factor) * factor
    return h, w


def _best_resolution(width: int, height: int, pinpoints: list[tuple[int, int]]) -> tuple[int, int]:
    """LLaVA-NeXT's ``select_best_resolution``: most of the image kept, then least padding."""
    best, best_key = pinpoints[0], None
    for ph, pw in pinpoints:  # pinpoints are [height, width]
        scale = min(pw / width, ph / height)
        kept = min(int(width * scale) * int(height * scale), width * height)
        key = (kept, -(pw * ph - kept))
        if best_key is None or key > best_key:
            best, best_key = (pw, ph), key
    return best


def _internvl_tiles(width: int, height: int, max_tiles: int, size: int) -> int:
    """InternVL's ``dynamic_preprocess``: the closest tile grid (at most ``max_tiles``) plus a thumbnail."""
    ratios = sorted({(i, j) for n in range(1, max_tiles + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                     if 1 <= i * j <= max_tiles}, key=lambda r: r[0] * r[1])  # fmt: skip
    aspect, best, best_diff = width / height, (1, 1), float("inf")
    for i, j in ratios:
        diff = abs(aspect - i / j)
        if diff < best_diff or (diff == best_diff and width * height > 0.5 * size * size * i * j):
            best, best_diff = (i, j), diff
    tiles = best[0] * best[1]
    return tiles + (1 if tiles != 1 else 0)
