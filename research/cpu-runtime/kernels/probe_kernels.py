"""Resident bytes each CPU-plugin kernel family adds the first time a process uses it.

Every point runs read_model -> compile_model -> inference(s) of a minimal graph in a fresh child
process, with the child of ``research/cpu-runtime/probe.py`` (taken from git HEAD, so edits to the
working tree during a run do not matter): peak RSS above the baseline taken right after
``import openvino``, anon/file split from /proc/self/status, per-mapping smaps diff, and the runtime
graph's layer types. Dynamic graphs run twice (16 tokens, then 1 token: prefill + decode); static
graphs once. 2 threads (the machine's cores), default precision (bf16 on AMX).

Groups:
* ``base``:   trivial graphs (one Relu / one Add, f32 [1,64]).
* ``single``: one kernel family per graph (SINGLE), plus the one-Add graph beside it (every real model
  has eltwise ops, so the eltwise code is counted in the base, not in each family).
* also ``bare_reshape`` (base group): a lone Reshape, no compute kernel at all.
* ``pair``:   two or more families in one graph (additivity check).
* ``multi``:  the same graph compiled 1 and 3 times in one process (multi_compile.py): what one more
              compiled model costs (a VLM pipeline compiles 3-4).
* ``fix``:    validation: every tests/fixtures model with ``ovmem.measure.measure`` (seq 16) and the
              three VLM pipelines with ``ovmem.vlm.measure.measure_pipeline(folder, 64, prompt_tokens=8)``.

Usage (from the repository root)::

    .venv/bin/python research/cpu-runtime/kernels/probe_kernels.py            # everything, ~3 min
    .venv/bin/python research/cpu-runtime/kernels/probe_kernels.py --groups base,single --reps 1
    .venv/bin/python research/cpu-runtime/kernels/analyze.py                  # the tables of RESULTS.md
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures"
WORK = Path("/tmp/ovmem-kernels")
MODELS = WORK / "models"
TAG = "CPU-RUNTIME-PROBE "
PER_OP = 8991  # bytes per IR op (research/cpu-runtime/RESULTS.md)

H, NH, KVH, HD, INTER, VOCAB = 256, 4, 2, 64, 512, 512


# --- sources pinned at git HEAD -----------------------------------------------------------------

def head_sources() -> tuple[Path, Path]:
    """(snapshot root with ovmem/ of HEAD, probe.py of HEAD), both under /tmp."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = WORK / f"src-{sha[:12]}"
    if not (dest / "ovmem" / "measure.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha, "ovmem", "research/cpu-runtime/probe.py"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, dest / "research" / "cpu-runtime" / "probe.py"


# --- graph builders: each returns (params, results, sinks) ----------------------------------------

def _b():
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops
    return np, ov, ops


def param(name, shape, dtype="f32"):
    np, ov, ops = _b()
    p = ops.parameter(ov.PartialShape(shape), getattr(ov.Type, dtype), name=name)
    p.output(0).get_tensor().set_names({name})
    return p


def c(value, dtype="i64"):
    np, ov, ops = _b()
    return ops.constant(np.array(value, dtype={"i64": np.int64, "f32": np.float32, "i32": np.int32}[dtype]))


_rng = None


def w16(*shape, scale=0.02):
    """f16 weight Constant -> Convert f32 (marked ``decompression`` after saving, as real exports)."""
    global _rng
    np, ov, ops = _b()
    if _rng is None:
        _rng = np.random.default_rng(0)
    data = (_rng.standard_normal(shape) * scale).astype(np.float16)
    return ops.convert(ops.constant(data), ov.Type.f32)


def wq(out, inp, bits, group):
    """NNCF-style compressed weight: u4 (grouped) or u8 (per channel) + zero point + f16 scale."""
    np, ov, ops = _b()
    rng = np.random.default_rng(1)
    t = ov.Type.u4 if bits == 4 else ov.Type.u8
    if group:
        shape, sshape = (out, inp // group, group), (out, inp // group, 1)
    else:
        shape, sshape = (out, inp), (out, 1)
    q = ops.constant(rng.integers(0, 2 ** bits, size=shape).astype(np.uint8), dtype=t)
    zp = ops.constant(np.full(sshape, 2 ** (bits - 1), np.uint8), dtype=t)
    scale = ops.constant((rng.random(sshape) * 0.01).astype(np.float16))
    x = ops.multiply(ops.subtract(ops.convert(q, ov.Type.f16), ops.convert(zp, ov.Type.f16)), scale)
    if group:
        x = ops.reshape(x, c([out, inp]), False)
    return ops.convert(x, ov.Type.f32)


def dyn_x(name="x", width=H):
    return param(name, [-1, -1, width])


def g_relu():
    _, _, ops = _b()
    x = param("x", [1, 64])
    return [x], [ops.relu(x)], []


def g_add():
    _, _, ops = _b()
    a, b = param("a", [1, 64]), param("b", [1, 64])
    return [a, b], [ops.add(a, b)], []


def g_fc(static=False, kind="f16", n=1):
    _, _, ops = _b()
    x = param("x", [1, 64, H]) if static else dyn_x()
    outs = []
    for _ in range(n):
        w = w16(H, H) if kind == "f16" else wq(H, H, 4, 128) if kind == "u4" else wq(H, H, 8, 0)
        outs.append(ops.matmul(x, w, False, True))
    return [x], outs, []


def g_mlp():
    """gate/up/down with a one-input Swish (the plugin's LLMMLP on AMX)."""
    _, _, ops = _b()
    from openvino.utils.node_factory import NodeFactory
    x = dyn_x()
    gate = ops.matmul(x, w16(INTER, H), False, True)
    gate = NodeFactory("opset4").create("Swish", [gate.output(0)], {})
    up = ops.matmul(x, w16(INTER, H), False, True)
    return [x], [ops.matmul(ops.multiply(gate, up), w16(H, INTER), False, True)], []


def g_matmul_act(static=False):
    _, _, ops = _b()
    shape = [1, NH, 64, HD] if static else [-1, NH, -1, HD]
    a, b = param("a", shape), param("b", shape)
    return [a, b], [ops.matmul(a, b, False, True)], []


def g_sdpa(static=False, mask=False, causal=False):
    _, _, ops = _b()
    shape = [1, NH, 64, HD] if static else [-1, NH, -1, HD]
    q, k, v = param("q", shape), param("k", shape), param("v", shape)
    ps = [q, k, v]
    if mask:
        m = param("mask", [1, 1, 64, 64] if static else [-1, 1, -1, -1])
        ps.append(m)
        out = ops.scaled_dot_product_attention(q, k, v, m, causal=False)
    else:
        out = ops.scaled_dot_product_attention(q, k, v, causal=causal)
    return ps, [out], []


def _cfg():
    from ovmem.models.llama import LlamaConfig
    return LlamaConfig(vocab_size=VOCAB, hidden_size=H, intermediate_size=INTER, num_layers=1, num_heads=NH,
                       num_kv_heads=KVH, head_dim=HD, swish_beta=False)


def g_sdpa_kv():
    """Stateful SDPA as optimum exports it: ReadValue -> Gather(beam_idx) -> Concat -> Assign, GQA
    broadcast, causal+padding mask from attention_mask; q/k/v come in as inputs."""
    np, ov, ops = _b()
    from ovmem.models import llama as L
    cfg = _cfg()
    ids = param("input_ids", [-1, -1], "i64")
    am = param("attention_mask", [-1, -1], "i64")
    beam = param("beam_idx", [-1], "i32")
    q = param("q", [-1, NH, -1, HD])
    k = param("k", [-1, KVH, -1, HD])
    v = param("v", [-1, KVH, -1, HD])
    mask = L._causal_mask(ids, am)
    batch = ops.gather(ops.shape_of(ids), c([0]), c(0))
    init = ops.broadcast(c(0.0, "f32"), ops.concat([batch, c([KVH, 0, HD])], 0))
    kf, ka = L._kv_cache(k, 0, "key", init, beam, cfg)
    vf, va = L._kv_cache(v, 0, "value", init, beam, cfg)
    kf, vf = L._repeat_kv(kf, cfg, "rk"), L._repeat_kv(vf, cfg, "rv")
    out = ops.scaled_dot_product_attention(q, kf, vf, mask, causal=False)
    return [ids, am, beam, q, k, v], [out], [ka, va]


def g_rms():
    from ovmem.models import llama as L
    from ovmem.models.llama import _Weights
    x = dyn_x()
    return [x], [L._rms_norm(x, _Weights(_cfg()), "rms", H, 1e-6)], []


def g_rope():
    _, _, ops = _b()
    from ovmem.models import llama as L
    cfg = _cfg()
    pos = param("position_ids", [-1, -1], "i64")
    x = dyn_x()
    y = ops.transpose(ops.reshape(x, c([0, 0, NH, HD]), True), c([0, 2, 1, 3]))
    cos, sin = L._rope_tables(pos, cfg)
    return [x, pos], [L._apply_rope(y, cos, sin, HD // 2, "rope")], []


def g_rope_slice():
    """The rotate-half RoPE as the real exports have it (Slice halves, Multiply by -1): fused to RoPE."""
    np, _, ops = _b()
    from ovmem.models import llama as L
    x = dyn_x()
    y = ops.transpose(ops.reshape(x, c([0, 0, NH, HD]), True), c([0, 2, 1, 3]))
    cos, sin = param("cos", [-1, 1, -1, HD]), param("sin", [-1, 1, -1, HD])
    big = np.iinfo(np.int64).max
    x1 = ops.slice(y, c([0]), c([HD // 2]), c([1]), c([3]))
    x2 = ops.slice(y, c([HD // 2]), c([big]), c([1]), c([3]))
    rot = ops.concat([ops.multiply(x2, c(-1.0, "f32")), x1], -1)
    return [x, cos, sin], [ops.add(ops.multiply(y, cos), ops.multiply(rot, sin))], []


def g_shape_mask():
    from ovmem.models import llama as L
    ids = param("input_ids", [-1, -1], "i64")
    am = param("attention_mask", [-1, -1], "i64")
    return [ids, am], [L._causal_mask(ids, am)], []


def g_gather():
    _, _, ops = _b()
    ids = param("input_ids", [-1, -1], "i64")
    return [ids], [ops.gather(w16(VOCAB, H), ids, c(0))], []


def g_conv2d(static=True):
    _, _, ops = _b()
    x = param("pixel_values", [1, 3, 112, 112] if static else [-1, 3, -1, -1])
    y = ops.convolution(x, w16(H, 3, 14, 14), [14, 14], [0, 0], [0, 0], [1, 1])
    return [x], [y], []


def g_conv3d():
    _, _, ops = _b()
    x = param("hidden_states", [-1, 3 * 2 * 14 * 14])
    y = ops.reshape(x, c([-1, 3, 2, 14, 14]), False)
    y = ops.convolution(y, w16(H, 3, 2, 14, 14), [2, 14, 14], [0, 0, 0], [0, 0, 0], [1, 1, 1])
    return [x], [ops.reshape(y, c([-1, H]), False)], []


def g_groupconv():
    _, _, ops = _b()
    x = param("x", [1, 64, 32, 32])
    return [x], [ops.group_convolution(x, w16(64, 1, 1, 3, 3), [1, 1], [1, 1], [1, 1], [1, 1])], []


def g_mvn(static=True):
    _, _, ops = _b()
    x = param("x", [1, 64, H]) if static else dyn_x()
    y = ops.mvn(x, c([-1]), True, 1e-5, "inside_sqrt")
    return [x], [ops.add(ops.multiply(y, w16(H)), w16(H))], []


def g_softmax(static=False):
    _, _, ops = _b()
    x = param("x", [1, NH, 64, 64] if static else [-1, NH, -1, -1])
    return [x], [ops.softmax(x, -1)], []


def g_gelu(mode="erf"):
    _, _, ops = _b()
    x = param("x", [1, 64, 4 * H])
    return [x], [ops.gelu(x, mode)], []


def g_swish():
    from openvino.utils.node_factory import NodeFactory
    x = dyn_x(width=INTER)
    return [x], [NodeFactory("opset4").create("Swish", [x.output(0)], {})], []


def g_transpose():
    _, _, ops = _b()
    x = param("x", [-1, -1, NH, HD])
    return [x], [ops.transpose(x, c([0, 2, 1, 3]))], []


def g_concat():
    _, _, ops = _b()
    a, b = param("a", [-1, NH, -1, HD]), param("b", [-1, NH, -1, HD])
    return [a, b], [ops.concat([a, b], 2)], []


def g_reshape():
    _, _, ops = _b()
    x = dyn_x()
    return [x], [ops.reshape(x, c([0, 0, NH, HD]), True)], []


def g_interp(mode="linear"):
    import openvino.opset11 as o11
    x = param("x", [1, H, 8, 8])
    y = o11.interpolate(x, c([16, 16]), mode, "sizes", axes=c([2, 3]),
                        coordinate_transformation_mode="half_pixel" if mode != "nearest" else "asymmetric")
    return [x], [y], []


def g_reducemean():
    _, _, ops = _b()
    x = dyn_x()
    return [x], [ops.reduce_mean(x, c([-1]), True)], []


def g_eltwise(static=False):
    _, _, ops = _b()
    shape = [1, 64, H] if static else [-1, -1, H]
    a, b = param("a", shape), param("b", shape)
    y = ops.subtract(ops.multiply(ops.add(a, b), b), a)
    return [a, b], [y], []


def g_sincos():
    _, ov, ops = _b()
    pos = param("position_ids", [-1, -1], "i64")
    f = ops.convert(pos, ov.Type.f32)
    return [pos], [ops.sin(f), ops.cos(f)], []


def g_avgpool():
    _, _, ops = _b()
    x = param("x", [1, H, 16, 16])
    return [x], [ops.avg_pool(x, [4, 4], [0, 0], [0, 0], [4, 4], True)], []


def g_topk():
    _, ov, ops = _b()
    x = param("x", [-1], "f32")
    t = ops.topk(x, ops.gather(ops.shape_of(x), c(0), c(0)), 0, "min", "index", ov.Type.i64)
    return [x], [t.output(1)], []


def g_llama():
    from ovmem.models.llama import build_llama
    m = build_llama(_cfg())
    return m  # a whole model


SINGLE = {
    # name: (builder, IR op type, conditions)
    "fc_f16_dyn": (lambda: g_fc(), "MatMul", "const f16 weight [256,256], dynamic x, bf16"),
    "fc_f16_static": (lambda: g_fc(static=True), "MatMul", "const f16 weight, static [1,64,256]"),
    "fc_u4_dyn": (lambda: g_fc(kind="u4"), "MatMul", "u4 weight, group 128, u4 zero point, f16 scale"),
    "fc_u8_dyn": (lambda: g_fc(kind="u8"), "MatMul", "u8 weight per channel, u8 zero point, f16 scale"),
    "fc_f16_x3_dyn": (lambda: g_fc(n=3), "MatMul", "3 FCs on one input (QKV fusion)"),
    "mlp_f16_dyn": (g_mlp, "MatMul+Swish+Multiply", "gated MLP, one-input Swish (LLMMLP)"),
    "matmul_act_dyn": (lambda: g_matmul_act(), "MatMul", "two activations [?,4,?,64]"),
    "matmul_act_static": (lambda: g_matmul_act(True), "MatMul", "two activations [1,4,64,64]"),
    "sdpa_static": (lambda: g_sdpa(True), "ScaledDotProductAttention", "static [1,4,64,64], no mask"),
    "sdpa_static_mask": (lambda: g_sdpa(True, True), "ScaledDotProductAttention", "static, f32 mask"),
    "sdpa_dyn": (lambda: g_sdpa(), "ScaledDotProductAttention", "dynamic, no mask"),
    "sdpa_dyn_mask": (lambda: g_sdpa(mask=True), "ScaledDotProductAttention", "dynamic, f32 mask"),
    "sdpa_dyn_causal": (lambda: g_sdpa(causal=True), "ScaledDotProductAttention", "dynamic, causal=True"),
    "sdpa_kv": (g_sdpa_kv, "ScaledDotProductAttention+ReadValue", "stateful KV cache + mask subgraph"),
    "rms_dyn": (g_rms, "Power+ReduceMean+Sqrt+Divide", "decomposed RMSNorm (-> RMS)"),
    "rope_dyn": (g_rope, "Sin+Cos+VariadicSplit/Slice+Concat", "build_llama RoPE (VariadicSplit: not fused) + its cos/sin tables"),
    "rope_slice_dyn": (g_rope_slice, "Sin+Cos+Slice+Concat", "rotate-half RoPE with Slice as exports (-> RoPE node), cos/sin inputs"),
    "shape_mask_dyn": (g_shape_mask, "ShapeOf+Range+Select+...", "causal+padding mask subgraph"),
    "gather_embed": (g_gather, "Gather", "f16 table [512,256], i64 ids [?,?]"),
    "conv2d_static": (lambda: g_conv2d(True), "Convolution", "patch 14, [1,3,112,112], f16 weight"),
    "conv2d_dyn": (lambda: g_conv2d(False), "Convolution", "patch 14, [?,3,?,?]"),
    "conv3d_dyn": (g_conv3d, "Convolution", "3D patch [2,14,14] (Qwen2.5-VL), reshape in/out"),
    "groupconv_static": (g_groupconv, "GroupConvolution", "depthwise 3x3 [1,64,32,32]"),
    "mvn_static": (lambda: g_mvn(True), "MVN", "LayerNorm: MVN + scale + shift, [1,64,256]"),
    "mvn_dyn": (lambda: g_mvn(False), "MVN", "LayerNorm, dynamic [?,?,256]"),
    "softmax_dyn": (lambda: g_softmax(False), "Softmax", "[?,4,?,?]"),
    "softmax_static": (lambda: g_softmax(True), "Softmax", "[1,4,64,64]"),
    "gelu_erf": (lambda: g_gelu("erf"), "Gelu", "erf, [1,64,1024]"),
    "gelu_tanh": (lambda: g_gelu("tanh"), "Gelu", "tanh, [1,64,1024]"),
    "swish_dyn": (g_swish, "Swish", "one-input, [?,?,512]"),
    "transpose_dyn": (g_transpose, "Transpose", "[?,?,4,64] -> 0,2,1,3"),
    "concat_dyn": (g_concat, "Concat", "two [?,4,?,64] on axis 2"),
    "reshape_dyn": (g_reshape, "Reshape", "[?,?,256] -> [0,0,4,64]"),
    "interp_linear": (lambda: g_interp("linear"), "Interpolate", "linear 8x8 -> 16x16, [1,256,...]"),
    "interp_cubic": (lambda: g_interp("cubic"), "Interpolate", "cubic 8x8 -> 16x16"),
    "reducemean_dyn": (g_reducemean, "ReduceMean", "[?,?,256] axis -1"),
    "eltwise_dyn": (lambda: g_eltwise(False), "Add+Multiply+Subtract", "chain, dynamic [?,?,256]"),
    "eltwise_static": (lambda: g_eltwise(True), "Add+Multiply+Subtract", "chain, static [1,64,256]"),
    "sincos_dyn": (g_sincos, "Sin+Cos+Convert", "on i64 position_ids"),
    "avgpool_static": (g_avgpool, "AvgPool", "4x4 on [1,256,16,16]"),
    "topk_dyn": (g_topk, "TopK", "argsort of [?] (Qwen2.5-VL window index)"),
    "llama_1layer": (g_llama, "(whole model)", "build_llama 1 layer, hidden 256, marked weights"),
}

PAIRS = {
    "pair_fc_sdpa": ("fc_f16_dyn", "sdpa_dyn_mask"),
    "pair_conv_fc": ("conv2d_static", "fc_f16_static"),
    "pair_mvn_gelu": ("mvn_static", "gelu_erf"),
    "pair_fc_rms": ("fc_f16_dyn", "rms_dyn"),
    "pair_sdpa_softmax": ("sdpa_dyn_mask", "softmax_dyn"),
    "pair_fc_u4_fc_f16": ("fc_u4_dyn", "fc_f16_dyn"),
    "pair_mlp_sdpakv": ("mlp_f16_dyn", "sdpa_kv"),
    "vision_block": ("conv2d_static", "mvn_static", "fc_f16_static", "gelu_erf", "sdpa_static"),
    "llm_parts": ("gather_embed", "rms_dyn", "rope_dyn", "fc_f16_x3_dyn", "sdpa_kv", "mlp_f16_dyn"),
}


def build(name: str) -> Path:
    """Save the graph ``name`` under MODELS and mark its f16 weight Converts ``decompression``."""
    import openvino as ov
    xml = MODELS / name / "model.xml"
    if xml.exists():
        return xml
    global _rng
    _rng = None
    if name in ("trivial_relu", "trivial_add", "bare_reshape"):
        parts = [{"trivial_relu": g_relu, "trivial_add": g_add, "bare_reshape": g_reshape}[name]()]
    elif name == "llama_1layer":
        parts = None
    else:
        members = ("trivial_add", *PAIRS.get(name, (name,)))
        parts = []
        for i, member in enumerate(members):
            ps, rs, ss = g_add() if member == "trivial_add" else SINGLE[member][0]()
            for p in ps:  # distinct input names per member (unless shared LLM inputs)
                n = p.get_friendly_name()
                if n not in ("input_ids", "attention_mask", "position_ids", "beam_idx") and len(members) > 1:
                    p.set_friendly_name(f"{n}_{i}")
                    p.output(0).get_tensor().set_names({f"{n}_{i}"})
            parts.append((ps, rs, ss))
    if parts is None:
        model = g_llama()
    else:
        # shared LLM inputs across members: merge by name
        params, results, sinks, seen = [], [], [], {}
        import openvino.opset13 as ops
        for ps, rs, ss in parts:
            for p in ps:
                n = p.get_friendly_name()
                if n in seen:
                    p.output(0).replace(seen[n].output(0))
                else:
                    seen[n] = p
                    params.append(p)
            results += [ops.result(r) for r in rs]
            sinks += ss
        model = ov.Model(results, sinks, params, name)
    xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, xml, compress_to_fp16=False)
    sys.path.insert(0, str(PROBE.parent))
    import probe  # HEAD's research/cpu-runtime/probe.py
    probe.mark_decompression(xml)
    return xml


# --- inputs, own bytes -----------------------------------------------------------------------------

def plan(xml: Path) -> tuple[list[dict], dict]:
    """Runs (prefill 16 + decode 1 for dynamic graphs, one run for static) and IR facts."""
    import openvino as ov
    model = ov.Core().read_model(xml)
    ops_ = model.get_ops()
    types = collections.Counter(o.get_type_name() for o in ops_)
    dynamic = any(p.get_partial_shape().is_dynamic for p in model.get_parameters())
    stateful = bool(model.get_variables())
    steps = [(16, 0), (1, 16)] if dynamic else [(None, 0)]
    runs, act = [], 0
    for seq, past in steps:
        inputs, run_bytes = {}, 0
        for index, out in enumerate(model.inputs):
            name = out.get_any_name()
            ps = out.get_partial_shape()
            if name == "attention_mask":
                shape = [1, past + seq]
            elif name == "beam_idx":
                shape = [1]
            elif name.startswith("hidden_states") and ps.rank.get_length() == 2:  # conv3d patches
                shape = [64, ps[1].get_length()]
            else:
                shape = []
                for i, d in enumerate(ps):
                    if d.is_static:
                        shape.append(d.get_length())
                    elif i == 0 and ps.rank.get_length() > 1:
                        shape.append(1)
                    elif name.startswith("pixel_values"):
                        shape.append(112)
                    elif name.startswith("mask") and i == 3 and stateful:
                        shape.append(past + seq)
                    else:
                        shape.append(seq if seq else 64)
            kind = {"input_ids": "ids", "attention_mask": "ones", "position_ids": "arange",
                    "beam_idx": "arange"}.get(name, "randn")
            entry = {"index": index, "shape": shape, "kind": kind, "start": 0 if name == "beam_idx" else past}
            if kind == "ids":
                entry["high"] = VOCAB
            inputs[name] = entry
            n = 1
            for d in shape:
                n *= d
            run_bytes += n * out.get_element_type().size
        runs.append({"inputs": inputs})
        act = max(act, run_bytes)
    bin_ = xml.with_suffix(".bin")
    info = {"ir_ops": len(ops_), "ir_types": dict(types), "dynamic": dynamic, "stateful": stateful,
            "bin_bytes": bin_.stat().st_size if bin_.exists() else 0, "input_bytes": act}
    return runs, info


def run_child(xml: Path, runs: list[dict], threads: int = 2) -> dict:
    request = {"xml": str(xml), "measure_py": str(SRC / "ovmem" / "measure.py"),
               "properties": {"INFERENCE_NUM_THREADS": threads}, "interval": 0.001, "runs": runs}
    done = subprocess.run([sys.executable, str(HERE / "child_pages.py"), str(PROBE), json.dumps(request)],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    pages = None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("PAGES "):
            pages = json.loads(line[6:])
        if line.startswith(TAG):
            return {**json.loads(line[len(TAG):]), "pages": pages}
    return {"error": f"child rc={done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}


# --- fixtures (validation) -----------------------------------------------------------------------

def fixture_points() -> list[dict]:
    pts = []
    for folder in sorted(FIXTURES.iterdir()):
        if (folder / "openvino_model.xml").exists():
            pts.append({"group": "fix", "name": folder.name, "kind": "llm", "path": str(folder)})
        elif (folder / "openvino_language_model.xml").exists():
            pts.append({"group": "fix", "name": folder.name, "kind": "vlm", "path": str(folder)})
            for xml in sorted(folder.glob("openvino_*.xml")):
                if "vision" in xml.name:  # single vision encoders (the LLM parts are dynamic LLMs)
                    pts.append({"group": "fix", "name": f"{folder.name}/{xml.stem}", "kind": "part",
                                "path": str(xml)})
    return pts


def run_fixture(point: dict) -> dict:
    code = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
kind, path = sys.argv[2], sys.argv[3]
if kind == "vlm":
    from ovmem.vlm.measure import measure_pipeline
    m = measure_pipeline(path, 64, prompt_tokens=8)
elif kind == "part":
    from pathlib import Path
    from ovmem.vlm.layout import detect_layout
    from ovmem.vlm.vision import plan_vision
    from ovmem.measure import measure
    xml = Path(path)
    layout = detect_layout(xml.parent)
    vp = plan_vision(layout, 64)
    role = [p.role for p in layout.parts if p.xml.name == xml.name][0]
    m = measure(xml, seq_len=1, shapes=vp.shapes[role])
else:
    from ovmem.measure import measure
    m = measure(path, seq_len=16)
print("RESULT " + json.dumps({"peak": m.peak_rss_bytes, "anon": m.anon_at_peak, "file": m.file_at_peak}))
"""
    done = subprocess.run([sys.executable, "-c", code, str(SRC), point["kind"], point["path"]], capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": done.stderr.strip().splitlines()[-1:]}


def main() -> int:
    global SRC, PROBE
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", default="base,single,pair,fix,multi")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated point names (debug)")
    ap.add_argument("--out", default=str(HERE / "results.jsonl"))
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args()
    SRC, PROBE = head_sources()
    sys.path.insert(0, str(SRC))
    groups = args.groups.split(",")
    names = []
    if "base" in groups:
        names += [("base", "trivial_relu"), ("base", "trivial_add"), ("base", "bare_reshape")]
    if "single" in groups:
        names += [("single", n) for n in SINGLE]
    if "pair" in groups:
        names += [("pair", n) for n in PAIRS]
    if args.only:
        keep = set(args.only.split(","))
        names = [(g, n) for g, n in names if n in keep]
    points = []
    for group, name in names:
        xml = build(name)
        runs, info = plan(xml)
        points.append({"group": group, "name": name, "xml": str(xml), "runs": runs, **info})
    fix = fixture_points() if "fix" in groups and not args.only else []
    multi = MULTI if "multi" in groups and not args.only else []
    t0 = time.perf_counter()
    for p in points[:1]:
        run_child(Path(p["xml"]), p["runs"])  # warm-up (page cache), discarded
    with open(args.out, "a" if args.append else "w") as f:
        for rep in range(args.reps):
            for p in points:
                r = run_child(Path(p["xml"]), p["runs"])
                rec = {k: v for k, v in p.items() if k != "runs"}
                rec.update(rep=rep, shapes=[{k: e["shape"] for k, e in run["inputs"].items()} for run in p["runs"]],
                           **{k: r.get(k) for k in ("peak", "hwm", "snaps", "smaps_diff", "layer_types", "pages",
                                                     "primitive_types", "runtime_ops", "thread_counts", "error")})
                f.write(json.dumps(rec) + "\n")
                f.flush()
                s = r.get("error") or f"{r['peak']['rss'] / 2**20:7.2f} MiB (anon {r['peak']['anon'] / 2**20:6.2f} " \
                                      f"file {r['peak']['file'] / 2**20:6.2f})"
                print(f"[{time.perf_counter() - t0:5.0f}s] rep {rep} {p['name']}: {s}", flush=True)
            for p in fix:
                r = run_fixture(p)
                if p["kind"] == "llm" and rep == 0:  # runtime layer types of the real export (not in the peak)
                    import openvino as ov
                    from ovmem.ir.specialize import Specialization
                    from ovmem.measure import _plan_runs
                    xml = Path(p["path"]) / "openvino_model.xml"
                    runs, _ = _plan_runs(ov.Core().read_model(xml), Specialization(seq_len=16))
                    r["layer_types"] = run_child(xml, runs).get("layer_types")
                f.write(json.dumps({**p, "rep": rep, **r}) + "\n")
                f.flush()
                s = r.get("error") or f"{r['peak'] / 2**20:7.2f} MiB"
                print(f"[{time.perf_counter() - t0:5.0f}s] rep {rep} {p['name']}: {s}", flush=True)
            for name in multi:
                for n in (1, 3):
                    done = subprocess.run([sys.executable, str(HERE / "multi_compile.py"), str(build(name)), str(n)],
                                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
                    try:
                        r = json.loads(done.stdout.strip().splitlines()[-1])
                    except (ValueError, IndexError):
                        r = {"error": done.stderr.strip().splitlines()[-1:]}
                    f.write(json.dumps({"group": "multi", "name": name, "n": n, "rep": rep, **r}) + "\n")
                    f.flush()
                    print(f"[{time.perf_counter() - t0:5.0f}s] rep {rep} multi {name} x{n}: {r}", flush=True)
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


MULTI = ("trivial_add", "bare_reshape", "fc_f16_dyn", "fc_u4_dyn", "matmul_act_dyn", "sdpa_dyn_mask", "conv2d_dyn",
         "mvn_dyn", "gelu_erf", "gather_embed", "rms_dyn", "rope_slice_dyn", "mlp_f16_dyn")
"""Graphs compiled 1 and 3 times in one process (group ``multi``): the cost of one more compiled model."""

SRC = PROBE = None

if __name__ == "__main__":
    sys.exit(main())
