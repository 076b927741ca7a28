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

* **sliced image** (MiniCPM-V 2.5/2.6, MiniCPM-o): the processor sends the image resized to about
  ``scale_resolution²`` plus a grid of slices of about that area, each laid out as one row of
  patches; the tower runs them as one batch of ``B`` images padded to the largest one's ``maxP``
  patches (``pixel_values [B, 3, P, maxP·P]``, ``patch_attention_mask [B, 1, maxP]``,
  ``position_ids [B, maxP]``), and the resampler turns each into ``query_num`` tokens. A vision
  sequence of ``N`` is ``B = round(N / (scale_resolution/P)²)`` images of ``maxP = ⌈N / B⌉``
  patches (the seed's ``5070`` is 5 images of 1014: ``research/remote-code/minicpmv-rules.md``).
  optimum-intel runs the resampler once over the batch; openvino.genai once per image part, batch 1
  (``runtime="genai"``).

Every other input keeps its static dimensions and gets ``N`` for its dynamic ones. A part after the
encoder (merger, projector, resampler) whose first input has the rank of the part before it takes
that part's output shape.

:func:`image_sequence` maps an image size to the vision sequence as the family's processor would:
Qwen2-VL's ``smart_resize`` (multiples of ``P·m`` within ``min_pixels``..``max_pixels``), LLaVA-NeXT's
best grid resolution plus the base image, InternVL's tiles (closest aspect ratio, at most
``max_dynamic_patch``, plus a thumbnail), MiniCPM-V's source image and slices (:func:`minicpm_slices`),
one image for the fixed-size others.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from ovmem._lazy import openvino as ov
from ovmem.errors import UsageError
from ovmem.ir.lift import read_model
from ovmem.vlm.layout import Layout

__all__ = ["MinicpmSlices", "VisionPlan", "image_sequence", "minicpm_slices", "minicpm_tokens", "plan_vision"]

PATCH_SEQUENCE_FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_5", "qwen3_5_moe")
TILED_FAMILIES = ("llava_next", "llava_next_video", "internvl_chat")
FIXED_IMAGE_FAMILIES = ("llava", "gemma3", "got_ocr2", "maira2", "llava-qwen2")
"""One image, resized to the tower's size (Gemma 3 with pan-and-scan off, the processor's default)."""
SLICED_FAMILIES = ("minicpmv", "minicpmo")


@attrs.frozen
class VisionPlan:
    """How the vision parts run for one vision sequence."""

    sequence: int
    """Patches the encoder runs over (as planned: whole images for fixed-size encoders)."""
    images: int
    """Images (or tiles, crops) fed to a fixed-size encoder; 1 for a patch-sequence encoder."""
    shapes: dict[str, dict[str, tuple[int, ...]]]
    """Input shapes by part role and input name (every vision part but those chained after)."""
    image_tokens: int | None = None
    """Prompt tokens the image takes where the family's processor says so (MiniCPM-V: ``query_num``
    per image part plus its tag tokens); ``None``: the rows the last vision part returns."""
    host_bytes: dict[str, int] = attrs.field(factory=dict)
    """Buffers the runtime around the models keeps for images, by name (MiniCPM-V's position table)."""


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


def plan_vision(
    layout: Layout,
    sequence: int | None,
    overrides: dict[str, tuple[int, ...]] | None = None,
    *,
    image: tuple[int, int] | None = None,
    runtime: str = "ov",
) -> VisionPlan:
    """Input shapes of the first vision part (and of the merger of a patch-sequence encoder, the
    resampler of a sliced-image one) for ``sequence`` patches, or for the ``image`` ``(width, height)``
    as the family's processor cuts it (``sequence`` then ``None``); ``runtime``: whose loop runs
    MiniCPM-V's resampler, and whose copy of its processor cuts the image."""
    parts = layout.stage("vision")
    if not parts:
        raise UsageError(f"{layout.folder}: no vision encoder in this export")
    if image is not None:
        sequence = image_sequence(layout, *image)
    if sequence < 1:
        raise UsageError(f"the vision sequence must be a positive integer, got {sequence}")
    overrides = dict(overrides or {})
    first = read_model(parts[0].xml)
    pixel = first.inputs[0].get_partial_shape()
    if first.inputs[0].get_element_type().is_integral():
        raise UsageError(f"{parts[0].xml.name}: not a vision encoder (its first input, "
                         f"{first.inputs[0].get_any_name()!r}, holds integers, not pixels)")  # fmt: skip
    if layout.model_type in SLICED_FAMILIES:
        slices = minicpm_slices(layout, *image, runtime=runtime) if image is not None else None
        return _plan_sliced(layout, sequence, overrides, slices, runtime)
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
    if family in SLICED_FAMILIES:
        return minicpm_slices(layout, width, height).sequence
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


# ---- MiniCPM-V: a source image and a grid of slices ----------------------------------------------
# The processor's rules (image_processing_minicpmv.py of MiniCPM-Llama3-V-2_5 / MiniCPM-V-2_6, identical
# geometry): research/remote-code/minicpmv-rules.md section A, with the functions' names kept.


@attrs.frozen
class MinicpmSlices:
    """How MiniCPM-V's processor cuts one image."""

    patches: tuple[int, ...]
    """Patches of each image part the tower runs: the source image, then the slices row by row."""
    grid: tuple[int, int] | None
    """``(columns, rows)`` of the slices; ``None``: the image is not sliced."""
    sides: tuple[int, int]
    """The largest ``(rows, columns)`` of patches of a part (the position table covers them)."""

    @property
    def sequence(self) -> int:
        """The padded batch the tower runs: parts × the largest part's patches."""
        return len(self.patches) * max(self.patches)


def _sliced_config(layout: Layout) -> tuple[int, int, int]:
    """``(scale_resolution, patch_size, max_slice_nums)`` of the processor (its defaults 448, 14, 9)."""
    pre = {**(layout.config.get("slice_config") or {}), **layout.config["preprocessor"]}
    return (_int(pre.get("scale_resolution", 448), "scale_resolution", layout),
            _int(pre.get("patch_size", layout.config.get("patch_size", 14)), "patch_size", layout),
            _int(pre.get("max_slice_nums", 9), "max_slice_nums", layout))  # fmt: skip


@attrs.frozen
class _Arithmetic:
    """The number type and rounding a slicing implementation computes with."""

    number: Any
    """float (Python's double) or ``np.float32``."""
    rounding: Any
    """Python's ``round`` (halves to even) or C's ``std::round`` (halves away from zero)."""
    sqrt: Any
    log: Any
    integer_cells: bool
    """The refined size divided by the grid in integers (C++) or exactly (Python)."""


_PROCESSOR = _Arithmetic(float, round, math.sqrt, math.log, integer_cells=False)
"""The model's processor (``image_processing_minicpmv.py``), which optimum-intel runs."""
_GENAI = _Arithmetic(np.float32, lambda x: int(np.floor(x + np.float32(0.5))), np.sqrt, np.log, integer_cells=True)
"""openvino.genai's C++ copy (``src/cpp/src/visual_language/minicpm/classes.cpp``: ``ensure_divide``,
``find_best_resize``, ``get_refine_size``, ``slice_image``): the same steps in float32 with ``std::round``
and integer division of the refined size — about 12 % of sizes come out one patch row or column apart,
and mirror grids can tie the other way (research/remote-code/minicpmv-rules.md C.1)."""


def _ensure_divide(length: float, patch: int, a: _Arithmetic) -> int:
    return max(a.rounding(a.number(length) / a.number(patch)) * patch, patch)


def _find_best_resize(width: float, height: float, scale: int, patch: int, upscale: bool,
                      a: _Arithmetic) -> tuple[int, int]:  # fmt: skip
    if width * height > scale * scale or upscale:
        ratio = a.number(width) / a.number(height)
        height = int(a.number(scale) / a.sqrt(ratio))
        width = int(a.number(height) * ratio)
    return _ensure_divide(width, patch, a), _ensure_divide(height, patch, a)


def _sliced_grid(width: int, height: int, scale: int, max_slices: int, a: _Arithmetic) -> tuple[int, int] | None:
    """``get_sliced_grid``: the ``(columns, rows)`` closest to the image's aspect ratio (the first on a tie)."""
    multiple = min(math.ceil(a.number(width) * a.number(height) / a.number(scale * scale)), max_slices)
    if multiple <= 1:
        return None
    log_ratio, best, error = a.log(a.number(width) / a.number(height)), (1, 1), math.inf
    for n in (multiple - 1, multiple, multiple + 1):
        if n == 1 or n > max_slices:
            continue
        for cols in (c for c in range(1, n + 1) if n % c == 0):
            e = abs(log_ratio - a.log(a.number(cols) / a.number(n // cols)))
            if e < error:
                best, error = (cols, n // cols), e
    return best


def minicpm_slices(layout: Layout, width: int, height: int, runtime: str = "ov") -> MinicpmSlices:
    """MiniCPM-V's ``slice_image``: the source image (upscaled if small, else resized to about
    ``scale_resolution²``) and, for a larger image, ``columns × rows`` equal slices of about that area —
    as the model's processor cuts it (optimum-intel) or as openvino.genai's copy does (``runtime="genai"``)."""
    a = _GENAI if runtime == "genai" else _PROCESSOR
    scale, patch, max_slices = _sliced_config(layout)
    grid = _sliced_grid(width, height, scale, max_slices, a)
    sw, sh = _find_best_resize(width, height, scale, patch, grid is None, a)
    parts = [(sh // patch, sw // patch)]
    if grid is not None:
        cols, rows = grid
        refine_w, refine_h = _ensure_divide(width, cols, a), _ensure_divide(height, rows, a)
        cells = (refine_w // cols, refine_h // rows) if a.integer_cells else (refine_w / cols, refine_h / rows)
        bw, bh = _find_best_resize(*cells, scale, patch, True, a)
        parts += [(bh // patch, bw // patch)] * (cols * rows)
    return MinicpmSlices(tuple(r * c for r, c in parts), grid, (max(r for r, _ in parts), max(c for _, c in parts)))


def _square_grid(slices: int) -> tuple[int, int] | None:
    """A grid of ``slices`` as a square image's would be, when only the count is known."""
    if slices < 1:
        return None
    rows = max(d for d in range(1, math.isqrt(slices) + 1) if slices % d == 0)
    return slices // rows, rows


def minicpm_tokens(layout: Layout, parts: int, grid: tuple[int, int] | None, runtime: str) -> int:
    """Prompt tokens of one image (the first of its prompt): ``query_num`` per part plus the tags.

    2.5: ``<image>…</image>`` around every part and ``<slice>…</slice>`` around the grid; 2.6 and
    MiniCPM-o (and openvino.genai for every version): ``<image_id>0</image_id>`` first, ``<slice>…</slice>``
    around each slice; ``\\n`` between grid rows (``get_slice_image_placeholder``, ``get_grid_placeholder``)."""
    query = _int(layout.config.get("query_num", 64), "query_num", layout)
    rows = grid[1] if grid else 0
    newlines = max(0, rows - 1)
    if str(layout.config.get("version")) == "2.5" and runtime != "genai":
        return (query + 2) * parts + (2 + newlines if grid else 0)
    image_id = 3 if layout.config.get("use_image_id", True) else 0
    return image_id + (query + 2) * parts + newlines


def _plan_sliced(layout: Layout, sequence: int, overrides: dict[str, tuple[int, ...]], slices: MinicpmSlices | None,
                 runtime: str) -> VisionPlan:  # fmt: skip
    """MiniCPM-V: the tower over ``B`` padded parts; the resampler over all of them (optimum-intel) or one
    at a time (openvino.genai); the position table both keep (``_pos_embeds`` / ``m_pos_embed_cache``:
    f32 ``[max(70, rows), max(70, columns), hidden]``, 70 = the tower's ``image_size / patch_size``)."""
    scale, patch, _ = _sliced_config(layout)
    if slices is not None:
        parts, longest, grid, sides = len(slices.patches), max(slices.patches), slices.grid, slices.sides
    else:
        parts = max(1, round(sequence / (scale // patch) ** 2))
        longest, grid, sides = -(-sequence // parts), _square_grid(parts - 1), (0, 0)
    vision = _vision_config(layout)
    width, hidden = _int(vision.get("hidden_size"), "vision_config.hidden_size", layout), _int(
        layout.config.get("hidden_size"), "hidden_size", layout)
    batch = 1 if runtime == "genai" else parts
    known = {
        "pixel_values": (parts, 3, patch, longest * patch),
        "patch_attention_mask": (parts, 1, longest),
        "position_ids": (parts, longest),
        "image_feature": (batch, longest, width),
        "pos_embed": (longest, batch, hidden),
        "key_padding_mask": (batch, longest),
    }
    shapes = {}
    for part in layout.stage("vision"):
        model = read_model(part.xml)
        names = {port.get_any_name() for port in model.inputs}
        shapes[part.role] = _generic(model, longest, {k: v for k, v in {**known, **overrides}.items() if k in names})
    side = _int(vision.get("image_size", 980), "vision_config.image_size", layout) // patch
    table = max(side, sides[0]) * max(side, sides[1]) * hidden * 4
    return VisionPlan(parts * longest, parts, shapes, minicpm_tokens(layout, parts, grid, runtime),
                      {"MiniCPM-V position table": table})  # fmt: skip
