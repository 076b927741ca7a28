"""Targets: the CPU that will run the model, which may not be the one ovmem runs on.

Every rule of the CPU device that depends on the machine reads the :class:`Target` the analysis
is for (``graph.meta["target"]``, :data:`TARGET`), never the host directly: the default inference
precision, the ISA-gated ``LLMMLP`` fusion, the AMX FullyConnected accumulator, the kernels'
per-thread scratch (and, through the core's L1d + L2, how the Snippets MHA repacks its inputs) and
the plugin's per-thread runtime memory.

A target is an **ISA level** (:data:`ISAS`, ``--target amx``) and a number of inference threads;
a **preset** (:data:`PRESETS`, ``--target sapphire-rapids``) names a CPU family's ISA level, a
typical core count and its per-core caches; ``host`` (the default) is detected through OpenVINO
itself (:func:`detect_host`), so it works wherever OpenVINO runs (no ``/proc``, no CPUID of our
own): the plugin's default inference precision and threads are read off a compiled one-op model,
and the ISA off the kernel oneDNN picks for a bf16 FullyConnected (``brgemm_avx512_amx_bf16`` means
AMX, ``brgemm_avx512_bf16`` AVX512-BF16, ``jit_gemm_bf16`` AVX-512 without BF16; none, AVX2). Where
that fails, the target falls back to :data:`FALLBACK_ISA` and the analysis says so. The core's
caches come from Linux's ``/sys`` description where there is one, else the ISA level's typical part.

Sources for what each level changes are in ``docs/cpu-plugin-notes.md`` (section "Targets").
"""

from __future__ import annotations

import functools
import logging
import os

import attrs

from ovmem.errors import UsageError
from ovmem.ir.meta import MetaKey

__all__ = [
    "FALLBACK_ISA", "ISAS", "PRESETS", "TARGET", "Isa", "Preset", "Target", "available_targets", "detect_host",
    "emulated_isa", "get_target", "target_of",
]  # fmt: skip

logger = logging.getLogger(__name__)


@attrs.frozen
class Isa:
    """An x86 instruction-set level, as far as it changes how the CPU plugin spends memory."""

    name: str
    onednn: str
    """oneDNN's name for the level (``ONEDNN_MAX_CPU_ISA``; ``ovmem measure --emulate-target``)."""
    precision: str
    """The plugin's default inference precision there (``INFERENCE_PRECISION_HINT``)."""
    amx_bf16: bool = False
    """AMX tiles with BF16: oneDNN's AMX brgemm (FullyConnected accumulator) and ``LLMMLP``."""
    amx_fp16: bool = False
    """AMX with FP16: ``LLMMLP`` also in f16 inference."""
    summary: str = ""
    cache_kib: int = 0
    """L1d + L2 per core of the level's typical part (KiB): where the plugin's kernels switch blocking
    (:attr:`Target.core_cache`); a preset or the host's own caches take precedence."""


ISAS: dict[str, Isa] = {
    isa.name: isa
    for isa in (
        Isa("avx2", "AVX2", "f32", summary="AVX2 + FMA (Haswell to Comet Lake, AMD Zen 2/3)", cache_kib=32 + 512),
        Isa("avx2_vnni", "AVX2_VNNI", "f32", summary="AVX2 with AVX-VNNI (Alder/Raptor Lake, Meteor Lake)",
            cache_kib=48 + 1280),
        Isa("avx2_vnni_2", "AVX2_VNNI_2", "f32",
            summary="AVX2 with AVX-VNNI-INT8 and AVX-NE-CONVERT (Lunar Lake, Arrow Lake, Sierra Forest)",
            cache_kib=48 + 2560),
        Isa("avx512", "AVX512_CORE", "f32", summary="AVX-512 without BF16 (Skylake-SP, Cascade Lake, Ice Lake)",
            cache_kib=32 + 1024),
        Isa("avx512_bf16", "AVX512_CORE_BF16", "bf16", summary="AVX-512 with AVX512-BF16 (Cooper Lake, AMD Zen 4/5)",
            cache_kib=32 + 1024),
        Isa("amx", "AVX512_CORE_AMX", "bf16", amx_bf16=True, summary="AMX-BF16 (Sapphire Rapids, Emerald Rapids)",
            cache_kib=48 + 2048),
        Isa("amx_fp16", "AVX512_CORE_AMX_FP16", "bf16", amx_bf16=True, amx_fp16=True,
            summary="AMX-BF16 and AMX-FP16 (Granite Rapids)", cache_kib=48 + 2048),
    )
}  # fmt: skip
"""The ISA levels ``--target`` takes, weakest first."""

FALLBACK_ISA = "avx2"
"""What ``host`` becomes where OpenVINO cannot tell: the weakest level, f32 activations (the
largest), no AMX scratch."""


@attrs.frozen
class Preset:
    """A CPU family: its ISA level and the inference threads of a typical part."""

    name: str
    isa: str
    threads: int
    family: str
    source: str
    """Where the family's ISA (and caches) are documented."""
    cache_kib: int = 0
    """L1d + L2 per core (KiB; 0: the ISA level's typical value)."""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("alder-lake", "avx2_vnni", 6, "Intel Core 12th-14th gen (Alder/Raptor Lake), e.g. Core i7-12700H: 6 P-cores",
               "Intel ARK, Core i7-12700H: AVX2 (AVX-512 is fused off on the hybrid parts); Wikipedia, 'AVX-512'"),
        Preset("meteor-lake", "avx2_vnni", 6, "Intel Core Ultra series 1 (Meteor Lake), e.g. Core Ultra 7 155H: 6 P-cores",
               "Intel ARK, Core Ultra 7 155H: AVX2, AVX-VNNI; Redwood Cove P-core: 48 KiB L1d, 2 MiB L2",
               cache_kib=48 + 2048),
        Preset("lunar-lake", "avx2_vnni_2", 4, "Intel Core Ultra 200V (Lunar Lake): 4 P-cores",
               "Intel Architecture Instruction Set Extensions Programming Reference: AVX-VNNI-INT8 and "
               "AVX-NE-CONVERT from Lunar Lake, Arrow Lake and Sierra Forest"),
        Preset("arrow-lake", "avx2_vnni_2", 8, "Intel Core Ultra 200S (Arrow Lake), e.g. Core Ultra 9 285K: 8 P-cores",
               "Intel Architecture Instruction Set Extensions Programming Reference (as lunar-lake); "
               "Lion Cove P-core: 48 KiB L1d, 3 MiB L2", cache_kib=48 + 3072),
        Preset("cascade-lake", "avx512", 16, "Intel Xeon Scalable 1st/2nd gen (Skylake-SP, Cascade Lake), 16 cores",
               "Intel ARK, Xeon Gold 6248: AVX-512 (VNNI from Cascade Lake), no BF16"),
        Preset("ice-lake-sp", "avx512", 16, "Intel Xeon Scalable 3rd gen (Ice Lake-SP), 16 cores",
               "Intel ARK, Xeon Gold 6338: AVX-512 with VNNI, no BF16; Sunny Cove: 48 KiB L1d, 1.25 MiB L2",
               cache_kib=48 + 1280),
        Preset("cooper-lake", "avx512_bf16", 16, "Intel Xeon Scalable 3rd gen (Cooper Lake), 16 cores",
               "Intel ARK, Xeon Platinum 8380H: Intel DL Boost with BF16 (AVX512-BF16)"),
        Preset("sapphire-rapids", "amx", 16, "Intel Xeon Scalable 4th/5th gen (Sapphire/Emerald Rapids), 16 cores",
               "Intel ARK, Xeon Platinum 8480+: Intel AMX (AMX-BF16, AMX-INT8), AVX512-BF16, AVX512-FP16"),
        Preset("granite-rapids", "amx_fp16", 32, "Intel Xeon 6 P-core (Granite Rapids), 32 cores",
               "Intel Architecture Instruction Set Extensions Programming Reference: AMX-FP16 from Granite Rapids"),
        Preset("sierra-forest", "avx2_vnni_2", 32, "Intel Xeon 6 E-core (Sierra Forest), 32 cores",
               "Intel Architecture Instruction Set Extensions Programming Reference (as lunar-lake); no AVX-512; "
               "Crestmont E-cores: 32 KiB L1d, 4 MiB L2 per 4-core module", cache_kib=32 + 1024),
        Preset("zen3", "avx2", 8, "AMD Ryzen 5000 / EPYC 7003 (Zen 3), 8 cores",
               "AMD product pages: AVX2, no AVX-512; Wikipedia, 'AVX-512' (first AMD support: Zen 4)"),
        Preset("zen4", "avx512_bf16", 8, "AMD Ryzen 7000 / EPYC 9004 (Zen 4), 8 cores",
               "Wikipedia, 'AVX-512', CPUs with AVX-512: Zen 4 has AVX512-BF16 and VNNI (no FP16, no AMX)"),
        Preset("zen5", "avx512_bf16", 8, "AMD Ryzen 9000 / EPYC 9005 (Zen 5), 8 cores",
               "Wikipedia, 'AVX-512': Zen 5 as Zen 4 (AVX512-BF16, VNNI; no AMX); Zen 5: 48 KiB L1d, 1 MiB L2",
               cache_kib=48 + 1024),
    )
}  # fmt: skip
"""``--target`` CPU families: documented aliases of an ISA level plus a core count (``--threads``
overrides it). The count is the plugin's threads there: one stream on the physical cores under the
latency hint, on a hybrid part its P-cores where P > E/2 (P > E/4 for an int8/int4 LLM), else P + E
(``get_streams_info_table``, thresholds in ``get_model_prefer_threads``, both in
``src/plugins/intel_cpu/src/cpu_streams_calculation.cpp``). Not modelled: on parts with blocked cores
(Meteor Lake) the plugin runs a model without compressed-weight MatMuls on P + E even where P > E/2."""


@attrs.frozen
class Target:
    """The CPU an analysis is for."""

    name: str
    """What the user asked for: ``host``, an ISA level or a preset."""
    isa: Isa
    threads: int
    """Inference threads the plugin runs with there (``INFERENCE_NUM_THREADS`` of a compiled model)."""
    precision: str
    """The plugin's default inference precision there."""
    note: str = ""
    """How the target was found (``host``: detected, or the fallback and why)."""
    cache_bytes: int = 0
    """L1d + L2 per core, as oneDNN's ``get_cache_size(1, true) + get_cache_size(2, true)`` reads it there
    (0: the ISA level's typical part, :attr:`Isa.cache_kib`)."""

    @property
    def core_cache(self) -> int:
        """L1d + L2 per core in bytes: the size the plugin's kernels compare their working set with."""
        return self.cache_bytes or self.isa.cache_kib * 1024

    @property
    def label(self) -> str:
        """``host (amx, 2 threads)``; the ISA alone where the name is the ISA."""
        inner = f"{self.threads} threads" if self.name == self.isa.name else f"{self.isa.name}, {self.threads} threads"
        return f"{self.name} ({inner})"

    def fuses_mlp(self, precision: str | None = None) -> bool:
        """Whether the plugin forms ``LLMMLP`` here at ``precision`` (default: the target's):
        bf16 needs AMX-BF16, f16 needs AMX-FP16, f32 never (``Transformations::PostLpt``)."""
        precision = precision or self.precision
        return (precision == "bf16" and self.isa.amx_bf16) or (precision == "f16" and self.isa.amx_fp16)

    def with_threads(self, threads: int | None) -> Target:
        """The same CPU running ``threads`` inference threads (``None``: unchanged)."""
        return self if not threads else attrs.evolve(self, threads=threads)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "isa": self.isa.name, "threads": self.threads, "inference_precision": self.precision,
                "core_cache_bytes": self.core_cache, "note": self.note}  # fmt: skip


TARGET: MetaKey[Target] = MetaKey("target", Target, "Graph: the CPU the analysis is for (ovmem.target.Target).")


def target_of(graph) -> Target:  # graph: ovmem.ir.Graph
    """The graph's target; the host where the analysis set none (a pipeline run by hand)."""
    return TARGET.get(graph, None) or get_target("host")


def available_targets() -> list[str]:
    """Every name ``--target`` takes."""
    return ["host", *ISAS, *PRESETS]


@functools.cache
def get_target(name: str = "host") -> Target:
    """A target by name: ``host``, an ISA level of :data:`ISAS` or a preset of :data:`PRESETS`."""
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else ""
    if key == "host":
        return detect_host()
    if key in ISAS:
        isa = ISAS[key]
        host = detect_host()  # the ISA named, on the cores (and caches) this host has
        return Target(key, isa, host.threads, isa.precision, cache_bytes=host.cache_bytes)
    preset = PRESETS.get(key.replace("_", "-"))
    if preset is None:
        raise UsageError(f"unknown target {name!r}; available: {', '.join(available_targets())}")
    isa = ISAS[preset.isa]
    cache = preset.cache_kib * 1024
    return Target(preset.name, isa, preset.threads, isa.precision, note=preset.family, cache_bytes=cache)


def emulated_isa(name: str) -> str | None:
    """The ISA level a measurement must emulate to run as on target ``name``; ``None`` where this
    host is that CPU already (``host``, or a target of the host's own ISA level)."""
    return None if name == "host" or get_target(name).isa == detect_host().isa else get_target(name).isa.name


_ISA_BY_KERNEL = (("amx_fp16", "amx_fp16"), ("amx", "amx"), ("avx512_bf16", "avx512_bf16"), ("jit_gemm_bf16", "avx512"))
"""The kernel oneDNN picks for a bf16 (or f16) FullyConnected → the ISA level it needs."""


@functools.cache
def detect_host() -> Target:
    """The host as the CPU plugin sees it (module doc); the fallback, with a note, where it cannot."""
    try:
        precision, threads, kernels = _probe_plugin()
    except Exception as exc:  # noqa: BLE001 - any failure means "unknown", said in the note
        isa = ISAS[FALLBACK_ISA]
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        note = f"host not detected ({reason}); assumed {isa.name}, f32"
        logger.warning(note)
        return Target("host", isa, os.cpu_count() or 1, isa.precision, note=note)
    name = next((level for marker, level in _ISA_BY_KERNEL if any(marker in k for k in kernels)), FALLBACK_ISA)
    return Target("host", ISAS[name], threads, precision, note="detected through OpenVINO's CPU plugin",
                  cache_bytes=_host_core_cache())


def _host_core_cache(cpu: str = "/sys/devices/system/cpu/cpu0") -> int:
    """L1d + L2 per core from Linux's description of ``cpu``'s caches (a cache shared by several cores
    divided among them, as oneDNN counts it); 0 where there is none (then the ISA level's typical part)."""

    def read(*path: str) -> str:
        with open(os.path.join(cpu, *path)) as f:
            return f.read().strip()

    total = 0
    try:
        threads_per_core = _cores_in(read("topology", "thread_siblings_list"))
        for index in sorted(i for i in os.listdir(os.path.join(cpu, "cache")) if i.startswith("index")):
            if (int(read("cache", index, "level")), read("cache", index, "type")) in ((1, "Data"), (2, "Unified")):
                cores = max(1, _cores_in(read("cache", index, "shared_cpu_list")) // threads_per_core)
                total += int(read("cache", index, "size").rstrip("K")) * 1024 // cores
    except (OSError, ValueError):
        return 0
    return total


def _cores_in(cpu_list: str) -> int:
    """How many CPUs a Linux list such as ``0-3,8`` names."""
    count = 0
    for part in cpu_list.split(","):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


@functools.cache
def _probe_plugin() -> tuple[str, int, tuple[str, ...]]:
    """The CPU plugin's default precision and threads here, and the kernels of a bf16 and an f16
    FullyConnected (an empty name where the plugin has none for that precision). Kept in ovmem's cache
    (:mod:`ovmem.cache`) under everything that changes the answer: OpenVINO's version, the CPU, the CPUs
    this process may use, and the oneDNN/OpenVINO environment variables."""
    from ovmem.cache import read_json, write_json

    key = host_key()
    if (cached := read_json("host", key)) is not None:
        return cached[0], cached[1], tuple(cached[2])
    answer = _compile_probes()
    write_json("host", key, list(answer))
    return answer


def host_key() -> dict[str, object]:
    from ovmem._lazy import installed_version

    try:
        with open("/proc/cpuinfo") as f:
            cpu = sorted({line.strip() for line in f if line.startswith(("model name", "flags", "vendor_id"))})
    except OSError:
        import platform

        cpu = [platform.processor(), platform.machine()]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = {k: v for k, v in os.environ.items() if k.startswith(("ONEDNN_", "DNNL_", "OV_", "OMP_", "TBB_"))}
    return {"openvino": installed_version(), "cpu": cpu, "cpus": os.cpu_count(), "usable": usable, "env": env}


def _compile_probes() -> tuple[str, int, tuple[str, ...]]:
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    core = ov.Core()
    precision = core.get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    x = ops.parameter([1, 64], ov.Type.f32)
    model = ov.Model([ops.matmul(x, ops.constant(np.ones((64, 64), np.float32)), False, True)], [x])
    kernels, threads = [], 0
    for hint in ("f32", "bf16", "f16"):
        try:
            compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint})
        except RuntimeError:  # no kernel for that precision here (an AVX2 host: no bf16 inner product)
            continue
        threads = threads or int(compiled.get_property("INFERENCE_NUM_THREADS"))
        kernels += [
            op.get_rt_info()["primitiveType"].astype(str)
            for op in compiled.get_runtime_model().get_ordered_ops()
            if op.get_rt_info()["layerType"].astype(str) == "FullyConnected"
        ]
    if not threads:
        raise RuntimeError("the CPU plugin compiled no FullyConnected")
    return precision, threads, tuple(kernels)
