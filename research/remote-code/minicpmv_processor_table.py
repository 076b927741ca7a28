#!/usr/bin/env python
"""MiniCPM-V's own image processor on many image sizes: the ground truth of ``tests/test_vlm.py``'s slicing test.

Runs the ``MiniCPMVImageProcessor`` of MiniCPM-Llama3-V-2_5 and MiniCPM-V-2_6 (``image_processing_minicpmv.py``,
read from a checkout of the repositories and commits ``tools/remote_code/minicpmv.py`` names; nothing of it is
kept) on images of each size and writes, per version and size, the patch grid of every image part the tower
gets (``tgt_sizes``: rows, columns) and the prompt tokens of the placeholder the processor writes for the image
(every tag, ``<unk>``, newline and image-id digit one token). Export venv (torch, transformers, PIL)::

    VENV/bin/python research/remote-code/minicpmv_processor_table.py \\
        --source-2.5 CHECKOUT_2_5 --source-2.6 CHECKOUT_2_6 --out tests/data/minicpmv_slices.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = {  # the commits tools/remote_code/minicpmv.py exports from
    "2.5": "287e3f85192a7c4acf2564fc6bda0637439a9d78",
    "2.6": "8490e5923eeebae2ef7163fc7bb39f5b66967272",
}
SETTINGS = {  # the released preprocessor_config.json values (research/remote-code/minicpmv-rules.md A.1)
    "2.5": {"max_slice_nums": 9, "scale_resolution": 448, "patch_size": 14, "image_feature_size": 96},
    "2.6": {"max_slice_nums": 9, "scale_resolution": 448, "patch_size": 14, "image_feature_size": 64,
            "use_image_id": True, "slice_mode": True},
}
SIZES = [(100, 100), (448, 448), (449, 449), (640, 480), (800, 600), (1014, 1014), (1024, 682), (1023, 683),
         (1280, 720), (1920, 1080), (336, 1344), (1344, 1344), (4000, 3000), (10000, 100), (100, 10000),
         (2000, 300), (300, 2000), (3279, 2800), (500, 2500), (1500, 1000), (700, 700), (896, 448)]
_TOKEN = re.compile(r"<[^>]+>|\n|\d|[^<\n\d]+")


def _read(source: Path, commit: str, path: str) -> str:
    if (source / path).is_file():
        return (source / path).read_text()
    return subprocess.run(["git", "--git-dir", str(source), "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _processor(source: Path, version: str):
    tmp = Path(tempfile.mkdtemp(prefix="minicpmv-proc-"))
    (tmp / "image_processing_minicpmv.py").write_text(_read(source, SOURCES[version], "image_processing_minicpmv.py"))
    spec = importlib.util.spec_from_file_location(f"minicpmv_proc_{version.replace('.', '_')}", tmp / "image_processing_minicpmv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MiniCPMVImageProcessor(**SETTINGS[version])


def main() -> int:
    import numpy as np
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-2.5", dest="s25", type=Path, required=True)
    parser.add_argument("--source-2.6", dest="s26", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    table = {"sources": SOURCES, "settings": SETTINGS, "cases": []}
    for version, source in (("2.5", args.s25), ("2.6", args.s26)):
        processor = _processor(source, version)
        for width, height in SIZES:
            image = Image.fromarray(np.zeros((height, width, 3), np.uint8))
            extra = {"max_slice_nums": None} if version == "2.6" else {}
            features = processor.preprocess([image], do_pad=True, return_tensors=None, **extra)
            tgt = [[int(v) for v in t] for t in features["tgt_sizes"][0]]
            placeholder = processor.get_slice_image_placeholder((width, height), **({"image_idx": 0} if version == "2.6" else {}))
            tokens = len(_TOKEN.findall(placeholder))
            table["cases"].append({"version": version, "width": width, "height": height, "tgt_sizes": tgt, "tokens": tokens})
            print(version, width, height, len(tgt), tgt[0], tgt[-1], tokens, file=sys.stderr)
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
