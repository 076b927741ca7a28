"""Multi-model exports: folder layouts, vision encoder shapes, and the VLM pipeline by phase."""

from __future__ import annotations

from ovmem.vlm.layout import Layout, Part, detect_layout
from ovmem.vlm.pipeline import PartRun, PipelineReport, analyze_pipeline
from ovmem.vlm.vision import VisionPlan, image_sequence, plan_vision

__all__ = [
    "Layout",
    "Part",
    "PartRun",
    "PipelineReport",
    "VisionPlan",
    "analyze_pipeline",
    "detect_layout",
    "image_sequence",
    "plan_vision",
]
