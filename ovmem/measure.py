"""Measure the memory OpenVINO really uses for one run of a model: the ground truth for ovmem's predictions.

:func:`measure` runs ``read_model`` → ``compile_model`` → one inference in a **fresh Python process**
(one process per point, so nothing is left over from earlier runs: the plugin's weight cache, grow-only
buffers and the KV cache only ever grow inside a process) and returns a :class:`Measurement`.

What is measured (``shared/OPENVINO_NOTES.md``, "How to measure for real"): the process's resident
memory from ``/proc/self/status`` above a baseline taken right after ``import openvino``, sampled every
~1 ms by a thread while the model is read, compiled and run. The split matters, so three counters are
kept:

* ``RssFile``: file-backed pages. OpenVINO mmaps the IR's ``.bin``; the weight pages that are read
  become resident here (``docs/cpu-plugin-notes.md`` section 6: the whole ≈1 GB ``.bin`` of Qwen2-0.5B
  f16 after the first inference), as do the pages of the device plugin's shared library.
* ``RssAnon``: heap. The CPU plugin's repacked weights (its weight cache), the activations, the
  output tensors and the KV cache.
* ``VmRSS`` (= anon + file + shmem): the peak of the sum is not the sum of the peaks, so the report
  has the peak of ``VmRSS`` with the anon/file values at that moment, and each counter's own peak.
  The kernel's ``VmHWM`` (reset at the baseline through ``/proc/self/clear_refs`` where allowed) is
  reported beside it as an unsampled check of the peak.

The inference runs the way optimum-intel's ``OVModelForCausalLM.forward`` does it:
``request.start_async(inputs, share_inputs=True)``, ``request.wait()``, then a copy of the ``logits``
output (its ``torch.from_numpy(self.request.get_tensor("logits").data).clone()``, optimum-intel 2.2.0
``optimum/intel/openvino/modeling_decoder.py``: T × vocab × 4 B, 1187 MiB for Qwen2 at T=2048), kept
until the next step's copy replaces it, next to the request's own output; the other outputs are read
in place. ovmem's ``ov`` runtime counts that copy (``placement`` rule 4). ``InferRequest.infer()`` is
*not* used: with its default ``share_outputs=False`` it copies every output into a new numpy array
(``docs/cpu-plugin-notes.md`` section 4), a copy optimum does not make. With
``share_inputs=True`` the numpy inputs are bound to the graph without a copy (same section). The CPU plugin
writes a dynamic output straight into the request's output tensor (same section), so reading ``.data``
costs nothing more.

Synthetic inputs follow the names optimum-intel uses and the input shapes of
:mod:`ovmem.ir.specialize` (``input_shape``): random token ids below the vocabulary size (the
``logits`` output's last dimension), an all-ones ``attention_mask`` over ``past + seq``,
``position_ids`` counting from ``past`` (also in the 3-row M-RoPE form), ``beam_idx = arange(batch)``,
small random ``inputs_embeds``, and zeros of the declared element type for anything else. With
``past_len > 0`` a stateful model first runs a prefill of ``past_len`` tokens, then the measured step
of ``seq_len`` tokens on top of the filled KV cache (no state reset in between). With ``new_tokens = N``
the measured window goes on through N decode steps of one token each, as optimum-intel's ``generate``
feeds them (``input_ids [B, 1]``, the mask and positions one longer each step): the KV cache grows, and
is reallocated, as the plugin does it.

Everything after the baseline counts, fixed costs included: the device plugin's code pages (file-backed;
they keep paging in during compile and the first inference, ≈37 MiB on CPU, which dominates a tiny
model's peak) and its static data. :attr:`Measurement.device_rss_bytes` shows the part present right
after the plugin is loaded. The synthetic inputs are counted too (a client holds them; they are tiny
for token inputs).

The parent checks the path (the errors of :func:`ovmem.ir.lift.read_model`) and reads the model once to
plan the inputs; the child runs this very file by path, so it imports nothing of ovmem and the module
level here must stay light (standard library and ``attrs``). A failing child becomes one
:class:`~ovmem.errors.ModelError` line, without its traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "REPORTED_PROPERTIES", "Measurement", "Rss", "emulation", "format_measurement", "measure", "parse_properties",
]

REPORTED_PROPERTIES = ("INFERENCE_PRECISION_HINT", "KV_CACHE_PRECISION", "NUM_STREAMS", "INFERENCE_NUM_THREADS")
"""Properties of the compiled model that each measurement reports (``compiled.get_property``)."""

DEFAULT_VOCAB = 100
"""Token ids are drawn below this when the model has no ``logits`` output with a static last dim."""

_RESULT_TAG = "OVMEM-MEASURE "
"""Prefix of the child's one result line on stdout (anything else printed there is ignored)."""


@attrs.frozen
class Rss:
    """Resident memory in bytes: the total (``VmRSS``) and its anonymous and file-backed parts."""

    rss: int
    anon: int
    file: int


@attrs.frozen
class Measurement:
    """One measured run. Byte counts are above :attr:`baseline` unless named otherwise."""

    model: str
    """The export folder's name (or the ``.xml``'s stem)."""
    path: str
    """The ``.xml`` that was measured."""
    device: str
    seq_len: int
    batch: int
    past_len: int
    inputs: Mapping[str, tuple[int, ...]]
    """The shape of every input in the measured inference."""
    baseline: Rss
    """Absolute ``VmRSS``/``RssAnon``/``RssFile`` of the child right after ``import openvino``."""
    peak_rss_bytes: int
    """Peak of ``VmRSS`` over read, compile and inference(s)."""
    peak_anon_bytes: int
    """Peak of ``RssAnon`` on its own (it need not coincide with the ``VmRSS`` peak)."""
    peak_file_bytes: int
    """Peak of ``RssFile`` on its own."""
    anon_at_peak: int
    """``RssAnon`` at the moment of the ``VmRSS`` peak."""
    file_at_peak: int
    """``RssFile`` at the moment of the ``VmRSS`` peak."""
    infer_start: Rss
    """Memory just before the measured inference (after compile and, with ``past_len``, the prefill)."""
    infer_peak_rss_bytes: int
    """Peak of ``VmRSS`` during the measured inference alone (start to outputs read)."""
    hwm_rss_bytes: int | None
    """The kernel's ``VmHWM`` at the end: the exact, unsampled peak (``None`` if it could not be reset)."""
    device_rss_bytes: int
    """``VmRSS`` once the device plugin is loaded, before the model is read: a cost of the process, not of
    the model (plugin code pages and its static data)."""
    compile_seconds: float
    infer_seconds: float
    """The measured inference, ``start_async`` to ``wait``."""
    samples: int
    """Readings of ``/proc/self/status`` taken (sampler thread plus one at each stage boundary)."""
    sample_interval: float
    openvino_version: str
    properties: Mapping[str, str]
    """:data:`REPORTED_PROPERTIES` of the compiled model, as strings (missing ones left out)."""
    emulated_target: str | None = None
    """The ISA level this run emulated (:func:`emulation`), ``None`` for the host as it is."""
    new_tokens: int = 0
    """Decode steps of one token each after the measured inference, inside its window."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (bytes, seconds), versioned by ``schema_version``."""
        from ovmem.report import SCHEMA_VERSION  # here: the child process imports nothing of ovmem

        data = {"schema_version": SCHEMA_VERSION, **attrs.asdict(self)}
        data["inputs"] = {k: list(v) for k, v in self.inputs.items()}
        return data


def measure(
    path: str | os.PathLike[str],
    *,
    seq_len: int,
    batch: int = 1,
    past_len: int = 0,
    device: str = "CPU",
    properties: Mapping[str, Any] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    sample_interval: float = 0.001,
    timeout: float = 600,
    emulate_target: str | None = None,
    new_tokens: int = 0,
) -> Measurement:
    """Measure the resident memory of read → compile → one inference of ``path`` in a fresh process
    (and ``new_tokens`` decode steps after it).

    Args:
        path: an IR ``.xml`` or its folder (as for :func:`ovmem.ir.lift.read_model`).
        seq_len: tokens in the measured inference.
        batch: batch size.
        past_len: tokens already in the KV cache; a stateful model first runs a prefill of this many.
        device: OpenVINO device name.
        properties: passed to ``compile_model`` (``{"INFERENCE_PRECISION_HINT": "f32"}``, ...).
        shapes: explicit input shapes by name, overriding the rules of :mod:`ovmem.ir.specialize`.
        sample_interval: seconds between two readings of ``/proc/self/status``.
        timeout: seconds before the child is killed.
        emulate_target: run as on a weaker CPU (an ISA level or preset of :mod:`ovmem.target`):
            :func:`emulation`. An emulation, and labelled so.
        new_tokens: decode steps of one token after the measured inference (a stateful model), all in
            the measured window: a generation of that many tokens.

    Raises:
        UsageError: a bad size, path, shape or option.
        ModelError: the model cannot be read, or the child failed, crashed or timed out.
    """
    from ovmem.errors import UsageError
    from ovmem.ir.lift import read_model, resolve_model_path
    from ovmem.ir.specialize import Specialization

    spec = Specialization(seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes or {})
    if not isinstance(device, str) or not device.strip():
        raise UsageError(f"device must be a device name such as CPU, got {device!r}")
    if not sample_interval > 0:
        raise UsageError(f"sample interval must be positive, got {sample_interval!r}")
    if not timeout > 0:
        raise UsageError(f"timeout must be positive, got {timeout!r}")
    if isinstance(new_tokens, bool) or not isinstance(new_tokens, int) or new_tokens < 0:
        raise UsageError(f"--new-tokens must be a non-negative integer, got {new_tokens!r}")
    env, props, emulated = emulation(emulate_target, properties)

    xml = resolve_model_path(path)
    model = read_model(xml)  # the same one-line errors as everywhere else, before spawning anything
    if new_tokens and not model.get_variables():
        raise UsageError(f"{xml.name}: --new-tokens needs a stateful model (a KV cache to generate on)")
    runs, decode = _plan_runs(model, spec, generate=new_tokens > 0)
    del model

    request = {"xml": str(xml), "device": device, "properties": props, "interval": sample_interval, "runs": runs,
               "decode": decode, "new_tokens": new_tokens}  # fmt: skip
    result = _run_child(Path(__file__), request, timeout, xml, env)
    return Measurement(
        model=_display_name(xml),
        path=str(xml),
        device=device,
        seq_len=spec.seq_len,
        batch=spec.batch,
        past_len=spec.past_len,
        inputs={name: tuple(run["shape"]) for name, run in runs[-1]["inputs"].items()},
        **_peak_fields(result),
        infer_start=Rss(**result["infer_start"]),
        infer_peak_rss_bytes=result["infer_peak"],
        device_rss_bytes=result["device"],
        compile_seconds=result["compile_seconds"],
        infer_seconds=result["infer_seconds"],
        samples=result["samples"],
        sample_interval=sample_interval,
        openvino_version=result["openvino_version"],
        properties=result["properties"],
        emulated_target=emulated,
        new_tokens=new_tokens,
    )


def emulation(
    target: str | None, properties: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], dict[str, Any], str | None]:
    """How a measuring child runs as on ``target`` (an ISA level or a preset; ``None``: the host):
    the environment it adds, the ``compile_model`` properties (``properties`` as plain values, over
    the target's), and the ISA level emulated.

    oneDNN, linked into the CPU plugin, caps its kernels at ``ONEDNN_MAX_CPU_ISA``
    (oneDNN's ``src/cpu/x64/cpu_isa_traits.cpp``, ``init_max_cpu_isa``): the ISA-gated fusions (``LLMMLP``),
    the FullyConnected kernels and their scratch follow the cap. The plugin's own CPUID checks
    (``ov::with_cpu_x86_*``: the SDPA / PagedAttention kernels' choice) do not, and the default
    ``INFERENCE_PRECISION_HINT`` stayed bf16 under every cap here (OpenVINO 2026.4), so the target's
    default precision is passed explicitly. Under an AVX2 cap on an AVX-512 host the compressed
    (int4/int8) FullyConnected finds no kernel (``FullyConnectedCompressed``), so int4 exports fail
    there while f16 ones run. The host must have the ISA emulated: a cap cannot add instructions.
    """
    from ovmem.errors import UsageError

    props = {str(k): (v if isinstance(v, (str, int, float, bool)) else str(v)) for k, v in (properties or {}).items()}
    if target is None:
        return {}, props, None
    from ovmem.target import ISAS, detect_host, get_target

    isa = get_target(target).isa
    host = detect_host().isa
    order = list(ISAS)
    if order.index(isa.name) > order.index(host.name):
        raise UsageError(f"--emulate-target {target}: this host is {host.name}; it can emulate only a weaker ISA")
    return {"ONEDNN_MAX_CPU_ISA": isa.onednn}, {"INFERENCE_PRECISION_HINT": isa.precision, **props}, isa.name


def _peak_fields(result: Mapping[str, Any]) -> dict[str, Any]:
    """What every measurement reads the same way from its child's result: the baseline, the peaks
    above it, the anon/file split at the RSS peak and the kernel's high-water mark."""
    return {
        "baseline": Rss(**result["baseline"]),
        "peak_rss_bytes": result["peak"]["rss"],
        "peak_anon_bytes": result["max_anon"],
        "peak_file_bytes": result["max_file"],
        "anon_at_peak": result["peak"]["anon"],
        "file_at_peak": result["peak"]["file"],
        "hwm_rss_bytes": result["hwm"],
    }


def parse_properties(texts: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse ``KEY=VALUE`` options (``--property INFERENCE_PRECISION_HINT=f32``) into a dict."""
    from ovmem.errors import UsageError

    props = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--property takes KEY=VALUE, got {text!r}")
        props[key.strip()] = value.strip()
    return props


def peak_line(m: Any, include_baseline: bool = False) -> str:
    """A measurement's headline: its peak above the baseline (what ovmem estimates: Python and ``import
    openvino`` are the process's, not the model's), or with the baseline, the whole process's peak."""
    from ovmem.units import format_bytes as fb

    hwm = f" (kernel VmHWM {fb(m.hwm_rss_bytes)} above it)" if m.hwm_rss_bytes is not None else ""
    if include_baseline:
        absolute = fb(m.peak_rss_bytes + m.baseline.rss)
        return f"  peak RSS     {absolute} with the baseline, {fb(m.peak_rss_bytes)} above it{hwm}"
    return f"  peak RSS     {fb(m.peak_rss_bytes)} above baseline{hwm}"


def format_measurement(m: Measurement, include_baseline: bool = False) -> str:
    """The human-readable report of one measurement (``include_baseline``: the headline is the process's peak)."""
    from ovmem.units import format_bytes as fb

    version = m.openvino_version.split("-")[0]
    props = " ".join(f"{k}={v}" for k, v in m.properties.items()) or "-"
    shapes = ", ".join(f"{k} {list(v)}" for k, v in m.inputs.items())
    lines = [
        f"{m.model} on {m.device}{_emulated(m.emulated_target)}, OpenVINO {version}: seq_len {m.seq_len}, "
        f"batch {m.batch}, past_len {m.past_len}" + (f", then {m.new_tokens} decode steps" if m.new_tokens else ""),
        f"  inputs       {shapes}",
        f"  properties   {props}",
        peak_line(m, include_baseline),
        f"    at peak    anon {fb(m.anon_at_peak)} + file {fb(m.file_at_peak)}",
        f"    own peaks  anon {fb(m.peak_anon_bytes)}, file {fb(m.peak_file_bytes)}",
        f"  {'generation' if m.new_tokens else 'inference':<12} peak {fb(m.infer_peak_rss_bytes)}, {fb(m.infer_peak_rss_bytes - m.infer_start.rss)} more than "
        f"before it ({fb(m.infer_start.rss)}: anon {fb(m.infer_start.anon)} + file {fb(m.infer_start.file)})",
        f"  plugin load  {fb(m.device_rss_bytes)} (in the peak; not the model's)",
        f"  baseline     {fb(m.baseline.rss)} (anon {fb(m.baseline.anon)}, file {fb(m.baseline.file)}) "
        "after import openvino",
        f"  time         compile {m.compile_seconds:.2f} s, inference {m.infer_seconds:.3f} s; "
        f"{m.samples} samples every {m.sample_interval * 1e3:g} ms",
    ]
    return "\n".join(lines)


def _emulated(isa: str | None) -> str:
    """How a report names an emulated target."""
    return f" (emulating {isa}: oneDNN capped, not a real {isa} CPU)" if isa else ""


# --- parent side --------------------------------------------------------------------------------


def _plan_runs(model, spec, generate: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The inferences the child runs: an optional prefill of ``past_len`` tokens, then the measured one;
    and, to ``generate``, the first decode step after it, from which the child makes every step of the
    generation (:func:`_decode_step`).

    Each run maps an input name to ``{"index", "shape", "kind", ...}``; the child makes the data.
    """
    from ovmem.ir.specialize import Specialization

    vocab = DEFAULT_VOCAB
    for out in model.outputs:
        pshape = out.get_partial_shape()
        if "logits" in out.get_names() and pshape.rank.is_static and pshape[-1].is_static:
            vocab = max(1, pshape[-1].get_length())
    stateful = bool(model.get_variables())
    steps = []
    if spec.past_len and stateful:
        steps.append(Specialization(seq_len=spec.past_len, batch=spec.batch, past_len=0, shapes=spec.shapes))
    steps.append(spec)
    known = set()
    for param in model.get_parameters():
        known.update(param.output(0).get_names() | {param.get_friendly_name()})
    unknown = sorted(set(spec.shapes) - known)
    if unknown:
        from ovmem.errors import UsageError

        raise UsageError(f"--shape names no model input: {', '.join(unknown)}; inputs are {', '.join(sorted(known))}")
    decode = None
    if generate:
        first = Specialization(seq_len=1, batch=spec.batch, past_len=spec.past_len + spec.seq_len, shapes={})
        decode = {"inputs": _plan_inputs(model, first, vocab)}
    return [{"inputs": _plan_inputs(model, step, vocab)} for step in steps], decode


def _plan_inputs(model, spec, vocab: int) -> dict[str, dict[str, Any]]:
    from ovmem.ir.specialize import input_shape

    plan = {}
    for index, out in enumerate(model.inputs):
        name = out.get_any_name() if out.get_names() else out.get_node().get_friendly_name()
        shape = input_shape(name, out.get_partial_shape(), spec)
        entry: dict[str, Any] = {"index": index, "shape": shape, "kind": "zeros"}
        if name == "input_ids":
            entry.update(kind="ids", high=vocab)
        elif name == "attention_mask":
            entry.update(kind="ones")
        elif name == "position_ids":
            entry.update(kind="arange", start=spec.past_len)
        elif name == "beam_idx":
            entry.update(kind="arange", start=0)
        elif name == "inputs_embeds":
            entry.update(kind="randn")
        plan[name] = entry
    return plan


def _run_child(
    script: Path, request: dict[str, Any], timeout: float, label: object, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script``'s ``_child_main(json.dumps(request))`` in a fresh Python process (with ``env``
    added to this one's environment) and return its result line; a failure, crash or timeout becomes
    one :class:`~ovmem.errors.ModelError` line prefixed with ``label``. (:mod:`ovmem.vlm.measure` and
    the genai measurements run their own children through this too.)"""
    from ovmem.errors import ModelError

    command = [sys.executable, "-c", _BOOTSTRAP, str(Path(script).resolve()), json.dumps(request)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, **env} if env else None)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ModelError(f"{label}: the measurement timed out after {timeout:g} s") from None
    result = _result_line(done.stdout)
    if result is None or "error" in result:
        raise ModelError(f"{label}: {_failure(done, result)}")
    return result


def _display_name(xml: Path) -> str:
    return xml.resolve().parent.name if xml.name == "openvino_model.xml" else xml.stem


def _result_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(_RESULT_TAG):
            try:
                return json.loads(line[len(_RESULT_TAG) :])
            except ValueError:
                return None
    return None


def _failure(done: subprocess.CompletedProcess, result: dict[str, Any] | None) -> str:
    """One line saying why the child gave no measurement."""
    if result is not None:
        return str(result["error"])
    detail = _last_line(done.stderr)
    if done.returncode < 0:
        import signal

        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        why = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the measuring process was killed by {name}{why}" + (f": {detail}" if detail else "")
    return f"the measuring process failed (exit code {done.returncode})" + (f": {detail}" if detail else "")


def _last_line(text: str) -> str:
    """The last line of an error text that says something: not a traceback frame, not OpenVINO's
    ``Exception from file:line`` / ``Check '...' failed at`` location lines."""
    skip = ("Exception from ", "Check '", "Traceback ", "File ", "^", "~")
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(skip)]
    return lines[-1][:500] if lines else ""


# --- child side (runs in the fresh process; standard library, numpy and openvino only) -----------

_BOOTSTRAP = (
    "import sys, importlib.util\n"
    "del sys.path[0]\n"  # '' (the caller's working directory): nothing there may shadow a module
    "spec = importlib.util.spec_from_file_location('_ovmem_measure_child', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "sys.exit(module._child_main(sys.argv[2]))\n"
)


class _Sampler(threading.Thread):
    """Reads ``/proc/self/status`` every ``interval`` seconds and keeps the peaks (bytes, absolute)."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="ovmem-rss-sampler", daemon=True)
        self.interval = interval
        self._fd = os.open("/proc/self/status", os.O_RDONLY)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self.count = 0
        self.peak = (0, 0, 0)  # (rss, anon, file) at the highest rss
        self.max_anon = 0
        self.max_file = 0
        self.window: int | None = None  # highest rss since open_window()

    def read(self) -> tuple[int, int, int, int]:
        """``VmRSS``, ``RssAnon``, ``RssFile``, ``VmHWM`` now, in bytes."""
        text = os.pread(self._fd, 16384, 0).decode("ascii", "replace")
        found = {}
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
        return found["VmRSS"], found["RssAnon"], found["RssFile"], found.get("VmHWM", 0)

    def sample(self) -> tuple[int, int, int]:
        rss, anon, file, _ = self.read()
        with self._lock:
            self.count += 1
            if rss > self.peak[0]:
                self.peak = (rss, anon, file)
            self.max_anon = max(self.max_anon, anon)
            self.max_file = max(self.max_file, file)
            if self.window is not None:
                self.window = max(self.window, rss)
        return rss, anon, file

    def open_window(self) -> tuple[int, int, int]:
        with self._lock:
            self.window = 0
        return self.sample()

    def close_window(self) -> int:
        self.sample()
        with self._lock:
            window, self.window = self.window or 0, None
        return window

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> int:
        """Stop sampling; returns ``VmHWM`` at the end."""
        self._stop_event.set()
        self.join()
        self.sample()
        hwm = self.read()[3]
        os.close(self._fd)
        return hwm


def _start_sampling(interval: float) -> tuple[_Sampler, tuple[int, int, int], bool]:
    """In a child: reset the kernel's VmHWM to the current RSS (its final value is then the exact
    peak; ``False`` where not allowed), read the baseline (rss, anon, file) and start sampling."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        hwm_ok = True
    except OSError:
        hwm_ok = False
    sampler = _Sampler(interval)
    rss, anon, file, _ = sampler.read()
    sampler.start()
    return sampler, (rss, anon, file), hwm_ok


def _stop_sampling(sampler: _Sampler, baseline: tuple[int, int, int], hwm_ok: bool) -> dict[str, Any]:
    """In a child: stop sampling and report what every measurement reports the same way, above the
    baseline: the RSS peak with its anon/file split, each one's own peak and the kernel's high-water
    mark (``None`` where it could not be reset). The parent reads it back with :func:`_peak_fields`."""
    base_rss, base_anon, base_file = baseline
    hwm = sampler.stop() - base_rss if hwm_ok else None
    peak_rss, peak_anon, peak_file = sampler.peak
    return {
        "baseline": {"rss": base_rss, "anon": base_anon, "file": base_file},
        "peak": {"rss": peak_rss - base_rss, "anon": peak_anon - base_anon, "file": peak_file - base_file},
        "max_anon": sampler.max_anon - base_anon,
        "max_file": sampler.max_file - base_file,
        "hwm": hwm,
    }


def _error_text(exc: BaseException) -> str:
    return _last_line(str(exc)) or type(exc).__name__


def _send(result: dict[str, Any]) -> int:
    """Print a child's result as the one tagged line the parent reads (:func:`_result_line`); its exit code."""
    print(_RESULT_TAG + json.dumps(result), flush=True)
    return 1 if "error" in result else 0


def _send_failure(stage: str, exc: BaseException) -> int:
    """A child's failure in ``stage``, as one line for the parent; its exit code."""
    return _send({"error": f"{stage} failed: {_error_text(exc)}"})


def _make_input(entry: dict[str, Any], element_type, rng):
    """The data of one input: numpy where numpy has the type (shared with the graph), else an ov.Tensor."""
    import numpy as np
    import openvino as ov

    shape = tuple(entry["shape"])
    kind = entry["kind"]
    if kind == "ids":
        values = rng.integers(0, entry["high"], size=shape, dtype=np.int64)
    elif kind == "ones":
        values = np.ones(shape, np.int64)
    elif kind == "arange":
        last = shape[-1] if shape else 1
        values = np.broadcast_to(np.arange(entry["start"], entry["start"] + last, dtype=np.int64), shape)
    elif kind == "randn":
        values = (rng.standard_normal(size=shape, dtype=np.float32) * 0.02).astype(np.float32)
    else:
        values = None
    name = element_type.get_type_name()
    if name == "string":
        return np.full(shape, "", dtype=np.str_)
    if name == "bf16":
        tensor = ov.Tensor(element_type, list(shape))
        bits = np.zeros(shape, np.float32) if values is None else np.asarray(values, np.float32)
        tensor.data.view(np.uint16)[...] = (np.ascontiguousarray(bits).view(np.uint32) >> 16).astype(np.uint16)
        return tensor
    if element_type.bitwidth < 8 or name.startswith(("f8", "f4", "nf4")):
        tensor = ov.Tensor(element_type, list(shape))
        tensor.data[...] = 0
        return tensor
    dtype = element_type.to_dtype()
    # np.full writes every element: a client's inputs are written, so resident (np.zeros maps the
    # pages lazily and RSS would never see them)
    return np.full(shape, 0, dtype) if values is None else np.ascontiguousarray(values, dtype=dtype)


def _decode_step(first: dict[str, Any], step: int) -> dict[str, Any]:
    """The inputs of decode step ``step`` from the first one's: the mask one longer, the positions one on."""
    inputs = {}
    for name, entry in first["inputs"].items():
        entry = dict(entry, shape=list(entry["shape"]))
        if name == "attention_mask":
            entry["shape"][-1] += step
        elif name == "position_ids":
            entry["start"] += step
        inputs[name] = entry
    return {"inputs": inputs}


def _child_main(argument: str) -> int:
    """Run one measurement and print it as one tagged JSON line; errors as ``{"error": ...}``."""
    stage = "import openvino"
    try:
        import numpy as np
        import openvino as ov

        stage = "start"
        request_spec = json.loads(argument)
        sampler, (base_rss, base_anon, base_file), hwm_ok = _start_sampling(request_spec["interval"])
        device = request_spec["device"]

        stage = f"loading device {device}"
        core = ov.Core()
        core.get_versions(device)  # loads the plugin (an unknown device fails at compile_model)
        device_rss = sampler.sample()[0]

        stage = "read_model"
        model = core.read_model(request_spec["xml"])
        stage = "compile_model"
        t0 = time.perf_counter()
        compiled = core.compile_model(model, device, request_spec["properties"])
        compile_seconds = time.perf_counter() - t0
        del model
        sampler.sample()
        props = {}
        for key in REPORTED_PROPERTIES:
            try:
                value = compiled.get_property(key)
            except Exception:  # not a property of this device
                continue
            props[key] = value.get_type_name() if isinstance(value, ov.Type) else str(value)

        stage = "create_infer_request"
        request = compiled.create_infer_request()
        rng = np.random.default_rng(0)
        runs = request_spec["runs"]
        infer_seconds = 0.0
        infer_start, infer_peak = (base_rss, base_anon, base_file), 0
        first_measured = len(runs) - 1
        client_logits = None
        runs = runs + [_decode_step(request_spec["decode"], i) for i in range(request_spec["new_tokens"])]
        for number, run in enumerate(runs):
            measured = number >= first_measured
            stage = f"decode step {number - first_measured}" if number > first_measured else (
                "inference" if measured else "prefill of the past tokens")
            inputs = {}
            for entry in run["inputs"].values():
                element_type = compiled.inputs[entry["index"]].get_element_type()
                inputs[entry["index"]] = _make_input(entry, element_type, rng)
            if number == first_measured:
                infer_start = sampler.open_window()
            t0 = time.perf_counter()
            request.start_async(inputs, share_inputs=True)
            request.wait()
            seconds = time.perf_counter() - t0
            for out in compiled.outputs:  # read in place; the logits copied, as optimum-intel's forward does
                data = request.get_tensor(out).data
                if data.size:
                    data.flat[data.size - 1]  # noqa: B018 - touch one element
                if "logits" in out.get_names():
                    client_logits = data.copy()  # the previous step's copy goes once this one exists
            if measured:
                infer_seconds += seconds
            if number == len(runs) - 1:
                infer_peak = sampler.close_window()
            del inputs

        stage = "stop"
        del client_logits  # held to the end, as generate's last outputs
        result = {
            **_stop_sampling(sampler, (base_rss, base_anon, base_file), hwm_ok),
            "infer_start": {
                "rss": infer_start[0] - base_rss,
                "anon": infer_start[1] - base_anon,
                "file": infer_start[2] - base_file,
            },
            "infer_peak": infer_peak - base_rss,
            "device": device_rss - base_rss,
            "compile_seconds": compile_seconds,
            "infer_seconds": infer_seconds,
            "samples": sampler.count,
            "openvino_version": ov.__version__,
            "properties": props,
        }
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as one line
        return _send_failure(stage, exc)
    return _send(result)
