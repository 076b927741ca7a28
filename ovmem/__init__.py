"""ovmem: how much memory an OpenVINO model needs, computed from its graph before you load it.

    import ovmem
    report = ovmem.analyze("ov-model-folder", seq_len=1024)     # the CPU plugin on this host
    report = ovmem.analyze("ov-model-folder", seq_len=1024, target="zen4")   # ... on another CPU
    print(ovmem.format_report(report))
    ovmem.sweep("ov-model-folder", "256:32768:x2")       # every part against the length
    ovmem.max_seq_len("ov-model-folder", "8GiB")          # the longest prompt that fits
    ovmem.whatif("ov-model-folder", ["kv-cache-precision=u4"], seq_len=4096)
    model = ovmem.Model("ov-model-folder")                # read once: many questions, no re-reading
    model.analyze(seq_len=4096, target="zen4")
"""

from __future__ import annotations

import importlib
from typing import Any

from ovmem.errors import ModelError, OvmemError, UsageError

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ALLOCATOR",
    "MemoryReport",
    "Model",
    "ModelError",
    "OvmemError",
    "RunConfig",
    "Target",
    "UsageError",
    "__version__",
    "analyze",
    "fits",
    "format_report",
    "get_target",
    "max_seq_len",
    "plan_memory",
    "sweep",
    "whatif",
]

_LAZY = {
    "DEFAULT_ALLOCATOR": "ovmem.api", "analyze": "ovmem.api", "fits": "ovmem.budget", "max_seq_len": "ovmem.budget",
    "RunConfig": "ovmem.config", "MemoryReport": "ovmem.report", "format_report": "ovmem.report",
    "plan_memory": "ovmem.report", "whatif": "ovmem.scenarios", "sweep": "ovmem.sweeps", "Target": "ovmem.target",
    "get_target": "ovmem.target", "Model": "ovmem.model",
}  # fmt: skip
"""The API, imported when first used: ``import ovmem`` (and ``ovmem --help``) does not import OpenVINO."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ovmem' has no attribute {name!r}")
