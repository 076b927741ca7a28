"""ovmem: how much memory an OpenVINO model needs, computed from its graph before you load it.

    import ovmem
    report = ovmem.analyze("ov-model-folder", seq_len=1024)
    print(ovmem.format_report(report))
"""

from __future__ import annotations

from ovmem.api import DEFAULT_ALLOCATOR, analyze
from ovmem.errors import ModelError, OvmemError, UsageError
from ovmem.report import MemoryReport, format_report, plan_memory

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ALLOCATOR",
    "MemoryReport",
    "ModelError",
    "OvmemError",
    "UsageError",
    "__version__",
    "analyze",
    "format_report",
    "plan_memory",
]
