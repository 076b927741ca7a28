"""Measure the resident memory the OpenVINO CPU plugin itself takes, against threads, ISA and op count.

Every point runs read_model -> compile_model -> one inference in a fresh child process, exactly as
``ovmem.measure`` does it (the child reuses that module's sampler and input maker, loaded by path, so
the numbers are comparable), and adds what ``measure()`` does not report:

* RSS snapshots at each stage (plugin loaded, read, compiled, request created, inference done) and the
  peak of each stage alone (sampler windows);
* the number of threads in ``/proc/self/task`` at each stage (minus the sampler thread);
* the per-mapping RSS change from ``/proc/self/smaps`` (which library's code pages came in, anon);
* after the sampler is stopped (so not in the peak): the op count and the ``primitiveType`` /
  ``runtimePrecision`` of every node of ``compiled.get_runtime_model()``, the compiled properties.

Groups (``--groups``, in this order by default; the most informative first):

* ``A``: INFERENCE_NUM_THREADS in 1, 2, 4, 8, 16 for tiny-qwen2-f16 at seq 1 and 64 and a one-op Add,
  at the default precision (bf16 on this AMX machine) and at f32.
* ``C``: build_llama decoders at hidden 64 with 1..32 layers, seq 1 and 16, in three series: the
  optimum-like graph (one-input Swish, fused to LLMMLP) at 2 threads; the unfused-MLP graph
  (``swish_beta=True``) at 2 threads and at 1 thread (the fused graph crashes at 1 thread); and the
  fused graph with its weight Converts marked ``decompression`` (as the IR frontend marks a real
  export's; build_llama's are not, so the plugin folds them to f32 copies) at 2 threads.
* ``E``: weights at a fixed op count: 16-layer decoders at hidden 32, 64, 128, 256 (unmarked and
  decompression-marked weight Converts), 2 threads, seq 1: bytes of RSS per byte of .bin.
* ``B``: ONEDNN_MAX_CPU_ISA in AVX2, AVX512_CORE, AVX512_CORE_BF16, AVX512_CORE_AMX (+ unset) with the
  precision that ISA defaults to (f32 / f32 / bf16 / bf16), the A models, 2 threads; plus the same
  ISAs with no precision hint (to see what the plugin picks by itself).
* ``D``: a 24-layer build_llama (hidden 64, vocab 256), same three series as C.
* ``W``: two Qwen2-0.5B-wide layers (hidden 896, MLP 4864; vocab 256) at 1 and 2 threads: whether the
  per-thread cost grows with the matmul widths (scratchpads) where the tiny models cannot show it.
* ``R``: real tiny exports (tests/fixtures) at 2 threads, seq 1 and 16: a check of the fit.

Every point is repeated ``--reps`` times; the repetitions are interleaved (rep 0 of every point, then
rep 1, ...) so slow drift of the machine does not land on one point. One JSON line per measurement goes
to ``results.jsonl`` (``--out``).

Usage (from the repository root)::

    .venv/bin/python research/cpu-runtime/probe.py                 # everything, ~10 min
    .venv/bin/python research/cpu-runtime/probe.py --groups A --reps 3 --out /tmp/a.jsonl
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = REPO / "tests" / "fixtures"
MODELS_DIR = Path("/tmp/ovmem-cpu-runtime/models")
TAG = "CPU-RUNTIME-PROBE "

THREADS = (1, 2, 4, 8, 16)
ISAS = ("AVX2", "AVX512_CORE", "AVX512_CORE_BF16", "AVX512_CORE_AMX")
ISA_PRECISION = {"AVX2": "f32", "AVX512_CORE": "f32", "AVX512_CORE_BF16": "bf16", "AVX512_CORE_AMX": "bf16"}
LAYERS = (1, 2, 4, 8, 16, 32)
TINY = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_heads=4, num_kv_heads=2, head_dim=16,
            swish_beta=False)  # swish_beta=False: the one-input Swish optimum exports


def ovmem_source(ref: str) -> Path:
    """Where to import ovmem from: the working tree (``ref == "worktree"``) or a read-only snapshot of
    the git ``ref`` (``git archive``, into /tmp): the working tree is being edited by others while
    this runs, so by default the probe pins the committed ``ovmem/measure.py`` and ``models/llama.py``."""
    if ref == "worktree":
        return REPO
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", ref], capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = Path(f"/tmp/ovmem-cpu-runtime/src-{sha[:12]}")
    if not (dest / "ovmem" / "measure.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "ovmem"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


MEASURE_PY: Path = REPO / "ovmem" / "measure.py"  # set by main() from --ovmem


# --- models --------------------------------------------------------------------------------------


def one_op_model() -> Path:
    """A single Add of two [1,64] f32 inputs (no weights)."""
    import openvino as ov
    import openvino.opset13 as ops

    xml = MODELS_DIR / "one-add" / "openvino_model.xml"
    if not xml.exists():
        a = ops.parameter([1, 64], ov.Type.f32, name="a")
        b = ops.parameter([1, 64], ov.Type.f32, name="b")
        model = ov.Model([ops.result(ops.add(a, b, name="add"))], [a, b], "one-add")
        xml.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(model, xml, compress_to_fp16=False)
    return xml


def llama_name(layers: int, swish_beta: bool = False, marked: bool = False, hidden: int = 64) -> str:
    return f"llama-h{hidden}-L{layers}" + ("-beta" if swish_beta else "") + ("-dq" if marked else "")


def tiny_dims(hidden: int = 64) -> dict:
    """TINY at another width: MLP 2x hidden, 4 heads of hidden/4, 2 KV heads (op count unchanged)."""
    return dict(TINY, hidden_size=hidden, intermediate_size=2 * hidden, head_dim=hidden // 4)


_CONVERT_F16 = re.compile(
    r'(<layer id="\d+" name="[^"]*" type="Convert" version="opset1">\s*<data destination_type="f32" />)'
    r'(\s*<input>\s*<port id="0" precision="FP16")')


def mark_decompression(xml: Path) -> int:
    """Give every f16->f32 Convert the ``decompression`` rt_info that the IR frontend of a real export
    carries (build_llama does not set it). Without it the CPU plugin constant-folds each weight to an
    f32 copy at compile time (docs/cpu-plugin-notes.md rows 1.5/1.7); with it, the weight stays f16
    and is repacked once. Returns the number of Converts marked."""
    text = xml.read_text()
    text, n = _CONVERT_F16.subn(
        r'\1\n\t\t\t<rt_info>\n\t\t\t\t<attribute name="decompression" version="0" />\n\t\t\t</rt_info>\2', text)
    xml.write_text(text)
    return n


def llama_model(layers: int, swish_beta: bool = False, marked: bool = False, hidden: int = 64) -> Path:
    """build_llama at tiny width with ``layers`` layers, saved once under /tmp. ``swish_beta=False`` is the
    one-input Swish optimum exports (the plugin fuses the MLP into ``LLMMLP``); ``True`` keeps the MLP
    unfused (needed at 1 thread: see RESULTS.md, LLMMLP + bf16/AMX at 1 thread dies with SIGFPE).
    ``marked``: weight Converts carry the ``decompression`` mark as in real exports."""
    import openvino as ov

    from ovmem.models.llama import LlamaConfig, build_llama

    xml = MODELS_DIR / llama_name(layers, swish_beta, marked, hidden) / "openvino_model.xml"
    if not xml.exists():
        model = build_llama(LlamaConfig(num_layers=layers, **dict(tiny_dims(hidden), swish_beta=swish_beta)))
        xml.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(model, xml, compress_to_fp16=False)
        if marked and not mark_decompression(xml):
            raise SystemExit(f"{xml}: no f16 Convert found to mark")
    return xml


WIDE = dict(vocab_size=256, hidden_size=896, intermediate_size=4864, num_heads=14, num_kv_heads=2, head_dim=64)
"""Qwen2-0.5B's layer widths (vocab kept tiny): do per-thread buffers grow with the width of the matmuls?"""


def wide_model(swish_beta: bool) -> Path:
    import openvino as ov

    from ovmem.models.llama import LlamaConfig, build_llama

    xml = MODELS_DIR / ("llama-h896-L2" + ("-beta" if swish_beta else "")) / "openvino_model.xml"
    if not xml.exists():
        model = build_llama(LlamaConfig(num_layers=2, swish_beta=swish_beta, **WIDE))
        xml.parent.mkdir(parents=True, exist_ok=True)
        ov.save_model(model, xml, compress_to_fp16=False)
    return xml


def fixture(name: str) -> Path:
    return FIXTURES / name / "openvino_model.xml"


_MODEL_INFO: dict[str, dict] = {}


def model_info(xml: Path) -> dict:
    """IR facts measured in the parent (so the child's RSS is not touched by them)."""
    key = str(xml)
    if key not in _MODEL_INFO:
        import openvino as ov

        model = ov.Core().read_model(xml)
        types = collections.Counter(op.get_type_name() for op in model.get_ops())
        kv = 0
        for op in model.get_ops():
            if op.get_type_name() == "ReadValue":
                kv += 1
        logits_vocab = None
        for out in model.outputs:
            ps = out.get_partial_shape()
            if ps.rank.is_static and ps[-1].is_static:
                logits_vocab = ps[-1].get_length()
        _MODEL_INFO[key] = {
            "ir_ops": len(model.get_ops()),
            "ir_op_types": len(types),
            "ir_constants": types.get("Constant", 0),
            "ir_variables": kv,
            "xml_bytes": xml.stat().st_size,
            "bin_bytes": xml.with_suffix(".bin").stat().st_size if xml.with_suffix(".bin").exists() else 0,
            "out_last_dim": logits_vocab,
        }
    return _MODEL_INFO[key]


# --- points --------------------------------------------------------------------------------------


def points(groups: list[str]) -> list[dict]:
    """Every measurement point (without the repetition number), most informative group first."""
    qwen, add = fixture("tiny-qwen2-f16"), one_op_model()
    a_models = [("tiny-qwen2-f16", qwen, 1), ("tiny-qwen2-f16", qwen, 64), ("one-add", add, 1)]
    out = []
    for group in groups:
        if group == "A":
            for precision in (None, "f32"):
                for name, xml, seq in a_models:
                    for n in THREADS:
                        out.append(dict(group="A", model=name, xml=str(xml), seq_len=seq, threads=n, isa=None,
                                        precision=precision))
        elif group == "B":
            for name, xml, seq in a_models:
                for isa in (*ISAS, None):
                    for precision in ((ISA_PRECISION[isa] if isa else None), "default"):
                        if precision == "default" and isa is None:
                            continue  # same as precision None, isa None
                        out.append(dict(group="B", model=name, xml=str(xml), seq_len=seq, threads=2, isa=isa,
                                        precision=None if precision == "default" else precision,
                                        hint_given=precision != "default"))
        elif group in ("C", "D"):
            # series: (swish_beta, threads). The realistic graph (one-input Swish -> LLMMLP) at 2 threads;
            # the unfused-MLP graph at 2 and 1 threads for the thread dependence of the per-op cost.
            # Plus the fused graph with decompression-marked weight Converts (as real exports have them).
            for swish_beta, threads, marked in ((False, 2, False), (True, 2, False), (True, 1, False),
                                                (False, 2, True)):
                for layers in (LAYERS if group == "C" else (24,)):
                    xml = llama_model(layers, swish_beta, marked)
                    for seq in (1, 16):
                        out.append(dict(group=group, model=llama_name(layers, swish_beta, marked), layers=layers,
                                        swish_beta=swish_beta, marked=marked, hidden=64, xml=str(xml),
                                        seq_len=seq, threads=threads, isa=None, precision=None))
        elif group == "E":
            # weights at a fixed op count: 16 layers at hidden 32..256, unmarked and marked, 2 threads, seq 1.
            # The slope of RSS against the .bin size is what the weights cost beyond their file pages.
            for marked in (False, True):
                for hidden in (32, 64, 128, 256):
                    xml = llama_model(16, False, marked, hidden)
                    out.append(dict(group="E", model=llama_name(16, False, marked, hidden), layers=16,
                                    swish_beta=False, marked=marked, hidden=hidden, xml=str(xml), seq_len=1,
                                    threads=2, isa=None, precision=None))
        elif group == "W":
            # Qwen2-0.5B-wide layers (2 of them, ~60 MB f16): 1 vs 2 threads, bf16 (unfused MLP, the fused
            # one crashes at 1 thread) and f32 (fused and unfused), seq 1 and 64.
            for swish_beta, precision in ((True, None), (True, "f32"), (False, "f32")):
                xml = wide_model(swish_beta)
                for threads in (1, 2):
                    for seq in (1, 64):
                        out.append(dict(group="W", model=xml.parent.name, swish_beta=swish_beta, xml=str(xml),
                                        seq_len=seq, threads=threads, isa=None, precision=precision))
        elif group == "R":
            # real exports (validation of the fit): tiny fixtures at 2 threads, seq 1 and 16
            for name in ("tiny-qwen2-f16", "tiny-llama-f16", "tiny-qwen2-int4", "tiny-phi3-f16", "tiny-gemma3-text-f16"):
                xml = fixture(name)
                if not xml.exists():
                    continue
                for seq in (1, 16):
                    out.append(dict(group="R", model=name, xml=str(xml), seq_len=seq, threads=2, isa=None,
                                    precision=None))
        else:
            raise SystemExit(f"unknown group {group!r}")
    return out


def plan_runs(xml: Path, seq_len: int) -> list[dict]:
    """The input plan ovmem.measure would make (same names, shapes and kinds)."""
    import openvino as ov

    from ovmem.ir.specialize import Specialization
    from ovmem.measure import _plan_runs

    return _plan_runs(ov.Core().read_model(xml), Specialization(seq_len=seq_len))[0]


def own_bytes(point: dict, info: dict) -> int:
    """The model's own bytes at this point: weights file + an (over)estimate of activations, inputs,
    logits and KV cache (f32, worst case). Tens of KiB at hidden 64; subtracted so the residual is the
    runtime's. Widths come from the fixture's config.json, or the build_llama config by name."""
    seq = point["seq_len"]
    if point["model"] == "one-add":
        return info["bin_bytes"] + 3 * 64 * 4
    xml = Path(point["xml"])
    cfg = {}
    if (xml.parent / "config.json").exists():
        cfg = json.loads((xml.parent / "config.json").read_text())
        cfg = cfg.get("text_config", cfg)
    dims = WIDE if "h896" in point["model"] else tiny_dims(point.get("hidden", 64))
    hidden = cfg.get("hidden_size", dims["hidden_size"])
    inter = cfg.get("intermediate_size", dims["intermediate_size"])
    heads = cfg.get("num_attention_heads", dims["num_heads"])
    kv_heads = cfg.get("num_key_value_heads", dims["num_kv_heads"])
    head_dim = cfg.get("head_dim") or (hidden // heads if cfg else dims["head_dim"])
    vocab = info["out_last_dim"] or cfg.get("vocab_size", 256)
    layers = info["ir_variables"] // 2
    logits = seq * vocab * 4
    kv = layers * 2 * kv_heads * seq * head_dim * 4
    acts = 6 * seq * max(hidden, inter, heads * head_dim) * 4 + heads * seq * seq * 4
    inputs = 4 * seq * 8
    return info["bin_bytes"] + logits + kv + acts + inputs


# --- parent --------------------------------------------------------------------------------------


def run_point(point: dict, rep: int, interval: float, timeout: float) -> dict:
    xml = Path(point["xml"])
    props = {}
    if point["threads"] is not None:
        props["INFERENCE_NUM_THREADS"] = point["threads"]
    if point.get("precision"):
        props["INFERENCE_PRECISION_HINT"] = point["precision"]
    request = {"xml": str(xml), "measure_py": str(MEASURE_PY), "properties": props, "interval": interval,
               "runs": plan_runs(xml, point["seq_len"])}
    env = dict(os.environ)
    env.pop("ONEDNN_MAX_CPU_ISA", None)
    if point.get("isa"):
        env["ONEDNN_MAX_CPU_ISA"] = point["isa"]
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(request)]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    result = None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(TAG):
            result = json.loads(line[len(TAG):])
            break
    if result is None:
        result = {"error": f"child failed rc={done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
    info = model_info(xml)
    record = {k: v for k, v in point.items() if k != "xml"}
    record.update(xml=str(xml), ovmem_source=str(MEASURE_PY.parent.parent), rep=rep, properties_set=props, wall_seconds=wall, **info,
                  own_bytes_estimate=own_bytes(point, info), **result)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default="A,C,E,B,W,D,R", help="comma-separated groups, in run order")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results.jsonl"))
    parser.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    parser.add_argument("--interval", type=float, default=0.001, help="RSS sampling interval, seconds")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--ovmem", default="HEAD",
                        help="git ref whose ovmem/ to import (snapshot in /tmp), or 'worktree'")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child_main(args.child)

    global MEASURE_PY
    source = ovmem_source(args.ovmem)
    sys.path.insert(0, str(source))
    MEASURE_PY = source / "ovmem" / "measure.py"
    print(f"ovmem from {source}", flush=True)
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    todo = points(groups)
    out = Path(args.out)
    mode = "a" if args.append else "w"
    t_start = time.perf_counter()
    # Warm-up (discarded): page cache of the plugin libraries and the IRs, so no point pays a cold read.
    for xml in sorted({p["xml"] for p in todo}):
        run_point(dict(todo[0], xml=xml, model="warmup"), -1, args.interval, args.timeout)
    with out.open(mode) as f:
        for rep in range(args.reps):
            for i, point in enumerate(todo):
                record = run_point(point, rep, args.interval, args.timeout)
                f.write(json.dumps(record) + "\n")
                f.flush()
                status = record.get("error") or (
                    f"peak {record['peak']['rss'] / 2**20:7.2f} MiB (anon {record['peak']['anon'] / 2**20:6.2f}"
                    f" file {record['peak']['file'] / 2**20:6.2f}) thr+{record['thread_counts']['after_infer']}")
                print(f"[{time.perf_counter() - t_start:6.0f}s] rep {rep} {i + 1}/{len(todo)} {point['group']} "
                      f"{point['model']} seq {point['seq_len']} thr {point['threads']} isa {point.get('isa')} "
                      f"prec {point.get('precision')}: {status}", flush=True)
    print(f"done in {time.perf_counter() - t_start:.0f} s -> {out}")
    return 0


# --- child ---------------------------------------------------------------------------------------


def _load_measure(path: str):
    spec = importlib.util.spec_from_file_location("_ovmem_measure_child", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _smaps() -> dict[str, list[int]]:
    """RSS and Anonymous bytes per mapping name ('[anon]' for unnamed mappings)."""
    totals: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    name = None
    with open("/proc/self/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else "[anon]"
            elif first == "Rss:":
                totals[name][0] += int(line.split()[1]) * 1024
            elif first == "Anonymous:":
                totals[name][1] += int(line.split()[1]) * 1024
    return totals


def _smaps_diff(before, after, floor=32 * 1024) -> dict[str, list[int]]:
    diff = {}
    for key in set(before) | set(after):
        b, a = before.get(key, [0, 0]), after.get(key, [0, 0])
        d = [a[0] - b[0], a[1] - b[1]]
        if abs(d[0]) >= floor or abs(d[1]) >= floor:
            diff[os.path.basename(key) if key.startswith("/") else key] = d
    return dict(sorted(diff.items(), key=lambda kv: -abs(kv[1][0])))


def child_main(argument: str) -> int:
    stage = "import"
    try:
        import numpy as np
        import openvino as ov

        request_spec = json.loads(argument)
        m = _load_measure(request_spec["measure_py"])
        smaps_base = _smaps()
        sampler, (base_rss, base_anon, base_file), hwm_ok = m._start_sampling(request_spec["interval"])
        threads = {"baseline": _threads() - 1}  # minus the sampler thread
        snaps, windows = {}, {}

        def rel(s):
            return {"rss": s[0] - base_rss, "anon": s[1] - base_anon, "file": s[2] - base_file}

        stage = "load CPU"
        sampler.open_window()
        core = ov.Core()
        core.get_versions("CPU")
        windows["device"] = sampler.close_window() - base_rss
        snaps["device"] = rel(sampler.sample())
        threads["device"] = _threads() - 1 - threads["baseline"]

        stage = "read_model"
        sampler.open_window()
        model = core.read_model(request_spec["xml"])
        windows["read"] = sampler.close_window() - base_rss
        snaps["read"] = rel(sampler.sample())

        stage = "compile_model"
        sampler.open_window()
        t0 = time.perf_counter()
        compiled = core.compile_model(model, "CPU", request_spec["properties"])
        compile_seconds = time.perf_counter() - t0
        windows["compile"] = sampler.close_window() - base_rss
        snaps["compile"] = rel(sampler.sample())
        del model
        snaps["compile_del_model"] = rel(sampler.sample())
        threads["after_compile"] = _threads() - 1 - threads["baseline"]
        props = {}
        for key in m.REPORTED_PROPERTIES:
            try:
                value = compiled.get_property(key)
            except Exception:
                continue
            props[key] = value.get_type_name() if isinstance(value, ov.Type) else str(value)

        stage = "create_infer_request"
        sampler.open_window()
        request = compiled.create_infer_request()
        windows["request"] = sampler.close_window() - base_rss
        snaps["request"] = rel(sampler.sample())
        rng = np.random.default_rng(0)
        runs = request_spec["runs"]
        infer_seconds = 0.0
        for number, run in enumerate(runs):
            stage = "inference"
            inputs = {}
            for entry in run["inputs"].values():
                element_type = compiled.inputs[entry["index"]].get_element_type()
                inputs[entry["index"]] = m._make_input(entry, element_type, rng)
            snaps["infer_start"] = rel(sampler.open_window())
            t0 = time.perf_counter()
            request.start_async(inputs, share_inputs=True)
            request.wait()
            infer_seconds = time.perf_counter() - t0
            for out in compiled.outputs:
                data = request.get_tensor(out).data
                if data.size:
                    data.flat[data.size - 1]  # noqa: B018
            windows["infer"] = sampler.close_window() - base_rss
            del inputs
        snaps["infer_end"] = rel(sampler.sample())
        threads["after_infer"] = _threads() - 1 - threads["baseline"]

        stage = "stop"
        hwm = sampler.stop() - base_rss if hwm_ok else None
        peak_rss, peak_anon, peak_file = sampler.peak
        smaps_end = _smaps()
        # --- after the measurement: not in any peak ---
        comms = collections.Counter()
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/comm") as f:
                    comms[f.read().strip()] += 1
            except OSError:
                pass
        runtime = compiled.get_runtime_model()
        rt_ops = runtime.get_ops()
        prim = collections.Counter()
        rprec = collections.Counter()
        ltype = collections.Counter()
        for op in rt_ops:
            info = op.get_rt_info()
            prim[str(info["primitiveType"].astype(str)) if "primitiveType" in info else "?"] += 1
            rprec[str(info["runtimePrecision"].astype(str)) if "runtimePrecision" in info else "?"] += 1
            ltype[str(info["layerType"].astype(str)) if "layerType" in info else "?"] += 1
        result = {
            "baseline": {"rss": base_rss, "anon": base_anon, "file": base_file},
            "peak": {"rss": peak_rss - base_rss, "anon": peak_anon - base_anon, "file": peak_file - base_file},
            "max_anon": sampler.max_anon - base_anon,
            "max_file": sampler.max_file - base_file,
            "hwm": hwm,
            "snaps": snaps,
            "windows": windows,
            "thread_counts": threads,
            "thread_names": dict(comms),
            "smaps_diff": _smaps_diff(smaps_base, smaps_end),
            "runtime_ops": len(rt_ops),
            "primitive_types": dict(prim),
            "runtime_precisions": dict(rprec),
            "layer_types": dict(ltype),
            "compile_seconds": compile_seconds,
            "infer_seconds": infer_seconds,
            "samples": sampler.count,
            "openvino_version": ov.__version__,
            "properties": props,
            "env_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        }
    except BaseException as exc:  # noqa: BLE001
        print(TAG + json.dumps({"error": f"{stage} failed: {type(exc).__name__}: {str(exc)[-400:]}"}), flush=True)
        return 1
    print(TAG + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
