"""``ovmem vlm --runtime genai`` against openvino.genai's VLMPipeline: one fresh process per export
(:func:`ovmem.vlm.genai_measure.measure_genai_vlm`), the estimate at the tokens genai processed.

    python bench/vlm_genai.py --root /work/bigmodels --words 256 --new-tokens 8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ovmem.vlm import analyze_pipeline
from ovmem.vlm.genai_measure import measure_genai_vlm

MODELS = ("qwen2.5-vl-3b-2l", "llava-1.5-7b-2l", "gemma-3-4b-2l")
MIB = 2**20


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--root", default="/work/bigmodels")
    p.add_argument("--words", type=int, default=256)
    p.add_argument("--new-tokens", type=int, default=8)
    p.add_argument("--jsonl", default=None, help="append the raw points here")
    args = p.parse_args()
    print("| model | image | input tokens | M | estimate genai MiB | estimate ov MiB | measured MiB | error (genai) | meas. anon + file | loaded |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in MODELS:
        for quant in ("f16", "int4"):
            folder = Path(args.root) / f"{name}-{quant}"
            if not folder.is_dir():
                continue
            m = measure_genai_vlm(folder, args.words, args.new_tokens)
            est = {}
            for runtime in ("genai", "ov"):
                probe = analyze_pipeline(folder, image=m.image, prompt_tokens=1, stages=("vision",), device="CPU")
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
