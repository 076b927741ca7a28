"""Which sub-models an export folder holds and what each one does.

optimum-intel writes one IR per sub-model, ``openvino_<part>_model.xml`` (``export_from_model`` in
``optimum/exporters/openvino/convert.py``): a text LLM is ``openvino_model.xml``; a vision-language
model is ``openvino_language_model.xml`` (the stateful decoder, fed ``inputs_embeds``),
``openvino_text_embeddings_model.xml``, ``openvino_vision_embeddings_model.xml`` and the family's
extras (``vision_embeddings_merger`` for Qwen2/2.5/3-VL, ``resampler`` for MiniCPM-V,
``vision_projection`` for Phi-3/4-vision, ``multi_modal_projector`` and ``vision_resampler`` for
LLaVA-NeXT-Video, ...; ``additional_parts`` of the family's class in
``optimum/intel/openvino/modeling_visual_language.py``). ``config.json``'s ``model_type`` names
the family.

Every part gets a *stage* — when the pipeline runs it: ``vision`` (image encoding), ``embeddings``
(token embeddings, before the vision encoder and at every step), ``language`` (prefill and
decode). A part of any other name (audio encoders, speech heads, ...) is stage ``other``: it is
analysed generically and reported, never dropped. Tokenizer IRs are not models of the pipeline.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import attrs

from ovmem.errors import UsageError
from ovmem.remote.source import is_remote

__all__ = ["Layout", "Part", "detect_layout"]

Stage = Literal["vision", "embeddings", "language", "other"]

_PART_FILE = re.compile(r"^openvino_(?P<role>.+)_model\.xml$")
_VISION_WORDS = ("vision", "image", "resampler", "projector", "projection", "merger", "patch")


def _stage(role: str) -> Stage:
    if role == "language":
        return "language"
    if role.startswith("text_embeddings"):
        return "embeddings"
    if any(word in role for word in _VISION_WORDS) and not role.startswith("audio"):
        return "vision"
    return "other"


@attrs.frozen
class Part:
    """One sub-model of an export."""

    role: str
    """``language``, ``text_embeddings``, ``vision_embeddings``, ``vision_embeddings_merger``, ...
    (``model`` for a single-model export)."""
    xml: Path
    stage: Stage


@attrs.frozen
class Layout:
    """An export folder: its family and its sub-models, in the order the pipeline runs them."""

    folder: Path
    model_type: str | None
    """``config.json``'s ``model_type`` (``None`` without a config)."""
    parts: tuple[Part, ...]
    config: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """``config.json``, and ``preprocessor_config.json`` under the key ``"preprocessor"``."""

    @property
    def is_vlm(self) -> bool:
        return any(p.role == "language" for p in self.parts)

    def stage(self, stage: Stage) -> tuple[Part, ...]:
        """The parts of one stage, in run order."""
        return tuple(p for p in self.parts if p.stage == stage)

    def part(self, role: str) -> Part | None:
        return next((p for p in self.parts if p.role == role), None)


def _run_order(part: Part) -> tuple[int, int, str]:
    """Embeddings, then the vision encoder before what consumes its output, then the LM."""
    stage_order = {"embeddings": 0, "vision": 1, "language": 2, "other": 3}[part.stage]
    # the encoder proper first; mergers, resamplers and projectors take its output
    follows = 0 if part.role in ("vision_embeddings", "model") else 1
    return stage_order, follows, part.role


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not readable JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}


def detect_layout(path: str | os.PathLike[str]) -> Layout:
    """The layout of an export folder (or of the one IR ``path`` names); a remote one is fetched first."""
    if is_remote(path):
        from ovmem.remote import fetch_model  # here: fetching reads ovmem.ir

        path = fetch_model(path).path
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such file or folder")
    if p.is_file():
        if p.suffix != ".xml":
            raise UsageError(f"{p}: not an OpenVINO IR (expected a .xml file or an export folder)")
        return Layout(p.parent, None, (Part("model", p, "language"),))
    config = _read_json(p / "config.json")
    config["preprocessor"] = _read_json(p / "preprocessor_config.json")
    model_type = config.get("model_type")
    if (p / "openvino_model.xml").is_file():
        return Layout(p, model_type, (Part("model", p / "openvino_model.xml", "language"),), config)
    parts = [Part(m["role"], x, _stage(m["role"])) for x in p.glob("openvino_*_model.xml") if (m := _PART_FILE.match(x.name))]
    if not parts:
        xmls = sorted(x.name for x in p.glob("*.xml"))
        if len(xmls) == 1:
            return Layout(p, model_type, (Part("model", p / xmls[0], "language"),), config)
        what = f"{len(xmls)} models ({', '.join(xmls)}) but no optimum-intel layout" if xmls else "no OpenVINO model (.xml)"
        raise UsageError(f"{p}: the folder holds {what}")
    return Layout(p, model_type, tuple(sorted(parts, key=_run_order)), config)
