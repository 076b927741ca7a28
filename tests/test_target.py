"""Targets: every machine-dependent rule follows ``--target``, not the host ovmem runs on."""

from __future__ import annotations

import json

import attrs
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from graphs import kv_cache

import ovmem
import ovmem.target as target_module
from ovmem.cli import main
from ovmem.config import RunConfig
from ovmem.errors import UsageError
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.runtime_memory import PER_OP_THREAD, PER_THREAD, ir_ops
from ovmem.target import FALLBACK_ISA, ISAS, PRESETS, available_targets, get_target

SMALL = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                    head_dim=16, swish_beta=False)  # fmt: skip


@pytest.fixture
def fresh_detection():
    """Detection is cached per process: forget it before and after a test that fakes the plugin."""
    caches = (target_module.detect_host, target_module.get_target, target_module._probe_plugin)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:  # the originals: a faked _probe_plugin is still in place here
        cached.cache_clear()


@pytest.mark.parametrize("name", available_targets())
def test_every_target_resolves(name):
    target = get_target(name)
    assert target.isa.name in ISAS and target.threads >= 1 and target.precision in ("bf16", "f32")
    assert target.label.startswith(target.name)


def test_isa_levels_and_presets():
    assert [get_target(n).precision for n in ISAS] == ["f32"] * 4 + ["bf16"] * 3  # bf16 from AVX512-BF16 up
    assert [n for n in ISAS if get_target(n).isa.amx_bf16] == ["amx", "amx_fp16"]
    assert get_target("zen4").isa is ISAS["avx512_bf16"] and get_target("zen4").threads == PRESETS["zen4"].threads
    assert get_target("Sapphire-Rapids") == get_target("sapphire_rapids")  # case and separators are free
    assert get_target("lunar-lake").precision == "f32"  # AVX-NE-CONVERT is no bf16 default
    with pytest.raises(UsageError, match="unknown target 'pentium'; available: host, avx2"):
        get_target("pentium")


@pytest.mark.parametrize(
    ("kernels", "isa"),
    [
        (("gemm_mlas_f32", "brgemm_avx512_amx_bf16", "brgemm_avx512_amx_fp16"), "amx_fp16"),
        (("gemm_mlas_f32", "brgemm_avx512_amx_bf16", "brgemm_avx512_f16"), "amx"),
        (("gemm_mlas_f32", "brgemm_avx512_bf16"), "avx512_bf16"),
        (("gemm_mlas_f32", "jit_gemm_bf16"), "avx512"),
        (("gemm_mlas_f32",), "avx2"),
    ],
)
def test_host_detection_reads_the_plugins_kernels(monkeypatch, fresh_detection, kernels, isa):
    monkeypatch.setattr(target_module, "_probe_plugin", lambda: ("bf16", 6, kernels))
    host = target_module.detect_host()
    assert (host.name, host.isa.name, host.threads, host.precision) == ("host", isa, 6, "bf16")
    assert "detected" in host.note


def test_host_detection_falls_back_in_one_line(monkeypatch, fresh_detection, caplog):
    def broken():
        raise RuntimeError("no CPU plugin here\nsecond line")

    monkeypatch.setattr(target_module, "_probe_plugin", broken)
    host = target_module.detect_host()
    assert host.isa.name == FALLBACK_ISA and host.precision == "f32" and host.threads >= 1
    assert host.note == f"host not detected (second line); assumed {FALLBACK_ISA}, f32"
    assert [r.getMessage() for r in caplog.records] == [host.note]
    report = ovmem.analyze(build_llama(SMALL), seq_len=8)  # the analysis still runs, and says what it assumed
    assert report.target.note == host.note and report.inference_precision == "f32"


def test_the_target_sets_the_inference_precision_and_the_logits_reorder():
    f32 = ovmem.analyze(build_llama(SMALL), seq_len=64, target="avx512")
    bf16 = ovmem.analyze(build_llama(SMALL), seq_len=64, target="avx512_bf16")
    assert (f32.inference_precision, bf16.inference_precision) == ("f32", "bf16")
    ops_f32 = {n.op_type for n in f32.graph.nodes}
    assert "Reorder" not in ops_f32 and "Reorder" in {n.op_type for n in bf16.graph.nodes}
    forced = ovmem.analyze(build_llama(SMALL), seq_len=64, target="avx512_bf16", inference_precision="f32")
    assert forced.inference_precision == "f32" and forced.temp_peak_bytes == f32.temp_peak_bytes


def test_f32_weights_are_repacked_in_the_targets_precision():
    x = ops.parameter([1, -1, 256], ov.Type.f32, name="x")
    w = ops.constant(np.zeros((512, 256), np.float32))
    model = ov.Model([ops.matmul(x, w, False, True)], [x])
    by_target = {t: ovmem.analyze(model, seq_len=4, target=t).weights_bytes for t in ("avx2", "avx512", "amx")}
    stored = 512 * 256 * 4
    assert by_target["avx2"] == by_target["avx512"] == stored + stored  # the mapped f32 and an f32 copy
    assert by_target["amx"] == stored + stored // 2  # the mapped f32 and a bf16 copy


@pytest.mark.parametrize("name", ["avx2", "avx512", "avx512_bf16", "amx", "zen4"])
def test_kv_cache_default_is_u8_on_every_x86_target(name):
    report = ovmem.analyze(kv_cache(kv_heads=2, head_dim=8), seq_len=10, target=name)
    assert report.state_bytes == 2 * 10 * 8 + 2 * 10 * 8  # u8 with an f32 scale and zero point per token and head


def test_threads_follow_the_target_into_the_scratch_and_the_runtime():
    one, four = (ovmem.analyze(build_llama(SMALL), seq_len=64, target="amx", threads=n) for n in (1, 4))
    assert four.target.threads == 4 and one.target.threads == 1
    assert four.runtime_bytes - one.runtime_bytes == 3 * (PER_THREAD + PER_OP_THREAD * ir_ops(one.graph))
    assert four.scratch["sdpa"] - one.scratch["sdpa"] == 3 * 32 * 64 * 4  # per-thread attention weights
    preset = ovmem.analyze(build_llama(SMALL), seq_len=64, target="granite-rapids")
    assert preset.target.threads == PRESETS["granite-rapids"].threads


def test_run_config_is_one_frozen_object():
    config = RunConfig(target="avx2", threads=3)
    assert config.cpu.threads == 3 and config.precision == "f32" and config.device == "CPU"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.device = "GPU"  # type: ignore[misc]
    assert RunConfig.create(config, runtime="genai").runtime == "genai"
    with pytest.raises(UsageError, match="unknown option"):
        RunConfig.create(target_isa="amx")
    with pytest.raises(UsageError, match="threads must be an integer >= 1"):
        RunConfig(threads=0)
    report = ovmem.analyze(build_llama(SMALL), seq_len=8, config=config)
    assert report.target == get_target("avx2").with_threads(3)


COMMANDS = [
    ["analyze", "--seq-len", "16"],
    ["demo", "--seq-len", "16"],
    ["llm", "tests/fixtures/tiny-qwen2-f16", "16"],
    ["vit", "tests/fixtures/tiny-llava-f16", "--image", "336x336"],
    ["vlm", "tests/fixtures/tiny-llava-f16", "--image", "336x336"],
    ["analyze", "--budget", "1GiB", "--seq-len", "16"],
    ["sweep", "--seq-len", "16,32"],
    ["whatif", "--seq-len", "16", "--vs", "threads=4"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(a[:2]) for a in COMMANDS])
def test_every_command_models_the_cpu_for_the_host_by_default(argv, capsys):
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    report = data.get("points", [data])[0] if "points" in data else data.get("baseline", data)
    report = report.get("report", report)
    assert report["device"] == "CPU" and report["target"]["name"] == "host"
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "device CPU" in text and "target host (" in text


def test_compare_allocators_plans_the_cpu_models_temporaries(capsys):
    assert main(["compare-allocators", "--seq-len", "16", "--json"]) == 0
    cpu = json.loads(capsys.readouterr().out)
    assert main(["compare-allocators", "--seq-len", "16", "--json", "--device", "generic"]) == 0
    assert json.loads(capsys.readouterr().out)["requests"] != cpu["requests"]  # the CPU's fused graph has fewer


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    text = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())
    for option in ("--device DEVICE", "--target CPU", "--threads THREADS", "--runtime", "--allocator", "--passes",
                   "--kv-cache-precision", "--inference-precision", "--seq-len", "--new-tokens", "--lift"):  # fmt: skip
        help_text = text.split(option, 1)[1][:400]
        assert "default" in help_text.split(" --", 1)[0], option


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "--passes", ""], "empty pass pipeline"),
        (["analyze", "--passes", "fold-weights"], "needs the 'lifetime' pass"),
        (["analyze", "--seq-len", "99999999999999999999999"], "expected an integer from 1 to 2147483647"),
        (["sweep", "--seq-len", "1:99999999999999999999"], "lengths must be integers from 0 to 2147483647"),
        (["analyze", "--target", "pentium"], "unknown target 'pentium'"),
        (["analyze", "--lift", "runtime", "--target", "avx2"], "compiles on this host"),
    ],
)
def test_bad_input_is_one_usage_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "internal error" not in err


def test_an_emulated_measurement_runs_capped_and_says_so(capsys):
    """``--emulate-target``: oneDNN capped in the child and the target's default precision passed."""
    from ovmem.measure import format_measurement, measure

    host = get_target("host").isa
    if list(ISAS).index(host.name) < list(ISAS).index("avx512"):
        pytest.skip(f"this host is {host.name}: it cannot emulate avx512")
    fixture = "tests/fixtures/tiny-qwen2-f16"
    m = measure(fixture, seq_len=32, emulate_target="avx512")
    assert m.emulated_target == "avx512" and m.properties["INFERENCE_PRECISION_HINT"] == "f32"
    assert "emulating avx512" in format_measurement(m) and m.to_dict()["emulated_target"] == "avx512"
    estimate = ovmem.analyze(fixture, seq_len=32, target="avx512")
    assert abs(estimate.total_bytes - m.peak_rss_bytes) <= 0.1 * m.peak_rss_bytes
    assert main(["measure", fixture, "--seq-len", "8", "--emulate-target", "cascade-lake", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["emulated_target"] == "avx512"  # a family stands for its ISA


def test_emulation_cannot_add_instructions(monkeypatch):
    from ovmem.measure import emulation

    monkeypatch.setattr(target_module, "detect_host", lambda: get_target("avx2"))
    assert emulation("avx2") == ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, {"INFERENCE_PRECISION_HINT": "f32"}, "avx2")
    with pytest.raises(UsageError, match="this host is avx2; it can emulate only a weaker ISA"):
        emulation("amx")
    _, props, _ = emulation("avx2", {"INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": "bf16"})
    assert props == {"INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": 1}  # the user's properties win
    assert emulation(None, {"A": 1}) == ({}, {"A": 1}, None)


def _fake_cpu(root, caches: list[tuple[int, str, str, str]], siblings: str = "0,4"):
    (root / "topology").mkdir(parents=True)
    (root / "topology" / "thread_siblings_list").write_text(siblings + "\n")
    for i, (level, kind, size, shared) in enumerate(caches):
        index = root / "cache" / f"index{i}"
        index.mkdir(parents=True)
        for name, text in (("level", str(level)), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (index / name).write_text(text + "\n")
    (root / "cache" / "uevent").write_text("")
    return str(root)


def test_host_core_cache_is_l1d_plus_l2_per_core(tmp_path):
    # a core with 2 hyperthreads (0 and 4): 48 KiB L1d and a 2 MiB L2 of its own; L1i and L3 do not count
    own = _fake_cpu(tmp_path / "a", [(1, "Data", "48K", "0,4"), (1, "Instruction", "32K", "0,4"),
                                     (2, "Unified", "2048K", "0,4"), (3, "Unified", "30720K", "0-7")])  # fmt: skip
    assert target_module._host_core_cache(own) == (48 + 2048) * 1024
    # E-cores: 4 single-threaded cores share a 4 MiB L2 -> 1 MiB each
    shared = _fake_cpu(tmp_path / "b", [(1, "Data", "32K", "0"), (2, "Unified", "4096K", "0-3")], siblings="0")
    assert target_module._host_core_cache(shared) == (32 + 1024) * 1024
    assert target_module._host_core_cache(str(tmp_path / "none")) == 0  # no description: the ISA's typical part


def test_core_cache_follows_the_target():
    assert get_target("ice-lake-sp").core_cache == (48 + 1280) * 1024  # the family's documented caches
    assert get_target("cascade-lake").core_cache == ISAS["avx512"].cache_kib * 1024  # the level's typical part
    assert get_target("avx512").core_cache == get_target("host").core_cache  # an ISA level runs on this host's cores
