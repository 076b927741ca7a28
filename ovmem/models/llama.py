"""A small Llama-style stateful decoder, built op by op with ``openvino.opset13``.

This is ovmem's built-in demo model (so a user without a model of their own still
sees a real report) and the workhorse of the test suite. It mirrors the graph that
``optimum-cli export openvino`` produces for a Llama/Qwen2 checkpoint, so the
analysis meets the same kinds of ops and shapes it meets in real IRs:

* inputs ``input_ids``, ``attention_mask``, ``position_ids`` (i64 ``[?, ?]``) and
  ``beam_idx`` (i32 ``[?]``); output ``logits`` (f32 ``[?, ?, vocab]``);
* weights stored as f16 Constants followed by a Convert to f32 (as in IRs saved
  with ``compress_to_fp16``), or plain f32 Constants;
* decomposed RMSNorm, rotate-half RoPE computed from ``position_ids``, GQA via
  Unsqueeze/Broadcast/Reshape, a dynamic causal+padding mask and opset13
  ``ScaledDotProductAttention``;
* a stateful KV cache: per layer one ReadValue/Assign pair for K and one for V,
  the read state reordered with ``Gather(state, beam_idx, axis=0)`` and extended
  with ``Concat(axis=2)``, whose output feeds both the Assign and attention.

Node friendly names carry the Hugging Face module prefixes (``model.embed_tokens``,
``model.layers.{i}.self_attn.q_proj``, ``model.norm``, ``lm_head``, ...).
"""

from __future__ import annotations

import attrs
import numpy as np
import openvino as ov
import openvino.opset13 as ops
from openvino.op.util import Variable, VariableInfo
from openvino.utils.node_factory import NodeFactory

__all__ = ["LlamaConfig", "build_llama"]

_NEG_INF = float(np.finfo(np.float32).min)  # what transformers uses for masked scores


@attrs.frozen
class LlamaConfig:
    """Hyper-parameters of the demo decoder (defaults: ~44M parameters).

    Attributes:
        vocab_size: Vocabulary size (rows of the embedding table).
        hidden_size: Width of the residual stream.
        intermediate_size: Width of the gated MLP.
        num_layers: Number of decoder layers.
        num_heads: Number of query heads.
        num_kv_heads: Number of key/value heads (GQA when < ``num_heads``).
        head_dim: Size of one attention head.
        rope_theta: RoPE base frequency.
        rms_eps: Epsilon of the RMSNorms.
        tie_word_embeddings: Reuse the embedding table as the lm_head weight.
        weight_dtype: ``"f16"`` (f16 Constant -> Convert f32) or ``"f32"``.
        seed: Seed of the random weights.
        swish_beta: Give the MLP's ``Swish`` the explicit ``beta = 1`` input ``opset13.swish`` adds;
            ``False``: a one-input ``Swish`` as optimum-intel exports it, the only form the CPU
            plugin's ``MLPFusion`` matches (so only then does it make an ``LLMMLP``).
    """

    vocab_size: int = 32000
    hidden_size: int = 512
    intermediate_size: int = 1408
    num_layers: int = 4
    num_heads: int = 8
    num_kv_heads: int = 2
    head_dim: int = 64
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    tie_word_embeddings: bool = False
    weight_dtype: str = attrs.field(default="f16", validator=attrs.validators.in_(("f16", "f32")))
    seed: int = 0
    swish_beta: bool = True

    def __attrs_post_init__(self) -> None:
        if self.num_heads % self.num_kv_heads or self.head_dim % 2:
            raise ValueError("num_heads must be a multiple of num_kv_heads and head_dim even")


def _const(value, dtype=np.int64, name: str | None = None) -> ov.Node:
    """A small constant (shapes, axes, scalars) of the given numpy dtype."""
    return ops.constant(np.array(value, dtype=dtype), name=name)


class _Weights:
    """Creates weight Constants (with the f16 -> f32 Convert when compressed)."""

    def __init__(self, config: LlamaConfig) -> None:
        self._rng = np.random.default_rng(config.seed)
        self._f16 = config.weight_dtype == "f16"

    def _random(self, shape: tuple[int, ...]) -> np.ndarray:
        # Sampling normals and casting is ~10x slower than this: draw raw f16 bit
        # patterns, keep sign, mantissa and the lowest exponent bit, and force the
        # exponent to 8 or 9, i.e. magnitudes in [2**-7, 2**-5) (std ~0.019).
        bits = self._rng.integers(0, 1 << 16, size=shape, dtype=np.uint16)
        values = ((bits & 0x87FF) | 0x2000).view(np.float16)
        return values if self._f16 else values.astype(np.float32)

    def tensor(self, name: str, data: np.ndarray) -> ov.Node:
        """Wraps ``data`` as Constant ``name`` and returns its f32 value."""
        const = ov.op.Constant(data.astype(np.float16 if self._f16 else np.float32, copy=False),
                               shared_memory=True)
        const.set_friendly_name(name)
        return ops.convert(const, ov.Type.f32, name=f"{name}/convert") if self._f16 else const

    def random(self, name: str, *shape: int) -> ov.Node:
        """Random ``[*shape]`` weight named ``name``."""
        return self.tensor(name, self._random(shape))

    def ones(self, name: str, size: int) -> ov.Node:
        """All-ones ``[size]`` weight (norm scales) named ``name``."""
        return self.tensor(name, np.ones(size, np.float32))


def _linear(x: ov.Node, w: _Weights, name: str, out_features: int, in_features: int) -> ov.Node:
    """``x @ W.T`` with ``W`` of shape ``[out, in]``, like a torch Linear export."""
    return ops.matmul(x, w.random(f"{name}.weight", out_features, in_features),
                      False, True, name=name)


def _rms_norm(x: ov.Node, w: _Weights, name: str, size: int, eps: float) -> ov.Node:
    """Decomposed RMSNorm: ``x / sqrt(mean(x**2, -1) + eps) * weight``."""
    squared = ops.power(x, _const(2.0, np.float32), name=f"{name}/pow")
    mean = ops.reduce_mean(squared, _const([-1]), keep_dims=True, name=f"{name}/mean")
    std = ops.sqrt(ops.add(mean, _const(eps, np.float32), name=f"{name}/add_eps"), name=f"{name}/sqrt")
    inv = ops.divide(_const(1.0, np.float32), std, name=f"{name}/rsqrt")
    normed = ops.multiply(x, inv, name=f"{name}/normalize")
    return ops.multiply(normed, w.ones(f"{name}.weight", size), name=name)


def _rope_tables(position_ids: ov.Node, config: LlamaConfig) -> tuple[ov.Node, ov.Node]:
    """``cos`` and ``sin`` of shape ``[B, 1, S, head_dim]``, shared by all layers."""
    half = config.head_dim // 2
    inv_freq = 1.0 / config.rope_theta ** (np.arange(half, dtype=np.float32) * 2 / config.head_dim)
    positions = ops.unsqueeze(ops.convert(position_ids, ov.Type.f32), _const(2))   # [B, S, 1]
    freqs = ops.matmul(positions, _const(inv_freq[None, :], np.float32, "model.rotary_emb.inv_freq"),
                       False, False, name="model.rotary_emb/freqs")                   # [B, S, D/2]
    emb = ops.concat([freqs, freqs], -1, name="model.rotary_emb/emb")
    cos = ops.unsqueeze(ops.cos(emb, name="model.rotary_emb/cos"), _const(1))
    sin = ops.unsqueeze(ops.sin(emb, name="model.rotary_emb/sin"), _const(1))
    return cos, sin


def _apply_rope(x: ov.Node, cos: ov.Node, sin: ov.Node, half: int, name: str) -> ov.Node:
    """``x * cos + rotate_half(x) * sin`` with ``rotate_half = Concat(-x2, x1)``."""
    x1, x2 = ops.variadic_split(x, _const(-1), _const([half, half]), name=f"{name}/split").outputs()
    rotated = ops.concat([ops.negative(x2, name=f"{name}/neg"), x1], -1, name=f"{name}/rotate_half")
    return ops.add(ops.multiply(x, cos), ops.multiply(rotated, sin), name=name)


def _causal_mask(input_ids: ov.Node, attention_mask: ov.Node) -> ov.Node:
    """Float mask ``[B, 1, S, past+S]``: 0 where attention is allowed, large negative elsewhere."""
    seq = ops.gather(ops.shape_of(input_ids), _const(1), _const(0))
    total = ops.gather(ops.shape_of(attention_mask), _const(1), _const(0))
    past = ops.subtract(total, seq, name="causal_mask/past_len")
    q_pos = ops.range(past, total, _const(1), "i64", name="causal_mask/q_pos")           # [S]
    k_pos = ops.range(_const(0), total, _const(1), "i64", name="causal_mask/k_pos")      # [T]
    causal = ops.less_equal(ops.unsqueeze(k_pos, _const(0)), ops.unsqueeze(q_pos, _const(1)))
    padding = ops.unsqueeze(ops.not_equal(attention_mask, _const(0)), _const([1, 2]))    # [B,1,1,T]
    allowed = ops.logical_and(causal, padding, name="causal_mask/allowed")               # [B,1,S,T]
    return ops.select(allowed, _const(0.0, np.float32), _const(_NEG_INF, np.float32), name="causal_mask")


def _kv_cache(new: ov.Node, layer: int, kind: str, init: ov.Node, beam_idx: ov.Node,
              config: LlamaConfig) -> tuple[ov.Node, ov.Node]:
    """Stateful cache for one of K/V: returns ``(past+new, Assign)``."""
    info = VariableInfo()
    info.variable_id = f"past_key_values.{layer}.{kind}present.{layer}.{kind}"
    info.data_type = ov.Type.f32
    info.data_shape = ov.PartialShape([-1, config.num_kv_heads, -1, config.head_dim])
    variable = Variable(info)
    past = ops.read_value(init, variable, name=f"past_key_values.{layer}.{kind}")
    past = ops.gather(past, beam_idx, _const(0), name=f"past_key_values.{layer}.{kind}/beam_reorder")
    full = ops.concat([past, new], 2, name=f"present.{layer}.{kind}/concat")
    return full, ops.assign(full, variable, f"present.{layer}.{kind}")


def _repeat_kv(x: ov.Node, config: LlamaConfig, name: str) -> ov.Node:
    """``[B, KVH, T, D] -> [B, H, T, D]`` as transformers' ``repeat_kv`` exports."""
    n_rep = config.num_heads // config.num_kv_heads
    if n_rep == 1:
        return x
    x = ops.unsqueeze(x, _const(2), name=f"{name}/unsqueeze")                            # [B,KVH,1,T,D]
    x = ops.broadcast(x, _const([1, 1, n_rep, 1, 1]), broadcast_spec="BIDIRECTIONAL", name=f"{name}/broadcast")
    return ops.reshape(x, _const([0, config.num_heads, -1, config.head_dim]), True, name=f"{name}/reshape")


def _attention(x: ov.Node, w: _Weights, config: LlamaConfig, layer: int, rope: tuple[ov.Node, ov.Node],
               mask: ov.Node, cache_init: ov.Node, beam_idx: ov.Node) -> tuple[ov.Node, list[ov.Node]]:
    """Self-attention block (no residual); returns its output and the two Assigns."""
    p, c = f"model.layers.{layer}.self_attn", config
    hidden, q_width, kv_width = c.hidden_size, c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim

    def heads(proj: str, width: int, n_heads: int) -> ov.Node:
        y = _linear(x, w, f"{p}.{proj}", width, hidden)
        y = ops.reshape(y, _const([0, 0, n_heads, c.head_dim]), True, name=f"{p}.{proj}/reshape")
        return ops.transpose(y, _const([0, 2, 1, 3]), name=f"{p}.{proj}/transpose")  # [B, heads, S, D]

    q = _apply_rope(heads("q_proj", q_width, c.num_heads), *rope, c.head_dim // 2, f"{p}/q_rope")
    k = _apply_rope(heads("k_proj", kv_width, c.num_kv_heads), *rope, c.head_dim // 2, f"{p}/k_rope")
    v = heads("v_proj", kv_width, c.num_kv_heads)
    k, k_assign = _kv_cache(k, layer, "key", cache_init, beam_idx, c)
    v, v_assign = _kv_cache(v, layer, "value", cache_init, beam_idx, c)
    k, v = _repeat_kv(k, c, f"{p}/repeat_k"), _repeat_kv(v, c, f"{p}/repeat_v")
    attn = ops.scaled_dot_product_attention(q, k, v, mask, causal=False, name=f"{p}/sdpa")
    attn = ops.transpose(attn, _const([0, 2, 1, 3]), name=f"{p}/transpose_out")
    attn = ops.reshape(attn, _const([0, 0, q_width]), True, name=f"{p}/reshape_out")
    return _linear(attn, w, f"{p}.o_proj", hidden, q_width), [k_assign, v_assign]


def _mlp(x: ov.Node, w: _Weights, config: LlamaConfig, layer: int) -> ov.Node:
    """Gated MLP: ``down(swish(gate(x)) * up(x))``."""
    p, h, i = f"model.layers.{layer}.mlp", config.hidden_size, config.intermediate_size
    gate = _linear(x, w, f"{p}.gate_proj", i, h)
    if config.swish_beta:
        gate = ops.swish(gate, name=f"{p}.act_fn")
    else:  # opset13.swish always adds a beta input; the factory builds the one-input op
        gate = NodeFactory("opset4").create("Swish", [gate.output(0)], {})
        gate.set_friendly_name(f"{p}.act_fn")
    up = _linear(x, w, f"{p}.up_proj", i, h)
    return _linear(ops.multiply(gate, up, name=f"{p}/gated"), w, f"{p}.down_proj", h, i)


def _parameter(name: str, dtype: ov.Type, shape: list[int]) -> ov.Node:
    param = ops.parameter(ov.PartialShape(shape), dtype, name=name)
    param.output(0).get_tensor().set_names({name})
    return param


def build_llama(config: LlamaConfig = LlamaConfig()) -> ov.Model:
    """Builds the stateful Llama-style decoder described in the module docstring.

    Args:
        config: Model hyper-parameters; the default builds in well under a second.

    Returns:
        An ``openvino.Model`` named ``"llama-demo"`` whose sinks are the KV-cache Assigns.
    """
    c, w = config, _Weights(config)
    input_ids = _parameter("input_ids", ov.Type.i64, [-1, -1])
    attention_mask = _parameter("attention_mask", ov.Type.i64, [-1, -1])
    position_ids = _parameter("position_ids", ov.Type.i64, [-1, -1])
    beam_idx = _parameter("beam_idx", ov.Type.i32, [-1])

    embed_table = w.random("model.embed_tokens.weight", c.vocab_size, c.hidden_size)
    x = ops.gather(embed_table, input_ids, _const(0), name="model.embed_tokens")
    rope = _rope_tables(position_ids, c)
    mask = _causal_mask(input_ids, attention_mask)
    # Empty cache [batch, kv_heads, 0, head_dim], as optimum's build_state_initializer makes it.
    batch = ops.gather(ops.shape_of(input_ids), _const([0]), _const(0))
    cache_shape = ops.concat([batch, _const([c.num_kv_heads, 0, c.head_dim])], 0)
    cache_init = ops.broadcast(_const(0.0, np.float32), cache_shape, name="past_key_values/init")

    assigns: list[ov.Node] = []
    for layer in range(c.num_layers):
        p = f"model.layers.{layer}"
        h = _rms_norm(x, w, f"{p}.input_layernorm", c.hidden_size, c.rms_eps)
        attn, layer_assigns = _attention(h, w, c, layer, rope, mask, cache_init, beam_idx)
        assigns += layer_assigns
        x = ops.add(x, attn, name=f"{p}/attn_residual")
        h = _rms_norm(x, w, f"{p}.post_attention_layernorm", c.hidden_size, c.rms_eps)
        x = ops.add(x, _mlp(h, w, c, layer), name=f"{p}/mlp_residual")

    x = _rms_norm(x, w, "model.norm", c.hidden_size, c.rms_eps)
    lm_weight = (embed_table if c.tie_word_embeddings
                 else w.random("lm_head.weight", c.vocab_size, c.hidden_size))
    logits = ops.matmul(x, lm_weight, False, True, name="lm_head")
    logits.output(0).get_tensor().set_names({"logits"})
    result = ops.result(logits, name="logits")
    return ov.Model(results=[result], sinks=assigns,
                    parameters=[input_ids, attention_mask, position_ids, beam_idx], name="llama-demo")
