"""``ovmem whatif`` and ``ovmem.whatif``: one model under several changes, next to the baseline.

Each change is one or more ``key=value`` items (``;`` between them) against the baseline's
options, as ``--vs`` writes them::

    kv-cache-precision=u4            the KV cache's element type (f32, f16, bf16, u8, i8, u4)
    allocator=best-fit               the temporaries' planner (NAME or NAME{option=value})
    disable=inplace                  drop a pass, or switch off a rule (inplace.view); added to the
                                     baseline's, several with commas
    passes=fold-weights,...,lifetime the whole pipeline
    device=generic                   CPU, generic or GPU
    target=avx2                      the CPU: an ISA level or a preset (ovmem.target)
    inference-precision=f32          CPU: bf16, f16 or f32
    new-tokens=512                   tokens generated after this run
    threads=8                        CPU: inference threads
    seq-len=, past-len=, batch=      the sizes
    lift=runtime                     analyse the plugin's compiled graph

From Python, a change may also be a mapping of :func:`ovmem.analyze` keywords
(``{"kv_cache_precision": "u4"}``). Every scenario is a full :func:`ovmem.analyze`; scenarios that
lift the same sizes share one OpenVINO reshape (each gets a fresh copy of the lifted graph), so a
delta is exactly the difference of two ``analyze`` runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ovmem._lazy import openvino as ov
from ovmem._study import ModelSource, check_options, part_labels, parts
from ovmem.api import SIZES, analyze, analyze_graph, build_pipeline
from ovmem.config import RunConfig
from ovmem.errors import UsageError
from ovmem.ir.template import ShapeTemplate
from ovmem.progress import Progress
from ovmem.report import SCHEMA_VERSION, MemoryReport, run_label
from ovmem.units import format_bytes, format_delta

__all__ = ["CHANGES", "Scenario", "WhatIf", "format_whatif", "parse_change", "whatif"]

CHANGES: dict[str, tuple[str, type]] = {
    "kv-cache-precision": ("kv_cache_precision", str),
    "allocator": ("allocator", str),
    "disable": ("disable", tuple),
    "passes": ("passes", str),
    "device": ("device", str),
    "target": ("target", str),
    "inference-precision": ("inference_precision", str),
    "new-tokens": ("new_tokens", int),
    "threads": ("threads", int),
    "seq-len": ("seq_len", int),
    "past-len": ("past_len", int),
    "batch": ("batch", int),
    "lift": ("lift_from", str),
}
"""``--vs`` keys: the :func:`ovmem.analyze` keyword each sets, and its type."""



def parse_change(text: str) -> dict[str, Any]:
    """``"kv-cache-precision=u4;allocator=best-fit"`` → ``{"kv_cache_precision": "u4", "allocator": "best-fit"}``.

    Raises:
        UsageError: an unknown key, a missing ``=`` or value, or a value of the wrong type.
    """
    change: dict[str, Any] = {}
    for item in filter(None, (t.strip() for t in text.split(";"))):
        key, eq, value = item.partition("=")
        key, value = key.strip().replace("_", "-"), value.strip()
        if key not in CHANGES:
            raise UsageError(f"--vs {item!r}: no such change; keys are {', '.join(CHANGES)}")
        if not eq or not value:
            raise UsageError(f"--vs {item!r}: expected {key}=VALUE")
        name, type_ = CHANGES[key]
        if type_ is int:
            if not value.isdigit():
                raise UsageError(f"--vs {item!r}: expected a non-negative integer")
            change[name] = int(value)
        elif type_ is tuple:
            change[name] = change.get(name, ()) + tuple(v.strip() for v in value.split(",") if v.strip())
        else:
            change[name] = value
    if not change:
        raise UsageError(f"--vs {text!r}: expected KEY=VALUE (keys: {', '.join(CHANGES)})")
    return change


def _label(change: Mapping[str, Any]) -> str:
    keys = {name: key for key, (name, _) in CHANGES.items()}
    items = []
    for name, value in change.items():
        text = ",".join(value) if isinstance(value, (tuple, list)) else str(value)
        items.append(f"{keys.get(name, name)}={text}")
    return ";".join(items)


@attrs.frozen
class Scenario:
    """The baseline, or the baseline with some options changed."""

    label: str
    changes: dict[str, Any]
    """The :func:`ovmem.analyze` keywords this scenario changes (empty for the baseline)."""
    report: MemoryReport

    @property
    def parts(self) -> dict[str, int]:
        return parts(self.report)

    def to_dict(self, baseline: Scenario | None = None) -> dict[str, Any]:
        data = {
            "label": self.label,
            "changes": {k: list(v) if isinstance(v, tuple) else v for k, v in self.changes.items()},
            "parts": self.parts,
            "total_bytes": self.report.total_bytes,
        }
        if baseline is not None:
            data["delta"] = {k: v - baseline.parts.get(k, 0) for k, v in self.parts.items()}
            data["delta_total_bytes"] = self.report.total_bytes - baseline.report.total_bytes
        data["report"] = self.report.to_dict()
        return data


@attrs.frozen
class WhatIf:
    """A baseline and its scenarios (:func:`whatif`)."""

    model: str
    baseline: Scenario
    scenarios: tuple[Scenario, ...]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (bytes), versioned by :data:`~ovmem.report.SCHEMA_VERSION`."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "baseline": self.baseline.to_dict(),
            "scenarios": [s.to_dict(self.baseline) for s in self.scenarios],
            "seconds": round(self.seconds, 3),
        }


def whatif(
    model: ov.Model | str | os.PathLike[str],
    changes: Sequence[str | Mapping[str, Any]],
    *,
    seq_len: int = 1,
    progress: Progress | None = None,
    name: str | None = None,
    **options: Any,
) -> WhatIf:
    """Analyse ``model`` with ``options`` (the baseline: :func:`ovmem.analyze`'s keywords) and once
    per change (:func:`parse_change` strings or mappings of keywords; a ``disable`` adds to the
    baseline's). ``name``: the model's name in the reports (default: the export folder's)."""
    started = time.perf_counter()
    if isinstance(changes, (str, Mapping)):
        changes = [changes]
    baseline = {"seq_len": seq_len, **options}
    check_options({k: v for k, v in baseline.items() if k != "seq_len"})
    parsed = [parse_change(c) if isinstance(c, str) else dict(c) for c in changes]
    for change in parsed:
        check_options({k: v for k, v in change.items() if k != "seq_len"})
    source = ModelSource(model)
    name = name or source.name
    templates: dict[Any, ShapeTemplate] = {}

    def run(opts: dict[str, Any]) -> MemoryReport:
        if opts.get("lift_from", "graph") != "graph" or opts.get("runtime", "ov") == "genai":  # no shared lift
            report = analyze(model, **opts)
            return report if report.model == name else attrs.evolve(report, model=name)
        sizes = {k: opts[k] for k in SIZES if k in opts}
        key = repr(sorted((k, repr(v)) for k, v in sizes.items()))
        if key in templates:
            graph = templates[key].instantiate(sizes["seq_len"])
        else:
            graph = source.lift(**sizes)
            templates[key] = ShapeTemplate(graph)  # copies what it needs before the passes annotate
        config = RunConfig.create(**{k: v for k, v in opts.items() if k not in SIZES})
        report = analyze_graph(graph, build_pipeline(config), config)
        return report if report.model == name else attrs.evolve(report, model=name)

    progress = progress or Progress()
    progress.start(len(parsed) + 1, "ovmem whatif")
    try:
        progress.step("baseline")
        base = Scenario("baseline", {}, run(baseline))
        scenarios = []
        for change in parsed:
            label = _label(change)
            progress.step(label)
            opts = {**baseline, **change}
            if "disable" in change:
                opts["disable"] = tuple(baseline.get("disable", ())) + tuple(change["disable"])
            scenarios.append(Scenario(label, change, run(opts)))
    finally:
        progress.close()
    return WhatIf(name, base, tuple(scenarios), time.perf_counter() - started)


def format_whatif(result: WhatIf) -> str:
    """The side-by-side table ``ovmem whatif`` prints: the baseline's parts, then each scenario's
    total and its change of every part."""
    b = result.baseline.report
    head = (
        f"{result.model}: seq_len {b.seq_len}, batch {b.batch}, past {b.past_len}"
        f" | baseline: {run_label(b)}"
    )
    rows = [result.baseline, *result.scenarios]
    names: list[str] = []
    for s in rows:
        names += [k for k in s.parts if k not in names]
    names = [k for k in names if k == "weights" or any(s.parts.get(k, 0) for s in rows)]
    labels = part_labels(names)
    width = max(len("scenario"), *(len(s.label) for s in rows)) + 2
    widths = {k: max(12, len(labels[k]) + 2) for k in names}
    title = f"  {'scenario':<{width}}{'total':>12}{'change':>12}" + "".join(f"{labels[k]:>{widths[k]}}" for k in names)
    lines = [head, title]
    base_parts = result.baseline.parts
    for s in rows:
        total = s.report.total_bytes
        if s is result.baseline:
            cells = "".join(f"{format_bytes(base_parts.get(k, 0)):>{widths[k]}}" for k in names)
            lines.append(f"  {s.label:<{width}}{format_bytes(total):>12}{'':>12}" + cells)
        else:
            cells = "".join(f"{format_delta(s.parts.get(k, 0) - base_parts.get(k, 0)):>{widths[k]}}" for k in names)
            change = format_delta(total - b.total_bytes)
            lines.append(f"  {s.label:<{width}}{format_bytes(total):>12}{change:>12}" + cells)
    lines.append("  (scenario rows: each part's change against the baseline)")
    return "\n".join(lines)
