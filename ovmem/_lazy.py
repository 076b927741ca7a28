"""OpenVINO, imported when first used.

``import openvino`` takes 0.1–0.2 s; ``ovmem --help``, a usage error and an analysis that needs no model
reading should not pay it. Modules write ``from ovmem._lazy import openvino as ov`` and use ``ov`` as the
module: its first attribute access imports it (annotations never do: every module has
``from __future__ import annotations``).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["installed_version", "is_model", "openvino", "opset13"]


class _Lazy:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module = sys.modules.get(self._name) or importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<{self._name}, imported when first used>"


openvino: Any = _Lazy("openvino")
opset13: Any = _Lazy("openvino.opset13")


def is_model(value: object) -> bool:
    """Whether ``value`` is an ``openvino.Model`` — without importing OpenVINO: if it is not imported yet,
    nothing can be one."""
    module = sys.modules.get("openvino")
    return module is not None and isinstance(value, module.Model)


def installed_version() -> str:
    """Which OpenVINO is installed, for cache keys, without importing it (or ``importlib.metadata``, ~10 ms):
    where its package is and when its files were written (a reinstall rewrites them); ``?`` if it is not."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("openvino")
    if spec is None or not spec.origin:
        return "?"
    return f"{os.path.dirname(spec.origin)}@{os.stat(spec.origin).st_mtime_ns}"
