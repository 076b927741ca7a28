"""The ``ovmem`` command (also ``python cli.py`` from a checkout).

Subcommands: ``analyze`` (a model at a sequence length; the built-in demo model without a path),
``demo`` (the same on the demo model), ``dump`` (the annotated IR), ``compare-allocators`` (every
planner on one model's temporaries), ``measure`` (the real peak, in a fresh process), ``validate``
(estimate against measurement), ``list`` (passes, allocators), the classic one-line
estimates ``llm``, ``vit`` and ``vlm`` (:mod:`ovmem.vlm.classic`), ``sweep`` (every part against
the sequence length) and ``whatif`` (changes side by side); ``--budget`` on ``analyze``, ``llm``,
``vlm`` and ``sweep`` finds the longest sequence that fits. Every command but ``dump`` prints JSON
with ``--json`` (``docs/json.md``).
Bad input prints one line on stderr and exits with 2 (usage) or 1 (model); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from ovmem.errors import OvmemError, UsageError
from ovmem.ir.types import KV_PRECISIONS

__all__ = ["main"]

DEMO_NAME = "built-in demo (Llama-style decoder, random weights)"


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (unless it says it already, or has none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == [] or not action.option_strings:
            return text
        return f"{text} (default: {default})" if text else f"default: {default}"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2, and shows defaults in --help."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _runtime(text: str) -> str:
    from ovmem.genai import RUNTIMES

    if text not in RUNTIMES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(RUNTIMES)}, got {text!r}")
    return text


def _bounded_int(text: str, low: int) -> int:
    from ovmem.ir.specialize import MAX_DIMENSION

    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= MAX_DIMENSION:
        raise argparse.ArgumentTypeError(f"expected an integer from {low} to {MAX_DIMENSION}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _bounded_int(text, 1)


def _non_negative_int(text: str) -> int:
    return _bounded_int(text, 0)


REMOTE_HELP = "or remote: hf://OWNER/REPO[@REVISION][/SUBFOLDER] or an http(s):// URL of either"


def _add_model_options(p: argparse.ArgumentParser, *, with_path: bool = True) -> None:
    if with_path:
        p.add_argument("path", nargs="?", help=f"IR .xml or its folder, {REMOTE_HELP} (default: the built-in demo model)")
        _add_remote_options(p)
    p.add_argument("--seq-len", type=_positive_int, default=1024, help="tokens in this run (default 1024)")
    p.add_argument("--batch", type=_positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--past-len", type=_non_negative_int, default=0, help="tokens already cached (default 0: prefill)")
    p.add_argument(
        "--shape", action="append", default=[], metavar="NAME=D0,D1,...", help="explicit shape of an input (repeatable)"
    )
    _add_device_options(p)
    p.add_argument(
        "--passes", default=None, metavar="SPEC",
        help='pass pipeline, e.g. "fold-weights,placement,lifetime" (default: the device\'s; `ovmem list`)',
    )  # fmt: skip
    p.add_argument(
        "--disable", action="append", default=[], metavar="PASS[.RULE]", help="drop a pass or switch off one of its rules"
    )
    p.add_argument(
        "--inference-precision", choices=("bf16", "f16", "f32"), default=None,
        help="CPU: the activations' precision (default: the target's)",
    )  # fmt: skip
    p.add_argument(
        "--kv-cache-precision", choices=KV_PRECISIONS, default=None,
        help="KV-cache element type (default: the model's rt_info hint, else the device's: u8 on CPU)",
    )  # fmt: skip
    p.add_argument("--new-tokens", type=_non_negative_int, default=0, help="tokens generated after this run (KV cache)")
    p.add_argument(
        "--lift", choices=("graph", "runtime"), default="graph",
        help="analyse the model as exported (graph) or as the device's plugin compiled it (runtime: CPU, on this host)",
    )  # fmt: skip
    p.add_argument("--print-after-all", action="store_true", help="print the IR after every pass (stderr)")
    p.add_argument(
        "--runtime", type=_runtime, default="ov", metavar="{ov,genai}",
        help="ov: the compiled model as given, as optimum-intel runs it (default); genai: openvino.genai's "
        "LLMPipeline (last-token LM head, no attention mask, paged KV cache; --new-tokens = max_new_tokens)",
    )  # fmt: skip


def _add_remote_options(p: argparse.ArgumentParser) -> None:
    """A remote model is read from its .xml and the few constants the analysis reads (ovmem.remote)."""
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="remote models: how long one request may wait for an answer (default 30)")
    p.add_argument("--refresh", action="store_true", help="remote models: list the source again, not the cached copy")
    p.add_argument("--full-download", action="store_true",
                   help="remote models: fetch the whole .bin files (for servers without HTTP Range requests)")
    p.add_argument("--weights-from", default=None, metavar="URL",
                   help="a local .xml without its .bin: read the constants the analysis needs from this URL of the .bin")
    p.add_argument("--no-cache", action="store_true",
                   help="analyse afresh (lift the model, probe the host), reading and writing nothing in ovmem's cache")


def _add_device_options(p: argparse.ArgumentParser) -> None:
    from ovmem.config import DEFAULT_DEVICE

    p.add_argument(
        "--device", default=DEFAULT_DEVICE,
        help="what to model: CPU (OpenVINO's CPU plugin, validated), generic (the graph as exported, no "
        "plugin), or GPU (modelled, not validated)",
    )  # fmt: skip
    p.add_argument(
        "--target", default="host", metavar="CPU",
        help="CPU: the processor that will run the model: host (detected, the default), an ISA level (avx2, "
        "avx2_vnni, avx2_vnni_2, avx512, avx512_bf16, amx, amx_fp16) or a family (alder-lake, meteor-lake, "
        "lunar-lake, arrow-lake, cascade-lake, ice-lake-sp, cooper-lake, sapphire-rapids, granite-rapids, "
        "sierra-forest, zen3, zen4, zen5; `ovmem list` shows each)",
    )  # fmt: skip
    p.add_argument(
        "--threads", type=_positive_int, default=None,
        help="CPU: inference threads on the target (default: the target's); sizes the kernels' scratch and the runtime",
    )  # fmt: skip


def _add_tokenizer_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tokenizer", metavar="DIR", default=None,
        help="--runtime genai: the folder of openvino_tokenizer.xml/openvino_detokenizer.xml genai loads "
        "(default: the model's folder)",
    )  # fmt: skip


def _add_explain_options(p: argparse.ArgumentParser, explain_help: str) -> None:
    p.add_argument("--explain", type=_non_negative_int, default=None, metavar="N", help=explain_help)
    p.add_argument(
        "--plot", default=None, metavar="FILE", help="draw the memory timeline into FILE.png or FILE.svg (needs matplotlib)"
    )


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
        _add_tokenizer_option(p)
        p.add_argument("--allocator", default=None, help="temporary-memory planner, NAME or NAME{option=value} (default: the device's)")
        p.add_argument("--json", action="store_true", help="print one JSON object (bytes)")
        _add_explain_options(p, "list the N largest tensors live at the peak and the per-layer table (0: no explanation; "
                             "default: the 5 largest, no table)")
        _add_budget_option(p, "the longest --seq-len that fits in SIZE; with --seq-len, whether that one fits")
        p.set_defaults(seq_len=_Unset(1024))  # --budget asks a different question without --seq-len

    dump = sub.add_parser("dump", help="print the lifted IR with its analysis results")
    _add_model_options(dump)
    dump.add_argument("--buffers", default=None, metavar="FILE.csv",
                      help="write the temporaries' lifetimes and sizes as a MiniMalloc CSV instead (docs/allocators.md)")

    compare = sub.add_parser("compare-allocators", help="every allocator on one model's temporaries, or on a CSV of buffers")
    _add_model_options(compare)
    compare.add_argument("--requests", default=None, metavar="FILE.csv",
                         help="plan the buffers of a MiniMalloc CSV (id,lower,upper,size) instead of a model's")
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
    m.add_argument("--device", default="CPU", help="the OpenVINO device to run on")
    m.add_argument("--property", action="append", default=[], metavar="KEY=VALUE", help="compile property")
    m.add_argument(
        "--emulate-target", default=None, metavar="ISA",
        help="run as on a weaker CPU (an ISA level or family of --target): oneDNN capped with ONEDNN_MAX_CPU_ISA and "
        "the target's default inference precision; an emulation (the plugin's own CPUID checks are not capped)",
    )  # fmt: skip
    m.add_argument("--timeout", type=float, default=600, help="seconds (default 600)")
    m.add_argument("--json", action="store_true", help="print one JSON object (bytes; it has the peak above the "
                   "baseline and the baseline)")
    m.add_argument(
        "--include-baseline", action="store_true",
        help="headline the process's whole peak: the baseline (Python and import openvino, which an estimate leaves "
        "out) included",
    )  # fmt: skip
    m.add_argument(
        "--runtime", choices=("ov", "genai"), default="ov",
        help="ov: compile and infer the IR as optimum does (default); genai: openvino_genai.LLMPipeline, a prompt "
        "of --seq-len tokens and --new-tokens generated (pip install 'ovmem[genai]')",
    )  # fmt: skip
    m.add_argument("--new-tokens", type=_positive_int, default=None,
                   help="genai: tokens to generate (default 1); ov: decode steps of one token after the inference, "
                   "measured with it (default 0)")  # fmt: skip

    v = sub.add_parser("validate", help="estimate vs measurement at one or more sequence lengths")
    v.add_argument("path", help="IR .xml or its folder")
    v.add_argument("--seq-len", type=_positive_int, nargs="+", default=[1024], help="one or more lengths")
    v.add_argument("--device", default="CPU", help="the device to model and to measure on (default CPU)")
    v.add_argument(
        "--target", default="host", metavar="CPU",
        help="the CPU to estimate for (see analyze); a weaker ISA than this host's is measured by emulation (default host)",
    )  # fmt: skip
    v.add_argument("--allocator", default=None, help="temporary-memory planner for the estimate (default: the device's)")
    v.add_argument("--lift", choices=("graph", "runtime"), default="graph", help="what the estimate analyses (see analyze)")
    v.add_argument("--json", action="store_true", help="print one JSON object (bytes)")

    classic = {
        "llm": "the classic estimate_llm.py line: FOLDER at SEQ tokens",
        "vit": "the classic estimate_vit.py line: the vision encoder at SEQ patches",
        "vlm": "the classic estimate_vlm.py lines: vision encoder, language model, the whole pipeline",
    }
    for name, text in classic.items():
        c = sub.add_parser(name, help=text)
        c.add_argument("path", help=f"optimum-intel export folder (or an IR .xml), {REMOTE_HELP}")
        _add_remote_options(c)
        c.add_argument("seq", nargs="?", type=_positive_int, help="tokens (llm) or vision patches (vit, vlm)")
        if name != "llm":
            c.add_argument("--image", type=_image_size, metavar="WxH", help="derive the vision sequence from an image size")
            c.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...", help="override a vision input")
        if name != "vit":
            _add_tokenizer_option(c)
        if name == "vlm":
            c.add_argument("--prompt-tokens", type=_non_negative_int, default=0, help="text tokens next to the image (default 0)")
        _add_device_options(c)
        if name == "llm":
            c.add_argument(
                "--runtime", type=_runtime, default=None, metavar="{ov,genai}",
                help="who runs the model: genai (openvino.genai's LLMPipeline, the default) or ov (the compiled "
                "model as optimum-intel runs it); a VLM export: a text-only prompt through VLMPipeline's models",
            )  # fmt: skip
        else:
            c.add_argument(
                "--runtime", type=_runtime, default="genai", metavar="{ov,genai}",
                help="who runs the pipeline: genai (openvino.genai's VLMPipeline, the default) or ov (optimum-intel); "
                "it changes the language model, not the vision encoder",
            )  # fmt: skip
        if name == "llm":
            c.add_argument("--new-tokens", type=_non_negative_int, default=0, help="tokens generated (KV cache; default 0)")
        c.add_argument("--allocator", default=None, help="temporary-memory planner, NAME or NAME{option=value} (default: the device's)")
        c.add_argument("--json", action="store_true", help="print one JSON object (bytes) instead of the lines")
        _add_explain_options(c, "explain the peak of the sub-model with the largest working memory: N tensors and the layers "
                             "(default: no explanation)")
        if name == "llm":
            _add_budget_option(c, "the most tokens that fit in SIZE; with SEQ, whether SEQ tokens fit")
        elif name == "vlm":
            _add_budget_option(c, "the most --prompt-tokens next to the image that fit in SIZE; with --prompt-tokens, whether they fit")
            c.set_defaults(prompt_tokens=_Unset(0))

    _add_sweep_parsers(sub)
    cache = sub.add_parser("cache", help="what ovmem keeps between runs: lifted graphs, answers, the host probe, remote models")
    cache.add_argument("action", choices=("list", "clear"))
    cache.add_argument("--json", action="store_true", help="list: print one JSON object")
    listing = sub.add_parser("list", help="list the available passes and allocators")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
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

    if getattr(args, "budget", None) is not None:
        return _run_classic_budget(args)
    _check_plot(args)
    if args.command == "llm":
        if args.seq is None:
            raise UsageError("llm: give the sequence length (tokens)")
        args.runtime = args.runtime or "genai"
        layout = detect_layout(args.path)
        if layout.is_vlm:  # a text-only prompt through the embeddings and the language model
            report = analyze_pipeline(args.path, prompt_tokens=args.seq, stages=("embeddings", "language"),
                                      config=_run_config(args))  # fmt: skip
        else:
            import ovmem

            report = ovmem.analyze(layout.parts[0].xml, seq_len=args.seq, config=_run_config(args))
        lines = llm_lines_of(report)
    else:
        stages = ("vision",) if args.command == "vit" else ("vision", "embeddings", "language", "other")
        report = analyze_pipeline(
            args.path, args.seq, image=args.image, prompt_tokens=getattr(args, "prompt_tokens", 0), stages=stages,
            shapes=parse_shapes(args.shape), config=_run_config(args),
        )  # fmt: skip
        lines = vit_lines(report) if args.command == "vit" else vlm_lines(report)
    explanation = _explanation(report, args, default=0)
    if args.json:
        _print_json({"lines": lines, **report.to_dict(), **_explain_dict(explanation)}, args)
    else:
        print("\n".join(lines))
        from ovmem.report import run_label

        print(f"# {run_label(report)}")
        notes = getattr(report, "notes", ()) or (() if report.validated else (f"device {report.device}: modelled, not validated",))
        for note in notes:
            print(f"# {note}")
        if explanation:
            from ovmem.explain import format_explanation

            print(format_explanation(explanation, verbose=True, named=True))
    _plot(report, args)
    return 0


def _check_plot(args: argparse.Namespace) -> None:
    if args.plot:  # before the analysis: a missing matplotlib or a bad name fails at once
        from ovmem.plot import check_plot_path

        check_plot_path(args.plot)


def _explanation(report, args: argparse.Namespace, default: int):  # -> PeakExplanation | None
    """``--explain N`` (``default`` tensors without it; 0: none) of the report, or of a pipeline's
    sub-model with the largest working memory."""
    top = default if args.explain is None else args.explain
    if not top:
        return None
    from ovmem.explain import explain_peak, peak_part

    return explain_peak(peak_part(report), top=top)


def _explain_dict(explanation) -> dict:
    return {"explain": explanation.to_dict()} if explanation else {}


def _plot(report, args: argparse.Namespace) -> None:
    if args.plot:
        from ovmem.explain import peak_part
        from ovmem.plot import plot_timeline

        plot_timeline(peak_part(report), args.plot)
        print(f"ovmem: wrote {args.plot}", file=sys.stderr)


def _model(path: str | None):  # -> ov.Model | str
    if path is not None:
        return path
    from ovmem.models.llama import build_llama

    return build_llama()


def _run_config(args: argparse.Namespace):  # -> RunConfig
    """The run the command's options describe (:class:`ovmem.config.RunConfig`)."""
    from ovmem.config import RunConfig

    options = {"device": args.device, "target": args.target, "threads": args.threads}
    for name in ("runtime", "allocator", "tokenizer", "passes", "inference_precision", "kv_cache_precision"):
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    if getattr(args, "new_tokens", None):
        options["new_tokens"] = args.new_tokens
    if getattr(args, "disable", None):
        options["disable"] = tuple(args.disable)
    if getattr(args, "lift", "graph") != "graph":
        options["lift_from"] = args.lift
    return RunConfig.create(**options)


def _instruments(args: argparse.Namespace) -> list:
    from ovmem.passes import PrintAfterInstrument

    return [PrintAfterInstrument()] if args.print_after_all else []


def _run_analyze(args: argparse.Namespace) -> int:
    import ovmem
    from ovmem.ir.specialize import parse_shapes

    if args.budget is not None:
        return _run_budget(args)
    _check_plot(args)
    report = ovmem.analyze(
        _model(_path(args)),
        seq_len=args.seq_len,
        batch=args.batch,
        past_len=args.past_len,
        shapes=parse_shapes(args.shape),
        config=_run_config(args),
        instruments=_instruments(args),
        progress=_progress("ovmem analyze", args),
    )
    if _path(args) is None:
        report = _renamed(report, DEMO_NAME)
    explanation = _explanation(report, args, default=5)
    if args.json:
        _print_json({**report.to_dict(), **_explain_dict(explanation)}, args)
    else:
        print(ovmem.format_report(report))
        if explanation:
            from ovmem.explain import format_explanation

            print(format_explanation(explanation, verbose=args.explain is not None))
    _plot(report, args)
    return 0


def _renamed(report, name: str):
    return attrs.evolve(report, model=name)


def _annotated(args: argparse.Namespace):  # -> Graph
    """The lifted graph after the passes (``dump`` and ``compare-allocators``)."""
    from ovmem.api import build_pipeline, lift_model, run_pipeline
    from ovmem.ir.specialize import parse_shapes

    config = _run_config(args)
    graph = lift_model(
        _model(_path(args)), config, seq_len=args.seq_len, batch=args.batch, past_len=args.past_len,
        shapes=parse_shapes(args.shape),
    )  # fmt: skip
    return run_pipeline(graph, build_pipeline(config, instruments=_instruments(args)), config)


def _run_dump(args: argparse.Namespace) -> int:
    graph = _annotated(args)
    if args.buffers is None:
        sys.stdout.write(graph.dump())
        return 0
    from ovmem.alloc.requests_csv import write_requests
    from ovmem.report import temp_requests

    requests, buffers = temp_requests(graph)
    try:
        write_requests(args.buffers, requests, [b.root.name for b in buffers])
    except OSError as exc:
        raise UsageError(f"{args.buffers}: cannot write ({exc.strerror or exc})") from None
    print(f"ovmem: wrote {len(requests)} temporaries of {graph.name} at seq_len {args.seq_len} to {args.buffers}",
          file=sys.stderr)  # fmt: skip
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from ovmem.alloc import lower_bound
    from ovmem.compare import compare_allocators
    from ovmem.devices import get_device
    from ovmem.report import temp_requests
    from ovmem.units import format_bytes

    capacity = None
    if args.requests is not None:
        from ovmem.alloc.requests_csv import capacity_in_name, read_requests

        if _path(args) is not None:
            raise UsageError("compare-allocators: give a model or --requests FILE.csv, not both")
        requests, name, capacity = read_requests(args.requests), args.requests, capacity_in_name(args.requests)
    else:
        graph = _annotated(args)
        requests, _ = temp_requests(graph)
        name = DEMO_NAME if _path(args) is None else graph.name
    runs = compare_allocators(requests, alignment=args.alignment)
    bound = lower_bound(requests, args.alignment)
    if args.json:
        rows = [attrs.asdict(r) for r in runs]
        where = {"requests_file": name, "capacity_bytes": capacity} if args.requests else {"model": name, "seq_len": args.seq_len}
        _print_json({"schema_version": _schema_version(), **where, "requests": len(requests), "alignment": args.alignment,
                     "lower_bound_bytes": bound, "allocators": rows}, args)  # fmt: skip
        return 0
    if args.requests is not None:
        named = f", capacity {format_bytes(capacity)} (in the file name)" if capacity else ""
        print(f"{name}: {len(requests)} buffers, lower bound {format_bytes(bound)}{named}")
    else:
        config = _run_config(args)
        run = f"device {config.device}" + (f" | target {config.cpu.label} | {config.precision} activations"
                                           if get_device(config.device).targeted else "")  # fmt: skip
        print(f"{name}: seq_len {args.seq_len}, {len(requests)} temporaries, lower bound {format_bytes(bound)} | {run}")
    print(f"  {'allocator':<20}{'peak':>12}  {'/ bound':>8}  {'time':>10}")
    for r in runs:
        if r.peak is None:
            print(f"  {r.allocator:<20}{'-':>12}  {'-':>8}  {'-':>10}   {r.note}")
        else:
            over = ["over the capacity"] if capacity and r.peak > capacity else []
            note = "".join(f"   {n}" for n in [r.note, *over] if n)
            print(f"  {r.allocator:<20}{format_bytes(r.peak):>12}  {r.ratio:>8.3f}  {r.seconds * 1e3:>8.1f} ms{note}")
    return 0


def _run_measure(args: argparse.Namespace) -> int:
    from ovmem.ir.specialize import parse_shapes
    from ovmem.measure import format_measurement, measure, parse_properties

    vlm_options = {"--vision-seq": args.vision_seq, "--image": args.image, "--prompt-tokens": args.prompt_tokens}
    if args.runtime == "genai":
        return _run_measure_genai(args, vlm_options)
    if Path(args.path).is_dir() and (Path(args.path) / "openvino_language_model.xml").is_file():
        if args.new_tokens is not None:
            raise UsageError("--new-tokens: not for a VLM export with --runtime ov (one decode step is measured)")
        from ovmem.vlm.measure import format_pipeline_measurement, measure_pipeline

        llm_options = {"--seq-len": args.seq_len, "--batch": args.batch, "--past-len": args.past_len, "--shape": args.shape}
        given = [name for name, value in llm_options.items() if value]
        if given:
            raise UsageError(f"{', '.join(given)}: not for a VLM export; give --vision-seq N or --image WxH, and --prompt-tokens")
        if (args.vision_seq is None) == (args.image is None):
            raise UsageError("a VLM export: give --vision-seq N or --image WxH (one of them)")
        pipeline = measure_pipeline(
            args.path, args.vision_seq, image=args.image, prompt_tokens=args.prompt_tokens or 0, device=args.device,
            properties=parse_properties(args.property), timeout=args.timeout, emulate_target=args.emulate_target,
        )  # fmt: skip
        text = format_pipeline_measurement(pipeline, args.include_baseline)
        print(json.dumps(pipeline.to_dict(), indent=2) if args.json else text)
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
        emulate_target=args.emulate_target,
        new_tokens=args.new_tokens or 0,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_measurement(result, args.include_baseline))
    return 0


def _run_measure_genai(args: argparse.Namespace, vlm_options: dict) -> int:
    from ovmem.genai_measure import format_genai_measurement, measure_genai
    from ovmem.measure import parse_properties
    from ovmem.vlm import detect_layout

    if detect_layout(args.path).is_vlm:  # VLMPipeline: one image and a prompt of --prompt-tokens words
        from ovmem.vlm.genai_measure import format_vlm_genai_measurement, measure_genai_vlm

        others = {"--seq-len": args.seq_len, "--vision-seq": vlm_options["--vision-seq"], "--batch": args.batch,
                  "--past-len": args.past_len, "--shape": args.shape or None}  # fmt: skip
        given = [name for name, value in others.items() if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: not for VLMPipeline (it takes --image, --prompt-tokens, --new-tokens)")
        words = vlm_options["--prompt-tokens"]
        result = measure_genai_vlm(
            args.path, 32 if words is None else words, args.new_tokens or 1, image=args.image, device=args.device,
            properties=parse_properties(args.property), timeout=args.timeout, emulate_target=args.emulate_target,
        )  # fmt: skip
        text = format_vlm_genai_measurement(result, args.include_baseline)
        print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else text)
        return 0
    others = {"--batch": args.batch, "--past-len": args.past_len, "--shape": args.shape or None, **vlm_options}
    given = [name for name, value in others.items() if value is not None]
    if given:
        raise UsageError(f"{', '.join(given)}: not with --runtime genai (it takes --seq-len, --new-tokens, --property)")
    result = measure_genai(
        args.path, 1024 if args.seq_len is None else args.seq_len, args.new_tokens or 1, device=args.device,
        properties=parse_properties(args.property), timeout=args.timeout, emulate_target=args.emulate_target,
    )  # fmt: skip
    text = format_genai_measurement(result, args.include_baseline)
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else text)
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from ovmem.validate import format_validation, validate

    points = validate(args.path, args.seq_len, device=args.device, target=args.target, allocator=args.allocator,
                      lift_from=args.lift)  # fmt: skip
    data = {"schema_version": _schema_version(), "points": [p.to_dict() for p in points]}
    print(json.dumps(data, indent=2) if args.json else format_validation(points))
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from ovmem.cache import cache_root, clear, usage
    from ovmem.remote.cache import entries as remote_entries
    from ovmem.units import format_bytes

    if args.action == "clear":
        removed = clear()
        what = ", ".join(f"{n} {kind}" for kind, n in removed.items()) or "nothing"
        print(f"removed {what} from {cache_root()}")
        return 0
    entries, kinds = remote_entries(), usage()
    if args.json:
        print(json.dumps({"schema_version": _schema_version(), "cache": str(cache_root()), "kinds": kinds,
                          "remote": entries}, indent=2))  # fmt: skip
        return 0
    print(f"{cache_root()}: " + (", ".join(f"{kind} {u['entries']} ({format_bytes(u['disk_bytes'])})"
                                          for kind, u in kinds.items()) or "empty"))  # fmt: skip
    for e in entries:
        revision = f" @ {e['revision'][:12]}" if e.get("revision") else ""
        print(f"  {e['source']}{revision}: {format_bytes(e['disk_bytes'])} on disk, fetched {e['created'][:19]}Z "
              f"({format_bytes(e['fetched']['bytes'])} in {e['fetched']['requests']} requests)")
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from ovmem.alloc import available_allocators
    from ovmem.passes import available_passes
    from ovmem.target import ISAS, PRESETS, available_targets, get_target

    if args.json:
        passes = {name: ((cls.__doc__ or "").strip().splitlines() or [""])[0] for name, cls in available_passes().items()}
        print(json.dumps({"schema_version": _schema_version(), "passes": passes, "allocators": list(available_allocators()),
                          "targets": available_targets()}, indent=2))  # fmt: skip
        return 0
    print("passes:")
    for name, cls in available_passes().items():
        doc = (cls.__doc__ or "").strip().splitlines()
        print(f"  {name:<20}{doc[0] if doc else ''}")
    print("allocators:")
    for name in available_allocators():
        print(f"  {name}")
    print("targets (--target; host is detected):")
    for name, isa in ISAS.items():
        print(f"  {name:<20}{isa.precision} activations; {isa.summary}")
    for name, preset in PRESETS.items():
        cache = get_target(name).core_cache // 1024
        print(f"  {name:<20}{preset.isa}, {preset.threads} threads, {cache} KiB L1d+L2 per core: {preset.family}")
    return 0


# --- sweeps, budgets and what-ifs: ovmem.sweeps, ovmem.budget, ovmem.scenarios ---


class _Unset(int):
    """A default the user did not type: ``--budget`` without ``--seq-len`` asks for the longest."""


def _size(text: str) -> int:
    from ovmem.units import parse_bytes

    try:
        return parse_bytes(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _lengths(text: str) -> list[int]:
    from ovmem.sweeps import parse_lengths

    try:
        return parse_lengths(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_budget_option(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--budget", type=_size, default=None, metavar="SIZE", help=f"{text} (8GiB, 512MiB, 8G; 8GB = 8e9 bytes)")


def _add_sweep_parsers(sub) -> None:
    s = sub.add_parser(
        "sweep", conflict_handler="resolve", help="every part of the memory against the sequence length",
        description="Analyse a model at many sequence lengths (everything else fixed): a table of every part, "
        "--plot to draw it, --budget for the longest length that fits. --kind llm / vlm analyse as "
        "`ovmem llm` / `ovmem vlm` do (for vlm the lengths are the prompt tokens next to the image).",
    )  # fmt: skip
    _add_model_options(s)
    s.add_argument(
        "--seq-len", type=_lengths, required=True, metavar="RANGE",
        help="256:32768:x2 (doubling), 256:4096:+256 (steps) or 256,1024,4096; --kind vlm: prompt tokens",
    )  # fmt: skip
    s.add_argument("--allocator", default=None, help="temporary-memory planner, NAME or NAME{option=value} (default: the device's)")
    s.add_argument(
        "--kind", choices=("auto", "model", "llm", "vlm"), default="auto",
        help="what to analyse (default: vlm for a VLM export folder, else the model)",
    )  # fmt: skip
    s.add_argument("--image", type=_image_size, default=None, metavar="WxH", help="--kind vlm: the image")
    s.add_argument("--vision-seq", type=_positive_int, default=None, metavar="N", help="--kind vlm: patches instead")
    _add_budget_option(s, "also the longest length that fits in SIZE")
    s.add_argument("--plot", default=None, metavar="FILE", help="draw the sweep into FILE.png or FILE.svg (needs matplotlib)")
    s.add_argument(
        "--relift", action="store_true",
        help="reshape with OpenVINO at every length (default: reuse the lifted graph where its shapes are affine in the length)",
    )  # fmt: skip
    s.add_argument("--json", action="store_true", help="print one JSON object (bytes)")

    w = sub.add_parser(
        "whatif", help="one model under several changes, side by side with the baseline",
        description="The baseline is the model with the options given; each --vs changes some of them: "
        "kv-cache-precision=, allocator=, disable=PASS[.RULE], passes=, device=, inference-precision=, "
        "new-tokens=, threads=, seq-len=, past-len=, batch=, lift= (several in one --vs with ';').",
    )  # fmt: skip
    _add_model_options(w)
    w.add_argument("--allocator", default=None, help="the baseline's temporary-memory planner (default: the device's)")
    w.add_argument(
        "--vs", action="append", required=True, metavar="KEY=VALUE[;KEY=VALUE]",
        help='a scenario against the baseline, e.g. "kv-cache-precision=u4" (repeatable)',
    )  # fmt: skip
    w.add_argument("--json", action="store_true", help="print one JSON object (bytes)")


def _schema_version() -> int:
    from ovmem.report import SCHEMA_VERSION

    return SCHEMA_VERSION


def _progress(label: str, args: argparse.Namespace | None = None):  # -> Progress
    """A status line on stderr if it is a terminal (not with --print-after-all, which writes there)."""
    from ovmem.progress import Progress

    return Progress() if getattr(args, "print_after_all", False) else Progress.for_stderr(label)


def _analysis_options(args: argparse.Namespace) -> dict:
    """``analyze``'s model options (all but the path and the length), as :func:`ovmem.analyze` keywords."""
    from ovmem.ir.specialize import parse_shapes

    config = attrs.asdict(_run_config(args), recurse=False)
    config["properties"] = dict(config["properties"])
    return {"batch": args.batch, "past_len": args.past_len, "shapes": parse_shapes(args.shape), **config}


def _pipeline_kind_options(args: argparse.Namespace) -> dict:
    """What ``sweep --kind llm|vlm`` takes of the model options: what ``ovmem llm`` / ``vlm`` take."""
    from ovmem.ir.specialize import parse_shapes

    given = [
        flag for flag, value, default in (
            ("--batch", args.batch, 1), ("--past-len", args.past_len, 0), ("--passes", args.passes, None),
            ("--disable", args.disable, []), ("--inference-precision", args.inference_precision, None),
            ("--kv-cache-precision", args.kv_cache_precision, None),
            ("--new-tokens", args.new_tokens, 0), ("--lift", args.lift, "graph"),
            ("--print-after-all", args.print_after_all, False), ("--shape", args.shape if args.kind == "llm" else [], []),
        ) if value != default
    ]  # fmt: skip
    if given:
        raise UsageError(
            f"{', '.join(given)}: not for --kind {args.kind} (it takes --device, --target, --threads, --allocator, "
            "--runtime and, for vlm, --shape)"
        )
    options = {"device": args.device, "target": args.target, "threads": args.threads, "allocator": args.allocator,
               "runtime": args.runtime}  # fmt: skip
    if args.shape:
        options["shapes"] = parse_shapes(args.shape)
    return options


def _print_json(data: dict, args: argparse.Namespace) -> None:
    """One JSON object; for a remote model with what fetching it cost (``remote``)."""
    if getattr(args, "remote", None) is not None:
        data = {**data, "remote": args.remote.to_dict()}
    print(json.dumps(data, indent=2))


def _run_sweep(args: argparse.Namespace) -> int:
    from ovmem.budget import format_limit, max_seq_len
    from ovmem.sweeps import format_sweep, sweep

    path = _path(args)
    if args.kind == "auto":
        from ovmem.vlm import detect_layout

        args.kind = "vlm" if path is not None and detect_layout(path).is_vlm else "model"
    if args.kind == "model":
        if args.image is not None or args.vision_seq is not None:
            raise UsageError("--image, --vision-seq: only with --kind vlm")
        options = _analysis_options(args)
    else:
        if path is None:
            raise UsageError(f"--kind {args.kind}: give the export folder")
        options = _pipeline_kind_options(args)
    if args.plot:  # before the analyses: a missing matplotlib, a bad name or a pipeline fail at once
        from ovmem.plot import check_plot_path

        check_plot_path(args.plot)
    model, name = _model(path), DEMO_NAME if path is None else None
    variables = {"image": args.image, "vision_sequence": args.vision_seq, "kind": args.kind, "name": name}
    result = sweep(model, args.seq_len, reuse_shapes=not args.relift, progress=_progress("ovmem sweep", args),
                   **variables, **options)  # fmt: skip
    answer = None
    if args.budget is not None:
        answer = max_seq_len(model, args.budget, reuse_shapes=not args.relift, progress=_progress("ovmem budget", args),
                             **variables, **options)  # fmt: skip
    if args.json:
        _print_json({**result.to_dict(), **({"budget": answer.to_dict()} if answer else {})}, args)
    else:
        print(format_sweep(result, args.budget))
        if answer:
            print(format_limit(answer))
    if args.plot:
        from ovmem.plot import plot_sweep

        plot_sweep(result.pairs(), args.plot, title=f"{result.model}: memory against the sequence length")
        print(f"ovmem: wrote {args.plot}", file=sys.stderr)
    return 0


def _reject_explain(args: argparse.Namespace) -> None:
    given = [flag for flag, value in (("--explain", getattr(args, "explain", None)), ("--plot", getattr(args, "plot", None)))
             if value is not None]  # fmt: skip
    if given:
        raise UsageError(f"{', '.join(given)}: not with --budget (they explain one analysis; drop --budget)")


def _run_budget(args: argparse.Namespace) -> int:
    from ovmem.budget import fits, format_fit, format_limit, max_seq_len

    _reject_explain(args)
    path = _path(args)
    options = {**_analysis_options(args), "name": DEMO_NAME if path is None else None}
    if isinstance(args.seq_len, _Unset):
        answer = max_seq_len(_model(path), args.budget, progress=_progress("ovmem budget", args), **options)
        return _print_answer(args, answer, format_limit)
    return _print_answer(args, fits(_model(path), args.budget, seq_len=int(args.seq_len), **options), format_fit)


def _print_answer(args: argparse.Namespace, answer, formatter) -> int:
    """A budget answer as JSON or as text; the exit code."""
    if args.json:
        _print_json(answer.to_dict(), args)
    else:
        print(formatter(answer))
    return 0


def _run_classic_budget(args: argparse.Namespace) -> int:
    from ovmem.budget import fits, format_fit, format_limit, max_seq_len
    from ovmem.ir.specialize import parse_shapes
    from ovmem.vlm import detect_layout

    _reject_explain(args)
    options = {"device": args.device, "target": args.target, "threads": args.threads, "allocator": args.allocator,
               "kind": args.command}  # fmt: skip
    if args.command == "llm" and (args.runtime or "genai") == "genai" and not detect_layout(args.path).is_vlm:
        options.update(runtime="genai", new_tokens=args.new_tokens or None, tokenizer=args.tokenizer)
    elif args.command == "llm" and args.new_tokens:
        options["new_tokens"] = args.new_tokens
    if args.command == "vlm":
        options.update(image=args.image, vision_sequence=args.seq, runtime=args.runtime)
        if args.shape:
            options["shapes"] = parse_shapes(args.shape)
        length = None if isinstance(args.prompt_tokens, _Unset) else int(args.prompt_tokens)
    else:
        length = args.seq
    if length is None:
        return _print_answer(args, max_seq_len(args.path, args.budget, progress=_progress("ovmem budget"), **options), format_limit)
    return _print_answer(args, fits(args.path, args.budget, seq_len=length, **options), format_fit)


def _run_whatif(args: argparse.Namespace) -> int:
    from ovmem.scenarios import format_whatif, whatif

    path = _path(args)
    result = whatif(
        _model(path), args.vs, seq_len=int(args.seq_len), progress=_progress("ovmem whatif", args),
        name=DEMO_NAME if path is None else None, **_analysis_options(args),
    )  # fmt: skip
    if args.json:
        _print_json(result.to_dict(), args)
    else:
        print(format_whatif(result))
    return 0


_COMMANDS = {
    "analyze": _run_analyze,
    "demo": _run_analyze,
    "dump": _run_dump,
    "compare-allocators": _run_compare,
    "measure": _run_measure,
    "validate": _run_validate,
    "list": _run_list,
    "cache": _run_cache,
    "llm": _run_classic,
    "vit": _run_classic,
    "vlm": _run_classic,
    "sweep": _run_sweep,
    "whatif": _run_whatif,
}


def _fetch_remote(args: argparse.Namespace):  # -> RemoteModel | None
    """A remote model (or a local .xml with --weights-from) fetched into ovmem's cache; ``args.path`` then names
    the local copy, which every command analyses as it would a local model."""
    from ovmem.remote.source import is_remote

    path, weights = getattr(args, "path", None), getattr(args, "weights_from", None)
    if is_remote(path) and args.command in ("measure", "validate"):
        raise UsageError(f"{path}: {args.command} runs the model, so it needs the weights: download the model first "
                         "(e.g. `hf download OWNER/REPO --local-dir DIR`) and pass DIR")  # fmt: skip
    if not (is_remote(path) or weights):
        if path is not None and not Path(path).exists():  # said before the host probe imports OpenVINO
            raise UsageError(f"{path}: no such file or folder")
        return None
    from ovmem.remote import DEFAULT_TIMEOUT, fetch_model, fetch_weights

    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if weights:
        if path is None or is_remote(path):
            raise UsageError("--weights-from needs a local .xml (or its folder) whose .bin it names")
        model = fetch_weights(path, weights, timeout=timeout)
    else:
        model = fetch_model(path, timeout=timeout, refresh=args.refresh, full_download=args.full_download)
    args.path = str(model.path)
    return model


@contextlib.contextmanager
def _no_cache(on: bool):
    """``--no-cache``: ``OVMEM_NO_CACHE=1`` (:mod:`ovmem.cache`) while the command runs."""
    if not on:
        yield
        return
    previous = os.environ.get("OVMEM_NO_CACHE")
    os.environ["OVMEM_NO_CACHE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["OVMEM_NO_CACHE"]
        else:
            os.environ["OVMEM_NO_CACHE"] = previous


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    # A lifted graph is tens of thousands of small objects: at the default threshold (700) the cyclic
    # collector runs through them every few hundred allocations, about a third of a sweep's time.
    # Collecting a hundred times less often still frees a dropped graph's cycles (bench/speed.py).
    gc.set_threshold(70_000, 10, 10)
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="ovmem: %(levelname)s: %(message)s")
    try:
        args = _build_parser().parse_args(argv)
        with _no_cache(getattr(args, "no_cache", False)):
            from ovmem import replay

            key = replay.key_for(argv, args)
            if key is not None and replay.replay(key):
                return 0
            with replay.recording(key) as run:
                args.remote = _fetch_remote(args)
                code = _COMMANDS[args.command](args)
                run.succeeded = code == 0
        if args.remote is not None and not getattr(args, "json", False):
            print(args.remote.summary())
        return code
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
