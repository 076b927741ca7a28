#!/usr/bin/env python3
"""Sweep and budget speed: ``ovmem.sweep`` / ``ovmem.max_seq_len`` against one ``ovmem.analyze``
per length.

    python bench/sweep.py                  # fixtures + the demo decoder at Qwen2-0.5B width
    python bench/sweep.py --quick          # the fixtures only
    python bench/sweep.py --model DIR ...  # also your own IRs

For each model and device, three ways to get the same numbers:

* **naive** — ``ovmem.analyze(path, seq_len=n)`` at every length: OpenVINO reads and reshapes the
  model each time, the pipeline is parsed each time.
* **relift** — ``ovmem.sweep(..., reuse_shapes=False)``: the model read and the pipeline parsed
  once, OpenVINO reshapes at every length.
* **sweep** — ``ovmem.sweep(...)``: three lengths reshaped by OpenVINO, the others instantiated
  from the lifted graphs' affine shapes.

Every sweep point is checked equal to the naive report (the whole JSON), and the budget answer
``N`` is checked by two analyses (``N`` fits, ``N + 1`` does not). Prints seconds and the speed-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ovmem  # noqa: E402
from ovmem.models.llama import LlamaConfig, build_llama  # noqa: E402

LENGTHS = "256:32768:x2"


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def bench(name: str, model, device: str, budget: str) -> tuple[float, float, float, float, float]:
    lengths = ovmem.sweeps.parse_lengths(LENGTHS)
    naive, t_naive = _timed(lambda: [ovmem.analyze(model, seq_len=n, device=device) for n in lengths])
    _, t_relift = _timed(lambda: ovmem.sweep(model, LENGTHS, device=device, reuse_shapes=False))
    swept, t_sweep = _timed(lambda: ovmem.sweep(model, LENGTHS, device=device))
    for point, report in zip(swept.points, naive):
        assert point.report.to_dict() == report.to_dict(), (name, device, point.length)
    slow, t_budget_naive = _timed(lambda: ovmem.max_seq_len(model, budget, device=device, reuse_shapes=False))
    fast, t_budget = _timed(lambda: ovmem.max_seq_len(model, budget, device=device))
    assert slow.length == fast.length, (slow.length, fast.length)
    if fast.length is not None and fast.above is not None:
        budget_bytes = fast.budget_bytes
        assert ovmem.analyze(model, seq_len=fast.length, device=device).total_bytes <= budget_bytes
        assert ovmem.analyze(model, seq_len=fast.length + 1, device=device).total_bytes > budget_bytes
    shapes = sum(p.method == "shapes" for p in swept.points)
    print(
        f"{name:<34} {device:<8} sweep of {len(lengths)}: naive {t_naive:6.2f} s  relift {t_relift:6.2f} s  "
        f"sweep {t_sweep:6.2f} s ({shapes} from shapes)  x{t_naive / t_sweep:4.1f} | budget {budget} -> "
        f"{fast.length}: {slow.analyses} analyses {t_budget_naive:6.2f} s -> {t_budget:6.2f} s  "
        f"x{t_budget_naive / t_budget:4.1f}",
        flush=True,
    )
    return t_naive, t_relift, t_sweep, t_budget_naive, t_budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the fixtures only")
    parser.add_argument("--model", action="append", default=[], help="an IR or export folder (repeatable)")
    parser.add_argument("--device", action="append", default=None, help="devices (default: generic and CPU)")
    args = parser.parse_args()
    sources: list[tuple[str, object, str]] = [
        (p.name, str(p), "1GiB")
        for p in sorted((ROOT / "tests" / "fixtures").iterdir())
        if (p / "openvino_model.xml").is_file()
    ]
    if not args.quick:
        qwen_width = LlamaConfig(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_layers=24,
                                 num_heads=14, num_kv_heads=2, head_dim=64, tie_word_embeddings=True)  # fmt: skip
        sources.append(("demo decoder at Qwen2-0.5B width", build_llama(qwen_width), "16GiB"))
    sources += [(Path(m).name, m, "8GiB") for m in args.model]
    totals = [0.0] * 5
    for name, model, budget in sources:
        for device in args.device or ("generic", "CPU"):
            for i, t in enumerate(bench(name, model, device, budget)):
                totals[i] += t
    naive, relift, swept, budget_naive, budget = totals
    print(
        f"\nall: sweeps naive {naive:.1f} s, relift {relift:.1f} s, sweep {swept:.1f} s (x{naive / swept:.1f}); "
        f"budget searches {budget_naive:.1f} s -> {budget:.1f} s (x{budget_naive / budget:.1f})"
    )


if __name__ == "__main__":
    main()
