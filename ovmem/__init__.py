"""ovmem: how much memory an OpenVINO model needs, computed from its graph before you load it.

    import ovmem
    report = ovmem.analyze("ov-model-folder", seq_len=1024)     # the CPU plugin on this host
    report = ovmem.analyze("ov-model-folder", seq_len=1024, target="zen4")   # ... on another CPU
    print(ovmem.format_report(report))
    ovmem.sweep("ov-model-folder", "256:32768:x2")       # every part against the length
    ovmem.max_seq_len("ov-model-folder", "8GiB")          # the longest prompt that fits
    ovmem.whatif("ov-model-folder", ["kv-cache-precision=u4"], seq_len=4096)
"""

from __future__ import annotations

from ovmem.api import DEFAULT_ALLOCATOR, analyze
from ovmem.budget import fits, max_seq_len
from ovmem.config import RunConfig
from ovmem.errors import ModelError, OvmemError, UsageError
from ovmem.report import MemoryReport, format_report, plan_memory
from ovmem.scenarios import whatif
from ovmem.sweeps import sweep
from ovmem.target import Target, get_target

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ALLOCATOR",
    "MemoryReport",
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
