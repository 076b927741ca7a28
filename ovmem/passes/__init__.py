"""Analysis passes over ovmem's IR, their registry and the pipeline that runs them."""

from __future__ import annotations

from ovmem.passes import fold_weights, lifetime  # noqa: F401  (register the built-ins)
from ovmem.passes.base import Pass, PassPreconditionError, PassResult
from ovmem.passes.fold_weights import FoldWeights
from ovmem.passes.keys import CATEGORY, LIFETIME, Category, Lifetime
from ovmem.passes.lifetime import LifetimeAnalysis
from ovmem.passes.pipeline import Instrument, Pipeline, PrintAfterInstrument, TimingInstrument, parse_pipeline
from ovmem.passes.registry import available_passes, get_pass_class, register_pass

DEFAULT_PIPELINE = "fold-weights,lifetime"
"""The passes ``ovmem analyze`` runs unless told otherwise."""

__all__ = [
    "CATEGORY",
    "DEFAULT_PIPELINE",
    "LIFETIME",
    "Category",
    "FoldWeights",
    "Instrument",
    "Lifetime",
    "LifetimeAnalysis",
    "Pass",
    "PassPreconditionError",
    "PassResult",
    "Pipeline",
    "PrintAfterInstrument",
    "TimingInstrument",
    "available_passes",
    "get_pass_class",
    "parse_pipeline",
    "register_pass",
]
