#!/usr/bin/env python3
"""Estimate before download: what analysing a remote export fetches, against its ``.bin``.

    python bench/remote.py                                  # every export under /work/bigmodels
    python bench/remote.py --root DIR --latency 50          # 50 ms per request, as a far server would add
    python bench/remote.py --model /work/bigmodels/qwen2-0.5b-f16 --http

The exports (``tools/export_fixtures.py --big --out /work/bigmodels``, not in the repository; the committed
``tests/fixtures`` work too) are served on 127.0.0.1 by ``tools/model_server.py`` speaking the Hub's
protocol (``HF_ENDPOINT``; ``--http``: plain HTTP folders, which have no listing), with an empty cache.
For each export: one cold ``ovmem.remote.fetch_model`` (``hf://local/NAME``), the bytes of the ``.bin``
files it fetched as a share of their size, the ``.xml``/JSON bytes, the requests and the wall time; then
the analysis of the remote copy against the local folder's — ``ovmem.analyze`` for an LLM, and
``analyze_pipeline`` at the family's image for a VLM, under both runtimes — which must be equal field
for field. The target (issue #16): at most 1 % of the ``.bin`` for models over 1 GB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

from model_server import ModelServer

TARGET_SHARE = 0.01
LARGE = 1 << 30


def _analyses(folder: Path, layout) -> list[dict]:
    from accuracy import DEFAULT_VLM_IMAGE, VLM_IMAGES

    import ovmem
    from ovmem.vlm.pipeline import analyze_pipeline

    if not layout.is_vlm:
        return [ovmem.analyze(folder, seq_len=1024, runtime=r).to_dict() for r in ("ov", "genai")]
    image = VLM_IMAGES.get(layout.model_type, (DEFAULT_VLM_IMAGE,))[0]
    return [analyze_pipeline(folder, image=image, prompt_tokens=32, runtime=r).to_dict() for r in ("ov", "genai")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/work/bigmodels"))
    parser.add_argument("--model", type=Path, nargs="+", help="these export folders (default: every one under --root)")
    parser.add_argument("--http", action="store_true", help="plain HTTP folders instead of the Hub protocol")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS", help="delay the server adds to every answer")
    args = parser.parse_args()
    folders = args.model or sorted(p for p in args.root.iterdir() if any(p.glob("openvino*_model.xml")))
    roots = {f.resolve().parent for f in folders}
    if len(roots) != 1:
        parser.error("--model folders must share one parent folder (the server's root)")
    os.environ["OVMEM_CACHE_DIR"] = tempfile.mkdtemp(prefix="ovmem-bench-remote-")
    from ovmem.remote import fetch_model
    from ovmem.vlm.layout import detect_layout

    rows, large_shares, all_equal = [], [], True
    with ModelServer(roots.pop()) as server:
        server.delay = args.latency / 1000
        os.environ["HF_ENDPOINT"] = server.url
        print(f"served by tools/model_server.py at {server.url} ({'plain HTTP' if args.http else 'Hub protocol'}), "
              f"latency {args.latency:g} ms per request\n")
        print("| model | .bin | fetched from .bin | share | .xml + .json | requests | fetch s | remote = local |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for folder in folders:
            source = f"{server.url}/{folder.name}/" if args.http else f"hf://local/{folder.name}"
            started = time.perf_counter()
            remote = fetch_model(source)
            seconds = time.perf_counter() - started
            t = remote.traffic
            share = t.weight_bytes / remote.weights_bytes
            equal = _analyses(remote.path, detect_layout(folder)) == _analyses(folder, detect_layout(folder))
            all_equal &= equal
            if remote.weights_bytes > LARGE:
                large_shares.append(share)
            rows.append(share)
            print(f"| {folder.name} | {remote.weights_bytes / 2**30:.2f} GiB | {t.weight_bytes / 2**10:,.0f} KiB | "
                  f"{share:.3%} | {(t.bytes - t.weight_bytes) / 2**10:,.0f} KiB | {t.requests} | {seconds:.2f} | "
                  f"{'yes' if equal else 'NO'} |", flush=True)  # fmt: skip
    print(f"\n{len(rows)} exports: median share {statistics.median(rows):.3%}, max {max(rows):.3%}")
    ok = bool(large_shares) and max(large_shares) <= TARGET_SHARE
    if large_shares:
        print(f"over 1 GiB ({len(large_shares)}): max share {max(large_shares):.3%} "
              f"(target <= {TARGET_SHARE:.0%}: {'PASS' if ok else 'MISS'})")
    print(f"every remote analysis equal to the local one: {'PASS' if all_equal else 'MISS'}")
    return 0 if ok and all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
