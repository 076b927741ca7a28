"""``ovmem vlm --runtime genai`` against openvino.genai's VLMPipeline: one fresh process per export
(:func:`ovmem.vlm.genai_measure.measure_genai_vlm`), the estimate at the tokens genai processed.

    python bench/vlm_genai.py --root /work/bigmodels --words 256 --new-tokens 8
    python bench/vlm_genai.py --models internvl2.5-4b-2l minicpm-v-2.6-2l   # some families only

Each export runs with the images of its family that ``bench/accuracy.py --vlm`` measures (``VLM_IMAGES``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accuracy import VLM_IMAGES

from ovmem.vlm import analyze_pipeline, detect_layout
from ovmem.vlm.genai_measure import measure_genai_vlm

MODELS = ("qwen2.5-vl-3b-2l", "llava-1.5-7b-2l", "gemma-3-4b-2l", "internvl2.5-4b-2l", "minicpm-v-2.6-2l")
MIB = 2**20


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--root", default="/work/bigmodels")
    p.add_argument("--words", type=int, default=256)
    p.add_argument("--new-tokens", type=int, default=8)
    p.add_argument("--jsonl", default=None, help="append the raw points here")
    p.add_argument("--models", nargs="+", default=MODELS, help=f"export names without -f16/-int4 (default: {' '.join(MODELS)})")
    args = p.parse_args()
    print("| model | image | input tokens | M | estimate genai MiB | estimate ov MiB | measured MiB | error (genai) | meas. anon + file | loaded |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        for quant in ("f16", "int4"):
            folder = Path(args.root) / f"{name}-{quant}"
            if not folder.is_dir():
                continue
            for image in VLM_IMAGES.get(detect_layout(folder).model_type, (None,)):
                point(folder, image, args)


def point(folder: Path, image: tuple[int, int] | None, args: argparse.Namespace) -> None:
    m = measure_genai_vlm(folder, args.words, args.new_tokens, image=image)
    est = {}
    for runtime in ("genai", "ov"):
        probe = analyze_pipeline(folder, image=m.image, prompt_tokens=1, stages=("vision",), device="CPU", runtime=runtime)
        prompt = m.input_tokens - probe.image_tokens  # the words and the image tags around the image
        est[runtime] = analyze_pipeline(
            folder, image=m.image, prompt_tokens=prompt, device="CPU", runtime=runtime, tokenizer=m.tokenizer_dir
        )
    e, o = est["genai"].total_bytes, est["ov"].total_bytes
    print(
        f"| {folder.name} | {m.image[0]}x{m.image[1]} | {m.input_tokens} | {m.new_tokens} | {e / MIB:,.0f} | "
        f"{o / MIB:,.0f} | {m.peak_rss_bytes / MIB:,.0f} | {(e - m.peak_rss_bytes) / m.peak_rss_bytes:+.1%} | "
        f"{m.peak_anon_bytes / MIB:,.0f} + {m.peak_file_bytes / MIB:,.0f} | {m.loaded_rss_bytes / MIB:,.0f} |",
        flush=True,
    )
    if args.jsonl:
        with open(args.jsonl, "a") as f:
            f.write(json.dumps({"measured": m.to_dict(), "estimate_genai": e, "estimate_ov": o}) + "\n")


if __name__ == "__main__":
    main()
