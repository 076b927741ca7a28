"""The ``ovmem`` command (also ``python cli.py`` from a checkout).

Subcommands: ``analyze`` (a model at a sequence length; the built-in demo model without a path),
``demo`` (the same on the demo model), ``dump`` (the annotated IR), ``compare-allocators`` (every
planner on one model's temporaries), ``measure`` (the real peak, in a fresh process), ``validate``
(estimate against measurement), ``list`` (passes, allocators), and the classic one-line
estimates ``llm``, ``vit`` and ``vlm`` (:mod:`ovmem.vlm.classic`).
Bad input prints one line on stderr and exits with 2 (usage) or 1 (model); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

import attrs

from ovmem.errors import OvmemError, UsageError
from ovmem.passes.states import KV_PRECISIONS

__all__ = ["main"]

DEMO_NAME = "built-in demo (Llama-style decoder, random weights)"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _add_model_options(p: argparse.ArgumentParser, *, with_path: bool = True) -> None:
    if with_path:
        p.add_argument("path", nargs="?", help="IR .xml or its folder (default: the built-in demo model)")
    p.add_argument("--seq-len", type=_positive_int, default=1024, help="tokens in this run (default 1024)")
    p.add_argument("--batch", type=_positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--past-len", type=_non_negative_int, default=0, help="tokens already cached (default 0: prefill)")
    p.add_argument(
        "--shape", action="append", default=[], metavar="NAME=D0,D1,...", help="explicit shape of an input (repeatable)"
    )
    p.add_argument(
        "--device", default="generic", help="what to model: generic (the graph as exported), CPU, or GPU (modelled, not validated)"
    )
    p.add_argument("--passes", default=None, metavar="SPEC", help='pass pipeline, e.g. "fold-weights,lifetime"')
    p.add_argument(
        "--disable", action="append", default=[], metavar="PASS[.RULE]", help="drop a pass or switch off one of its rules"
    )
    p.add_argument(
        "--inference-precision", choices=("bf16", "f16", "f32"), default=None, help="--device CPU: override the host's"
    )
    p.add_argument(
        "--threads", type=_positive_int, default=None,
        help="--device CPU: inference threads (default: the plugin's on this host); sizes the kernels' scratch",
    )  # fmt: skip
    p.add_argument("--kv-cache-precision", choices=KV_PRECISIONS, default=None, help="KV-cache element type")
    p.add_argument("--new-tokens", type=_non_negative_int, default=0, help="tokens generated after this run (KV cache)")
    p.add_argument(
        "--lift", choices=("graph", "runtime"), default="graph",
        help="analyse the model as exported (graph) or as the device's plugin compiled it (runtime; --device CPU)",
    )  # fmt: skip
    p.add_argument("--print-after-all", action="store_true", help="print the IR after every pass (stderr)")


def _path(args: argparse.Namespace) -> str | None:
    return getattr(args, "path", None)  # `demo` has none


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ovmem", description="How much memory an OpenVINO model needs, from its graph.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    analyze = sub.add_parser("analyze", help="memory of one run of a model at a sequence length")
    demo = sub.add_parser("demo", help="analyze the built-in demo model")
    for p, with_path in ((analyze, True), (demo, False)):
        _add_model_options(p, with_path=with_path)
        p.add_argument("--allocator", default=None, help="temporary-memory planner, NAME or NAME{option=value}")
        p.add_argument("--json", action="store_true", help="print one JSON object (bytes)")

    dump = sub.add_parser("dump", help="print the lifted IR with its analysis results")
    _add_model_options(dump)

    compare = sub.add_parser("compare-allocators", help="every allocator on one model's temporaries")
    _add_model_options(compare)
    compare.add_argument("--alignment", type=_positive_int, default=1, help="bytes (default 1; the CPU plugin uses 32)")
    compare.add_argument("--json", action="store_true")

    m = sub.add_parser(
        "measure", help="run the model for real and measure its peak memory (fresh process)",
        description="A model: read, compile, one inference. A VLM export folder (openvino_language_model.xml): "
        "the whole pipeline, every sub-model compiled, one image (--vision-seq or --image) and a prompt "
        "(--prompt-tokens), its prefill and one decode step.",
    )  # fmt: skip
    m.add_argument("path", help="IR .xml or its folder, or a VLM export folder")
    m.add_argument("--seq-len", type=_positive_int, default=None, help="tokens in this run (default 1024)")
    m.add_argument("--batch", type=_positive_int, default=None, help="batch size (default 1)")
    m.add_argument("--past-len", type=_non_negative_int, default=None, help="prefill this many tokens first")
    m.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    m.add_argument("--vision-seq", type=_positive_int, default=None, metavar="N", help="VLM: patches of the image")
    m.add_argument("--image", type=_image_size, default=None, metavar="WxH", help="VLM: the image size instead")
    m.add_argument("--prompt-tokens", type=_non_negative_int, default=None, help="VLM: text tokens (default 0)")
    m.add_argument("--device", default="CPU")
    m.add_argument("--property", action="append", default=[], metavar="KEY=VALUE", help="compile property")
    m.add_argument("--timeout", type=float, default=600, help="seconds (default 600)")
    m.add_argument("--json", action="store_true", help="print one JSON object (bytes)")

    v = sub.add_parser("validate", help="estimate vs measurement at one or more sequence lengths")
    v.add_argument("path", help="IR .xml or its folder")
    v.add_argument("--seq-len", type=_positive_int, nargs="+", default=[1024], help="one or more lengths")
    v.add_argument("--device", default="CPU", help="the device to model and to measure on (default CPU)")
    v.add_argument("--allocator", default=None, help="temporary-memory planner for the estimate")
    v.add_argument("--lift", choices=("graph", "runtime"), default="graph", help="what the estimate analyses (see analyze)")
    v.add_argument("--json", action="store_true", help="print one JSON object (bytes)")

    classic = {
        "llm": "the classic estimate_llm.py line: FOLDER at SEQ tokens",
        "vit": "the classic estimate_vit.py line: the vision encoder at SEQ patches",
        "vlm": "the classic estimate_vlm.py lines: vision encoder, language model, the whole pipeline",
    }
    for name, text in classic.items():
        c = sub.add_parser(name, help=text)
        c.add_argument("path", help="optimum-intel export folder (or an IR .xml)")
        c.add_argument("seq", nargs="?", type=_positive_int, help="tokens (llm) or vision patches (vit, vlm)")
        if name != "llm":
            c.add_argument("--image", type=_image_size, metavar="WxH", help="derive the vision sequence from an image size")
            c.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...", help="override a vision input")
        if name == "vlm":
            c.add_argument("--prompt-tokens", type=_non_negative_int, default=0, help="text tokens next to the image (default 0)")
        c.add_argument("--device", default="generic", help="what to model: generic, CPU or GPU")
        c.add_argument("--allocator", default=None, help="temporary-memory planner, NAME or NAME{option=value}")
        c.add_argument("--json", action="store_true", help="print one JSON object (bytes) instead of the lines")

    sub.add_parser("list", help="list the available passes and allocators")
    return parser


def _image_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}")
    return int(width), int(height)


def _run_classic(args: argparse.Namespace) -> int:
    from ovmem.ir.specialize import parse_shapes
    from ovmem.vlm import analyze_pipeline, detect_layout
    from ovmem.vlm.classic import llm_lines_of, vit_lines, vlm_lines

    if args.command == "llm":
        if args.seq is None:
            raise UsageError("llm: give the sequence length (tokens)")
        layout = detect_layout(args.path)
        if layout.is_vlm:  # a text-only prompt through the embeddings and the language model
            report = analyze_pipeline(args.path, prompt_tokens=args.seq, stages=("embeddings", "language"),
                                      device=args.device, allocator=args.allocator)  # fmt: skip
        else:
            import ovmem

            report = ovmem.analyze(layout.parts[0].xml, seq_len=args.seq, device=args.device, allocator=args.allocator)
        lines = llm_lines_of(report)
    else:
        stages = ("vision",) if args.command == "vit" else ("vision", "embeddings", "language", "other")
        report = analyze_pipeline(
            args.path, args.seq, image=args.image, prompt_tokens=getattr(args, "prompt_tokens", 0), stages=stages,
            device=args.device, allocator=args.allocator, shapes=parse_shapes(args.shape),
        )  # fmt: skip
        lines = vit_lines(report) if args.command == "vit" else vlm_lines(report)
    if args.json:
        print(json.dumps({"lines": lines, **report.to_dict()}, indent=2))
    else:
        print("\n".join(lines))
        notes = getattr(report, "notes", ()) or (() if report.validated else (f"device {report.device}: modelled, not validated",))
        for note in notes:
            print(f"# {note}")
    return 0


def _model(path: str | None):  # -> ov.Model | str
    if path is not None:
        return path
    from ovmem.models.llama import build_llama

    return build_llama()


def _pipeline(args: argparse.Namespace):
    from ovmem.devices import get_device
    from ovmem.passes import CpuRuntime, CpuScratch, PrintAfterInstrument, States, disable, parse_pipeline
    from ovmem.passes.fuse import Fuse, host_fuses_mlp

    instruments = [PrintAfterInstrument()] if args.print_after_all else []
    spec = get_device(args.device).pipeline_for(args.lift) if args.passes is None else args.passes
    pipeline = parse_pipeline(spec, instruments=instruments)
    options = {"new_tokens": args.new_tokens}
    if args.kv_cache_precision:
        options["precision"] = args.kv_cache_precision
    passes = [attrs.evolve(p, **options) if isinstance(p, States) else p for p in pipeline.passes]
    if args.inference_precision:  # fuse runs before cpu-runtime sets the precision: tell it too
        mlp = "on" if host_fuses_mlp(args.inference_precision) else "off"
        passes = [
            attrs.evolve(p, precision=args.inference_precision) if isinstance(p, CpuRuntime)
            else attrs.evolve(p, mlp=mlp) if isinstance(p, Fuse) and p.mlp == "auto"
            else p
            for p in passes
        ]  # fmt: skip
    if args.threads:
        passes = [attrs.evolve(p, threads=args.threads) if isinstance(p, CpuScratch) else p for p in passes]
    return disable(attrs.evolve(pipeline, passes=passes), args.disable)


def _run_analyze(args: argparse.Namespace) -> int:
    import ovmem
    from ovmem.ir.specialize import parse_shapes

    report = ovmem.analyze(
        _model(_path(args)),
        seq_len=args.seq_len,
        batch=args.batch,
        past_len=args.past_len,
        shapes=parse_shapes(args.shape),
        device=args.device,
        passes=_pipeline(args),
        allocator=args.allocator,
        lift_from=args.lift,
        properties=_properties(args),
    )
    if _path(args) is None:
        report = _renamed(report, DEMO_NAME)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(ovmem.format_report(report))
    return 0


def _renamed(report, name: str):
    return attrs.evolve(report, model=name)


def _properties(args: argparse.Namespace) -> dict[str, str]:
    """compile_model properties of a runtime lift: the overrides the plugin must apply itself."""
    properties = {"INFERENCE_PRECISION_HINT": args.inference_precision} if args.inference_precision else {}
    return properties | ({"INFERENCE_NUM_THREADS": str(args.threads)} if args.threads else {})


def _lift(args: argparse.Namespace):
    from ovmem.api import lift_model
    from ovmem.ir.specialize import parse_shapes

    return lift_model(
        _model(_path(args)),
        lift_from=args.lift,
        device=args.device,
        properties=_properties(args),
        seq_len=args.seq_len,
        batch=args.batch,
        past_len=args.past_len,
        shapes=parse_shapes(args.shape),
    )


def _run_dump(args: argparse.Namespace) -> int:
    graph = _pipeline(args)(_lift(args)).graph
    sys.stdout.write(graph.dump())
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from ovmem.alloc import lower_bound
    from ovmem.compare import compare_allocators
    from ovmem.report import temp_requests
    from ovmem.units import format_bytes

    graph = _pipeline(args)(_lift(args)).graph
    requests, _ = temp_requests(graph)
    runs = compare_allocators(requests, alignment=args.alignment)
    bound = lower_bound(requests, args.alignment)
    name = DEMO_NAME if _path(args) is None else graph.name
    if args.json:
        rows = [attrs.asdict(r) for r in runs]
        print(json.dumps({"model": name, "seq_len": args.seq_len, "requests": len(requests),
                          "alignment": args.alignment, "lower_bound_bytes": bound, "allocators": rows}, indent=2))  # fmt: skip
        return 0
    print(f"{name}: seq_len {args.seq_len}, {len(requests)} temporaries, lower bound {format_bytes(bound)}")
    print(f"  {'allocator':<20}{'peak':>12}  {'/ bound':>8}  {'time':>10}")
    for r in runs:
        if r.peak is None:
            print(f"  {r.allocator:<20}{'-':>12}  {'-':>8}  {'-':>10}   {r.note}")
        else:
            note = f"   {r.note}" if r.note else ""
            print(f"  {r.allocator:<20}{format_bytes(r.peak):>12}  {r.ratio:>8.3f}  {r.seconds * 1e3:>8.1f} ms{note}")
    return 0


def _run_measure(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ovmem.ir.specialize import parse_shapes
    from ovmem.measure import format_measurement, measure, parse_properties

    vlm_options = {"--vision-seq": args.vision_seq, "--image": args.image, "--prompt-tokens": args.prompt_tokens}
    if Path(args.path).is_dir() and (Path(args.path) / "openvino_language_model.xml").is_file():
        from ovmem.vlm.measure import format_pipeline_measurement, measure_pipeline

        llm_options = {"--seq-len": args.seq_len, "--batch": args.batch, "--past-len": args.past_len, "--shape": args.shape}
        given = [name for name, value in llm_options.items() if value]
        if given:
            raise UsageError(f"{', '.join(given)}: not for a VLM export; give --vision-seq N or --image WxH, and --prompt-tokens")
        if (args.vision_seq is None) == (args.image is None):
            raise UsageError("a VLM export: give --vision-seq N or --image WxH (one of them)")
        pipeline = measure_pipeline(
            args.path, args.vision_seq, image=args.image, prompt_tokens=args.prompt_tokens or 0, device=args.device,
            properties=parse_properties(args.property), timeout=args.timeout,
        )  # fmt: skip
        print(json.dumps(pipeline.to_dict(), indent=2) if args.json else format_pipeline_measurement(pipeline))
        return 0
    given = [name for name, value in vlm_options.items() if value is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: only for a VLM export folder (one with openvino_language_model.xml)")
    result = measure(
        args.path,
        seq_len=1024 if args.seq_len is None else args.seq_len,
        batch=1 if args.batch is None else args.batch,
        past_len=args.past_len or 0,
        device=args.device,
        properties=parse_properties(args.property),
        shapes=parse_shapes(args.shape),
        timeout=args.timeout,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_measurement(result))
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from ovmem.validate import format_validation, validate

    points = validate(args.path, args.seq_len, device=args.device, allocator=args.allocator, lift_from=args.lift)
    print(json.dumps([p.to_dict() for p in points], indent=2) if args.json else format_validation(points))
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from ovmem.alloc import available_allocators
    from ovmem.passes import available_passes

    print("passes:")
    for name, cls in available_passes().items():
        doc = (cls.__doc__ or "").strip().splitlines()
        print(f"  {name:<20}{doc[0] if doc else ''}")
    print("allocators:")
    for name in available_allocators():
        print(f"  {name}")
    return 0


_COMMANDS = {
    "analyze": _run_analyze,
    "demo": _run_analyze,
    "dump": _run_dump,
    "compare-allocators": _run_compare,
    "measure": _run_measure,
    "validate": _run_validate,
    "list": _run_list,
    "llm": _run_classic,
    "vit": _run_classic,
    "vlm": _run_classic,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="ovmem: %(levelname)s: %(message)s")
    try:
        args = _build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except OvmemError as exc:
        if debug:
            raise
        print(f"ovmem: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `ovmem ... | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("ovmem: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            raise
        print(f"ovmem: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
