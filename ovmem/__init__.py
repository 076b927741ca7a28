"""ovmem: how much memory an OpenVINO model needs, computed from its graph before you load it.

    import ovmem
    report = ovmem.analyze("ov-model-folder", seq_len=1024)
    print(ovmem.format_report(report))
    ovmem.sweep("ov-model-folder", "256:32768:x2")       # every part against the length
    ovmem.max_seq_len("ov-model-folder", "8GiB")          # the longest prompt that fits
    ovmem.whatif("ov-model-folder", ["kv-cache-precision=u4"], seq_len=4096)
"""

from __future__ import annotations

from ovmem.api import DEFAULT_ALLOCATOR, analyze
from ovmem.budget import fits, max_seq_len
from ovmem.errors import ModelError, OvmemError, UsageError
from ovmem.report import MemoryReport, format_report, plan_memory
from ovmem.scenarios import whatif
from ovmem.sweeps import sweep

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ALLOCATOR",
    "MemoryReport",
    "ModelError",
    "OvmemError",
    "UsageError",
    "__version__",
    "analyze",
    "fits",
    "format_report",
    "max_seq_len",
    "plan_memory",
    "sweep",
    "whatif",
]
