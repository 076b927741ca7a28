"""Make a model's shapes static for one run: batch, sequence length and past (cached) length.

OpenVINO does the shape inference; this module only decides the shape of every model input:

1. A shape given by the user for an input name wins (``shapes={"pixel_values": (1, 3, 448, 448)}``).
2. ``attention_mask`` of rank 2 is ``[batch, past_len + seq_len]`` (it covers the cached tokens).
3. ``position_ids`` of rank 3 is the M-RoPE form ``[3, batch, seq_len]``.
4. ``beam_idx`` is ``[batch]``.
5. Otherwise a dynamic axis 0 of a tensor of rank >= 2 is the batch; every other dynamic axis is the
   sequence. Static dimensions are kept.

A stateful model's variables (the KV cache) are not reached by ``Model.reshape``: ``ReadValue`` keeps
its variable's dynamic shape. :func:`expose_states` therefore turns, on a copy, each ``ReadValue``
into a ``Parameter`` and each ``Assign`` into a ``Result`` (see ``shared/OPENVINO_NOTES.md``), and a
variable's shape follows rule 5 with ``past_len`` for the sequence: ``[batch, kv_heads, past, dim]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from ovmem._lazy import openvino as ov
from ovmem.errors import ModelError, UsageError

__all__ = ["Specialization", "expose_states", "input_shape", "parse_shape", "parse_shapes", "specialize", "state_shape"]

STATE_READ_PREFIX = "ovmem.state.read::"
STATE_WRITE_PREFIX = "ovmem.state.write::"


MAX_DIMENSION = 2**31 - 1
"""The largest size a length, batch or shape dimension may have: OpenVINO's shapes are 64-bit, but a
tensor of more than 2³¹ tokens is no model anyone runs, and the products of such sizes overflow."""


def _positive(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DIMENSION:
        raise UsageError(f"{attribute.name.replace('_', '-')} must be an integer from 1 to {MAX_DIMENSION}, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DIMENSION:
        raise UsageError(f"{attribute.name.replace('_', '-')} must be an integer from 0 to {MAX_DIMENSION}, got {value!r}")


@attrs.frozen
class Specialization:
    """The concrete sizes a model is analysed at."""

    seq_len: int = attrs.field(default=1, validator=_positive)
    """Tokens (or other sequence elements) processed in this run."""
    batch: int = attrs.field(default=1, validator=_positive)
    """Batch size."""
    past_len: int = attrs.field(default=0, validator=_non_negative)
    """Tokens already in the KV cache before this run (0 = prefill)."""
    shapes: Mapping[str, tuple[int, ...]] = attrs.field(factory=dict, converter=lambda m: {k: tuple(v) for k, v in m.items()})
    """Explicit shapes by input name; they override the rules."""


def _fill(pshape: ov.PartialShape, batch: int, seq: int) -> list[int]:
    dims = []
    for axis, dim in enumerate(pshape):
        if dim.is_static:
            dims.append(dim.get_length())
        elif axis == 0 and pshape.rank.get_length() >= 2:
            dims.append(batch)
        else:
            dims.append(seq)
    return dims


def input_shape(name: str, pshape: ov.PartialShape, spec: Specialization) -> list[int]:
    """The static shape of model input ``name`` under ``spec`` (rules 1-5 of the module doc)."""
    if name in spec.shapes:
        return list(spec.shapes[name])
    if pshape.rank.is_dynamic:
        raise ModelError(f"input {name!r} has a dynamic rank; give its shape explicitly (--shape {name}=...)")
    rank = pshape.rank.get_length()
    if name == "attention_mask" and rank == 2:
        return _fill(pshape, spec.batch, spec.past_len + spec.seq_len)
    if name == "position_ids" and rank == 3:
        return [pshape[0].get_length() if pshape[0].is_static else 3, spec.batch, spec.seq_len]
    if name == "beam_idx" and rank == 1:
        return [spec.batch]
    return _fill(pshape, spec.batch, spec.seq_len)


def state_shape(pshape: ov.PartialShape, spec: Specialization) -> list[int]:
    """The static shape of a variable before this run: batch and ``past_len`` for its dynamic axes."""
    return _fill(pshape, spec.batch, spec.past_len)


def expose_states(model: ov.Model) -> dict[str, dict[str, object]]:
    """Replace, in place, every ``ReadValue`` by a ``Parameter`` and every ``Assign`` by a ``Result``.

    Returns, by variable id, the original ``ReadValue`` attributes (``variable_id``,
    ``variable_type``, ``variable_shape``). The new nodes' friendly names carry the variable id after
    :data:`STATE_READ_PREFIX` / :data:`STATE_WRITE_PREFIX` so that the lifted graph can turn them
    back into ``ReadValue`` / ``Assign`` nodes.
    """
    states: dict[str, dict[str, object]] = {}
    params, results = [], []
    for op in model.get_ordered_ops():
        if op.get_type_name() != "ReadValue":
            continue
        out = op.output(0)
        variable_id = op.get_variable_id()
        attributes = dict(op.get_attributes())
        attributes["original_name"] = op.get_friendly_name()
        states[variable_id] = attributes
        param = ov.opset13.parameter(out.get_partial_shape(), out.get_element_type())
        param.set_friendly_name(STATE_READ_PREFIX + variable_id)
        out.replace(param.output(0))
        params.append(param)
    for sink in list(model.get_sinks()):
        if sink.get_type_name() != "Assign":
            continue
        variable_id = sink.get_attributes()["variable_id"]
        result = ov.opset13.result(sink.input_value(0))
        result.set_friendly_name(STATE_WRITE_PREFIX + variable_id)
        states.setdefault(variable_id, {"variable_id": variable_id})["assign_name"] = sink.get_friendly_name()
        model.remove_sink(sink)
        results.append(result)
    if params:
        model.add_parameters(params)
    if results:
        model.add_results(results)
    return states


def specialize(model: ov.Model, spec: Specialization) -> dict[str, dict[str, object]]:
    """Expose the states of ``model`` (a copy you own) and reshape it to static shapes under ``spec``.

    Returns what :func:`expose_states` returns.
    """
    states = expose_states(model)
    known = set()
    targets: dict[ov.Output, ov.PartialShape] = {}
    for param in model.get_parameters():
        out = param.output(0)
        pshape = out.get_partial_shape()
        friendly = param.get_friendly_name()
        if friendly.startswith(STATE_READ_PREFIX):
            shape = state_shape(pshape, spec)
        else:
            name = out.get_any_name() if out.get_names() else friendly
            known.update(out.get_names() | {friendly})
            shape = input_shape(name, pshape, spec)
        if pshape.is_dynamic or shape != list(pshape.to_shape()):
            targets[out] = ov.PartialShape(shape)
    unknown = sorted(set(spec.shapes) - known)
    if unknown:
        raise UsageError(f"--shape names no model input: {', '.join(unknown)}; inputs are {', '.join(sorted(known))}")
    if targets:
        try:
            model.reshape(targets)
        except RuntimeError as exc:
            detail = _first_line(exc)
            raise ModelError(f"OpenVINO could not reshape the model to {_describe(targets)}: {detail}") from exc
    return states


def _describe(targets: Mapping[ov.Output, ov.PartialShape]) -> str:
    shown = [f"{o.get_any_name() if o.get_names() else o.get_node().get_friendly_name()}={s}" for o, s in targets.items()]
    return ", ".join(shown[:4]) + (", ..." if len(shown) > 4 else "")


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.startswith("Exception from")]
    return lines[-1] if lines else type(exc).__name__


def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """Parse ``NAME=1,3,224,224`` (the ``--shape`` option) into a name and dimensions."""
    name, sep, dims = text.partition("=")
    try:
        shape = tuple(int(d) for d in dims.strip("[]()").split(","))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or min(shape) < 0:
        raise UsageError(f"--shape takes NAME=D0,D1,... with non-negative integers, got {text!r}")
    return name, shape


def parse_shapes(texts: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Parse several ``--shape`` options."""
    return dict(parse_shape(t) for t in texts)
