#!/usr/bin/env python3
"""Estimate accuracy: ``ovmem.analyze`` against the measured peak RSS of real-width models.

    python bench/accuracy.py                                   # every /work/bigmodels/*/ export, seq 256 1024 4096
    python bench/accuracy.py --model /work/bigmodels/qwen2-0.5b-f16 --seq-len 256 1024
    python bench/accuracy.py --root DIR --json points.json     # the exports under DIR, raw points as JSON
    python bench/accuracy.py --device CPU --timeout 900

The models are the random-weight real-width exports of ``tools/export_fixtures.py --big --out
/work/bigmodels`` (not in the repository; export them first). For every model and sequence length it
runs ``ovmem.validate.validate(path, [seq], device=...)``: the estimate (``ovmem.analyze``) and one
measurement (``ovmem.measure``: read → compile → one inference in a fresh process, peak RSS above the
post-``import openvino`` baseline, anonymous + file-backed). A 4096-token point of Qwen2-0.5B f16 takes
~40 s; run nothing else heavy at the same time (the measurement is the process's own RSS, but a
starved machine slows it down and can push it into the timeout).

Prints one Markdown table (estimate, measured peak, error = (estimate - measured) / measured, the
estimate's parts next to the measurement's anon/file split at its peak), then the summary: median
|error|, max |error|, points within ±5 %, and the targets of the accuracy issue — every point within
±5 %, median |error| ≤ 2 % — as PASS/MISS. A point whose analysis or measurement fails is listed
with its error and counts as a miss. Exit status 0 when both targets pass, 1 otherwise, 2 on a usage
error.

``--device`` goes to ``validate``: the device the estimate models and the measurement runs on.
``--target T`` estimates for the CPU ``T`` (``ovmem analyze --target``); where ``T`` is a weaker ISA
than this host's, the measurement emulates it (``ovmem measure --emulate-target``: oneDNN capped
with ``ONEDNN_MAX_CPU_ISA`` and T's default inference precision), and the table's header says so::

    python bench/accuracy.py --target avx512 --seq-len 256 1024 4096
    python bench/accuracy.py --vlm --target avx512_bf16
``--timeout`` is the per-measurement limit of ``ovmem.measure``.

Vision-language pipelines (``--vlm``)::

    python bench/accuracy.py --vlm                             # every VLM export under --root, the family's images
    python bench/accuracy.py --vlm --model /work/bigmodels/llava-1.5-7b-2l-f16 --image 336x336 --prompt-tokens 32

The exports are the folders under ``--root`` with an ``openvino_language_model.xml`` (real-width,
reduced-depth random-weight exports of ``tools/export_fixtures.py``). For each, one or two realistic
image sizes of its family (:data:`VLM_IMAGES`; ``--image`` overrides) become a vision sequence as the
family's processor would cut them (``ovmem.vlm.vision.image_sequence``), and every point compares
``ovmem.vlm.analyze_pipeline(folder, N, prompt_tokens=P, device=...)`` with
``ovmem.vlm.measure.measure_pipeline`` (all sub-models compiled in one fresh process; the image, the
prefill over image + prompt tokens, one decode step; peak RSS over the whole run). The table has the
estimate's split (weights of every part, the largest vision part's working memory, the language
model's) next to the measured anon/file at the peak and the phase the measurement peaks in. Same targets and exit status as above.

Generation (``--new-tokens``): with the default runtime, the measurement goes on after the prompt with
``M`` decode steps of one token, as optimum-intel's ``generate`` feeds them, and the estimate is
``analyze(..., new_tokens=M)`` (the KV cache of ``N + M`` tokens, as the plugin grows it)::

    python bench/accuracy.py --seq-len 256 --new-tokens 128 1024 --lift graph

openvino.genai (``--runtime genai``)::

    python bench/accuracy.py --runtime genai --seq-len 256 1024 4096 --new-tokens 1 128

Every LLM export, each prompt length N and each number of generated tokens M: ``LLMPipeline`` in a
fresh process (``ovmem.genai_measure.measure_genai``, a generated tokenizer where the folder has
none) against ``ovmem.analyze(path, seq_len=N, device=..., runtime="genai", new_tokens=M,
tokenizer=...)`` with the tokenizer folder the measurement loaded.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ovmem.api import analyze  # noqa: E402
from ovmem.errors import OvmemError  # noqa: E402
from ovmem.measure import measure  # noqa: E402
from ovmem.target import emulated_isa  # noqa: E402
from ovmem.validate import ValidationPoint  # noqa: E402

DEFAULT_ROOT = Path("/work/bigmodels")
DEFAULT_SEQ_LENS = (256, 1024, 4096)
TARGET_EVERY = 0.05
"""Every point's |error| must be within this."""
TARGET_MEDIAN = 0.02
"""The median |error| must be at most this."""
MIB = 1 << 20


VLM_IMAGES = {
    "qwen2_vl": ((448, 448), (1024, 682)),
    "qwen2_5_vl": ((448, 448), (1024, 682)),
    "llava": ((336, 336),),
    "gemma3": ((896, 896),),
    "internvl_chat": ((448, 448), (1024, 682)),
    "minicpmv": ((448, 448), (1024, 682), (1920, 1080)),
}
"""Image sizes (width, height) measured per family: one image at the encoder's native size and, for
encoders that take more of a larger image (patch sequences, tiles, slices), photo-shaped ones
(1024×682 is the seed's example: 7 InternVL tiles, 5 MiniCPM-V parts of 1014 patches)."""
DEFAULT_VLM_IMAGE = (640, 480)
DEFAULT_PROMPT_TOKENS = 32


def find_models(root: Path) -> list[Path]:
    """Every export folder directly under ``root`` (one with an ``openvino_model.xml``), sorted by name."""
    return sorted(p.parent for p in root.glob("*/openvino_model.xml"))


def find_vlms(root: Path) -> list[Path]:
    """Every VLM export folder directly under ``root`` (one with an ``openvino_language_model.xml``)."""
    return sorted(p.parent for p in root.glob("*/openvino_language_model.xml"))


def run_vlm_point(path: Path, image: tuple[int, int], prompt: int, device: str, timeout: float, target: str) -> dict:
    """Estimate and measure one image + prompt through the pipeline; a row of the VLM table."""
    from ovmem.vlm import analyze_pipeline, detect_layout, image_sequence
    from ovmem.vlm.measure import measure_pipeline

    sequence = image_sequence(detect_layout(path), *image)
    estimate = analyze_pipeline(path, sequence, prompt_tokens=prompt, device=device, target=target)
    measurement = measure_pipeline(path, sequence, prompt_tokens=prompt, device=device, timeout=timeout,
                                   emulate_target=emulated_isa(target))  # fmt: skip
    measured = measurement.peak_rss_bytes
    return {
        "vision_sequence": sequence,
        "image_tokens": measurement.image_tokens,
        "estimate_image_tokens": estimate.image_tokens,
        "error": (estimate.total_bytes - measured) / measured if measured else float("nan"),
        "estimate": {
            **estimate.to_dict(),
            "vision_working_bytes": estimate.vision_working_bytes,
            "language_working_bytes": estimate.language_working_bytes,
        },
        "measurement": measurement.to_dict(),
    }


def vlm_table(rows: list[dict]) -> str:
    head = (
        "| model | image | vision seq | tokens | estimate MiB | measured MiB | error | est. weights | est. vision working "
        "| est. LM working | meas. anon | meas. file | meas. peak phase | time s |"
    )
    lines = [head, "|" + "|".join(["---", "---"] + ["---:"] * (head.count("|") - 3)) + "|"]
    for r in rows:
        image = "x".join(map(str, r["image"]))
        if "error_message" in r:
            lines.append(f"| {r['model']} | {image} | – | – | – | – | **failed** | {r['error_message']} |" + "  |" * 5
                         + f" {r['seconds']:.1f} |")  # fmt: skip
            continue
        e, m = r["estimate"], r["measurement"]
        tokens = f"{m['image_tokens']} + {m['prompt_tokens']}"
        if r["estimate_image_tokens"] != r["image_tokens"]:
            tokens += f" (est. {r['estimate_image_tokens']})"
        lines.append(
            f"| {r['model']} | {image} | {r['vision_sequence']} | {tokens} | {mib(e['total_bytes'])} "
            f"| {mib(m['peak_rss_bytes'])} | {r['error']:+.1%} | {mib(e['weights_bytes'])} "
            f"| {mib(e['vision_working_bytes'])} | {mib(e['language_working_bytes'])} "
            f"| {mib(m['anon_at_peak'])} | {mib(m['file_at_peak'])} | {m['peak_phase']} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main_vlm(args, parser) -> int:
    """``--vlm``: the pipeline points (see the module docstring)."""
    import openvino

    from ovmem.vlm import detect_layout

    models = args.model or find_vlms(args.root)
    if not models:
        parser.error(f"no */openvino_language_model.xml under {args.root}; pass --model DIR")
    started = time.perf_counter()
    rows: list[dict] = []
    for path in models:
        name = path.name
        try:
            family = detect_layout(path).model_type
        except OvmemError as exc:  # measured anyway: the point reports the error
            family = None
            print(f"[accuracy] {name}: {exc}", file=sys.stderr, flush=True)
        images = args.image or list(VLM_IMAGES.get(family, (DEFAULT_VLM_IMAGE,)))
        for image in images:
            t0 = time.perf_counter()
            label = "x".join(map(str, image))
            print(f"[accuracy] {name} image {label} + {args.prompt_tokens} tokens ...", file=sys.stderr, flush=True)
            try:
                row = {"model": name, "path": str(path), "image": list(image), "prompt_tokens": args.prompt_tokens,
                       **run_vlm_point(path, image, args.prompt_tokens, args.device, args.timeout, args.target)}  # fmt: skip
            except OvmemError as exc:
                row = {"model": name, "path": str(path), "image": list(image), "error_message": str(exc).splitlines()[0]}
                print(f"[accuracy]   failed: {row['error_message']}", file=sys.stderr, flush=True)
            else:
                report_point(row["estimate"]["total_bytes"], row["measurement"]["peak_rss_bytes"], row["error"])
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
    elapsed = time.perf_counter() - started

    devices = sorted({r["estimate"]["device"] for r in rows if "estimate" in r})
    print(
        f"ovmem vlm estimate (device {', '.join(devices) or '?'}, {_target_line(args.target)}) vs measured pipeline "
        f"peak RSS on {args.device}, "
        f"OpenVINO {openvino.__version__}; {args.prompt_tokens} prompt tokens; sizes in MiB, "
        "error = (estimate - measured) / measured\n"
    )
    print(vlm_table(rows))
    print()
    lines, ok = summary(rows)
    print("\n".join(lines))
    print(f"\n{len(rows)} point(s) in {elapsed:.0f} s")
    if args.json:
        write_points(args.json, args.device, elapsed, rows)
    return 0 if ok else 1


def _image(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}")
    return int(width), int(height)


def _target_line(target: str) -> str:
    from ovmem.target import get_target

    shown = emulated_isa(target)
    how = f"measured emulating {shown} (ONEDNN_MAX_CPU_ISA={get_target(target).isa.onednn})" if shown else "measured on it"
    return f"target {get_target(target).label}, {how}"


def run_point(
    path: Path, seq: int, device: str, timeout: float, lifts: list[str], target: str, new_tokens: int = 0
) -> list[ValidationPoint]:
    """One measurement (a prompt of ``seq`` tokens, then ``new_tokens`` decode steps), and an estimate for
    each way of lifting the model (the first is the primary)."""
    measurement = measure(path, seq_len=seq, device=device, timeout=timeout, emulate_target=emulated_isa(target),
                          new_tokens=new_tokens)  # fmt: skip
    return [
        ValidationPoint(seq, analyze(path, seq_len=seq, device=device, lift_from=lift, target=target,
                                     new_tokens=new_tokens), measurement)  # fmt: skip
        for lift in lifts
    ]


def run_genai_point(
    path: Path, seq: int, new_tokens: int, device: str, timeout: float, target: str = "host"
) -> ValidationPoint:
    """openvino_genai.LLMPipeline measured against ``analyze(..., runtime="genai")``."""
    from ovmem.genai_measure import measure_genai

    measurement = measure_genai(path, seq, new_tokens, device=device, timeout=timeout, emulate_target=emulated_isa(target))
    estimate = analyze(path, seq_len=seq, device=device, runtime="genai", new_tokens=new_tokens,
                       tokenizer=measurement.tokenizer_dir, target=target)  # fmt: skip
    return ValidationPoint(seq, estimate, measurement)


def write_points(path: Path, device: str, seconds: float, rows: list[dict]) -> None:
    """The raw points as JSON, with the command and versions that produced them."""
    import openvino

    data = {
        "command": [sys.executable, *sys.argv],
        "device": device,
        "openvino_version": openvino.__version__,
        "python": platform.python_version(),
        "seconds": seconds,
        "points": rows,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def mib(n: int) -> str:
    return f"{n / MIB:,.1f}"


def report_point(estimate: int, measured: int, error: float, more: str = "") -> None:
    """One finished point on stderr, while the run goes on."""
    print(f"[accuracy]   estimate {mib(estimate)} MiB, measured {mib(measured)} MiB, error {error:+.1%}{more}",
          file=sys.stderr, flush=True)  # fmt: skip


def markdown_table(rows: list[dict], others: list[str]) -> str:
    extra = "".join(f" {lift} lift MiB | error |" for lift in others)
    head = (
        "| model | seq | estimate MiB | measured MiB | error |" + extra + " est. weights | est. KV | est. io | est. temp "
        "| meas. anon | meas. file | time s |"
    )
    lines = [head, "|" + "|".join(["---"] + ["---:"] * (head.count("|") - 2)) + "|"]
    for r in rows:
        if "error_message" in r:
            lines.append(
                f"| {r['model']} | {r['seq_len']} | – | – | **failed** | {r['error_message']} |"
                + "  |" * (5 + 2 * len(others)) + f" {r['seconds']:.1f} |"
            )
            continue
        e, m = r["estimate"], r["measurement"]
        extra = "".join(f" {mib(r['also'][lift]['total_bytes'])} | {r['also'][lift]['error']:+.1%} |" for lift in others)
        lines.append(
            f"| {r['model']} | {r['seq_len']} | {mib(e['total_bytes'])} | {mib(m['peak_rss_bytes'])} "
            f"| {r['error']:+.1%} |{extra} {mib(e['weights_bytes'])} | {mib(e['state_bytes'])} | {mib(e['io_bytes'])} "
            f"| {mib(e['temp_peak_bytes'])} | {mib(m['anon_at_peak'])} | {mib(m['file_at_peak'])} "
            f"| {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict], lift: str | None = None) -> tuple[list[str], bool]:
    """Error statistics and the targets, of the primary estimate or of the ``lift`` one."""
    errors = [abs(r["error"] if lift is None else r["also"][lift]["error"]) for r in rows if "error_message" not in r]
    failed = len(rows) - len(errors)
    lines = []
    if errors:
        within = sum(1 for e in errors if e <= TARGET_EVERY)
        median, worst = statistics.median(errors), max(errors)
        lines += [
            f"- points: {len(rows)} ({failed} failed)" if failed else f"- points: {len(rows)}",
            f"- median |error|: {median:.1%}",
            f"- max |error|: {worst:.1%}",
            f"- within ±{TARGET_EVERY:.0%}: {within} of {len(rows)}",
        ]
        every_ok = within == len(rows)
        median_ok = median <= TARGET_MEDIAN and not failed
    else:
        lines.append(f"- points: {len(rows)}, all failed")
        every_ok = median_ok = False
    lines += [
        "",
        f"- target: every point within ±{TARGET_EVERY:.0%}: **{'PASS' if every_ok else 'MISS'}**",
        f"- target: median |error| ≤ {TARGET_MEDIAN:.0%}: **{'PASS' if median_ok else 'MISS'}**"
        + (" (failed points)" if failed and errors else ""),
    ]
    return lines, every_ok and median_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ovmem estimate vs measured peak RSS (see module docstring).")
    parser.add_argument(
        "--model",
        action="append",
        type=Path,
        metavar="DIR",
        help="an export folder (or .xml); repeatable (default: every */openvino_model.xml under --root)",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"where to look by default ({DEFAULT_ROOT})")
    parser.add_argument(
        "--seq-len", nargs="+", type=int, default=list(DEFAULT_SEQ_LENS), metavar="N", help="default: 256 1024 4096"
    )
    parser.add_argument("--device", default="CPU", help="device of the measurement (passed to validate; CPU)")
    parser.add_argument(
        "--lift", nargs="+", choices=("graph", "runtime"), default=["graph", "runtime"],
        help="what the estimates analyse, each against the same measurement; the first is the primary (default: both)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the raw points (bytes, seconds) here")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds per measurement before it is killed (default 600)"
    )
    parser.add_argument(
        "--vlm", action="store_true",
        help="vision-language pipelines: every */openvino_language_model.xml under --root (or --model DIR)",
    )  # fmt: skip
    parser.add_argument(
        "--image", action="append", type=_image, metavar="WxH", help="--vlm: image size (repeatable; default: the family's)"
    )
    parser.add_argument(
        "--prompt-tokens", type=int, default=DEFAULT_PROMPT_TOKENS,
        help=f"--vlm: text tokens next to the image (default {DEFAULT_PROMPT_TOKENS})",
    )  # fmt: skip
    parser.add_argument(
        "--runtime", choices=("ov", "genai"), default="ov",
        help="ov: the compiled model as optimum runs it (ovmem measure); genai: openvino_genai.LLMPipeline "
        "(ovmem measure --runtime genai) against analyze --runtime genai",
    )  # fmt: skip
    parser.add_argument(
        "--new-tokens", nargs="+", type=int, default=None, metavar="M",
        help="tokens generated: genai's max_new_tokens (default 1); ov: decode steps after the prompt, as optimum's "
        "generate feeds them (default 0: the prompt's inference alone)"
    )
    parser.add_argument(
        "--target", default="host",
        help="the CPU to estimate for (an ISA level or family of `ovmem analyze --target`); a weaker ISA than this "
        "host's is measured by emulation (ovmem measure --emulate-target), a runtime lift is then skipped",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if emulated_isa(args.target):
        args.lift = ["graph"]  # a runtime lift compiles on the host as it is
    if args.runtime == "genai":
        args.lift = ["graph"]  # genai compiles its own graph; the estimate emulates it
    if args.vlm:
        if args.prompt_tokens < 0:
            parser.error("--prompt-tokens must be >= 0")
        return main_vlm(args, parser)
    if args.image:
        parser.error("--image is for --vlm")

    models = args.model or find_models(args.root)
    if not models:
        parser.error(
            f"no */openvino_model.xml under {args.root}; pass --model DIR "
            "or export some with tools/export_fixtures.py --big"
        )
    if any(n < 1 for n in args.seq_len):
        parser.error("--seq-len values must be positive")

    import openvino

    started = time.perf_counter()
    rows: list[dict] = []
    generated = args.new_tokens or ([1] if args.runtime == "genai" else [0])
    for path, seq, new_tokens in ((p, n, m) for p in models for n in args.seq_len for m in generated):
        name = path.parent.name if path.suffix == ".xml" else path.name
        if new_tokens:
            name = f"{name} +{new_tokens}"
        t0 = time.perf_counter()
        print(f"[accuracy] {name} seq {seq} ...", file=sys.stderr, flush=True)
        try:
            if args.runtime == "ov":
                point, *others = run_point(path, seq, args.device, args.timeout, args.lift, args.target, new_tokens)
            else:
                point, others = run_genai_point(path, seq, new_tokens, args.device, args.timeout, args.target), []
        except OvmemError as exc:  # one failed point does not stop the run
            row = {"model": name, "path": str(path), "seq_len": seq, "error_message": str(exc).splitlines()[0]}
            print(f"[accuracy]   failed: {row['error_message']}", file=sys.stderr, flush=True)
        else:
            row = {"model": name, "path": str(path), **point.to_dict()}
            row["also"] = {
                lift: {"total_bytes": p.estimate.total_bytes, "error": p.error, "estimate": p.estimate.to_dict()}
                for lift, p in zip(args.lift[1:], others)
            }
            more = "".join(f"; {lift} lift {p.error:+.1%}" for lift, p in zip(args.lift[1:], others))
            report_point(point.estimate.total_bytes, point.measurement.peak_rss_bytes, point.error, more)
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    elapsed = time.perf_counter() - started

    devices = sorted({r["estimate"]["device"] for r in rows if "estimate" in r})
    print(
        f"ovmem estimate (device {', '.join(devices) or '?'}, {_target_line(args.target)}) vs measured peak RSS on "
        f"{args.device}, "
        f"OpenVINO {openvino.__version__}; sizes in MiB, error = (estimate - measured) / measured\n"
    )
    print(markdown_table(rows, args.lift[1:]))
    print()
    lines, ok = summary(rows)
    print(f"{args.lift[0]} lift (primary):")
    print("\n".join(lines))
    for lift in args.lift[1:]:
        print(f"\n{lift} lift:")
        print("\n".join(summary(rows, lift)[0]))
    print(f"\n{len(rows)} point(s) in {elapsed:.0f} s")

    if args.json:
        write_points(args.json, args.device, elapsed, rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
