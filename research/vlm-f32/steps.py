"""Instrumented copy of ovmem.vlm.measure's pipeline child: RSS (above the post-import baseline) at every step.
usage: steps.py FOLDER W H [flags]; flags: share (vision share_inputs=True), async (vision via start_async, outputs read in place),
nolm (do not compile the language model), notext (no text embeddings before vision), f32 (INFERENCE_PRECISION_HINT f32; set
ONEDNN_MAX_CPU_ISA in env yourself), onlyvis (compile only the vision parts), nodrop (keep nothing special)"""
import json, os, sys, time
folder, W, H = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]); flags = set(sys.argv[4:])
from ovmem.vlm.layout import detect_layout
from ovmem.vlm.vision import image_sequence, plan_vision
from ovmem.vlm.measure import _vision_shapes, _vision_input, _compile_order, _rows
layout = detect_layout(folder)
seq = image_sequence(layout, W, H); plan = plan_vision(layout, seq); vshapes, planned = _vision_shapes(layout, plan)
import numpy as np
from ovmem import measure as base
import openvino as ov
M = 2**20
sampler, (b_rss, b_anon, b_file), _ = base._start_sampling(0.001)
log = []
def step(label, fn):
    sampler.open_window()
    r = fn()
    peak = sampler.close_window()
    rss, anon, file = sampler.sample()
    log.append((label, (peak - b_rss) / M, (rss - b_rss) / M, (anon - b_anon) / M, (file - b_file) / M))
    print(f"{label:<34} peak {log[-1][1]:8.1f}  end rss {log[-1][2]:8.1f} anon {log[-1][3]:8.1f} file {log[-1][4]:8.1f}", flush=True)
    return r
core = ov.Core(); step("device", lambda: core.get_versions("CPU"))
props = {"INFERENCE_PRECISION_HINT": "f32"} if "f32" in flags else {}
if "nosnip" in flags: props["SNIPPETS_MODE"] = "DISABLE"
parts = [{"role": p.role, "xml": str(p.xml), "stage": p.stage} for p in layout.parts]
order = _compile_order(parts)
if "nolm" in flags: order = [p for p in order if p["role"] != "language"]
if "onlyvis" in flags: order = [p for p in order if p["stage"] == "vision"]
models, compiled = {}, {}
for p in order: models[p["role"]] = step("read " + p["role"], lambda: core.read_model(p["xml"]))
for p in order: compiled[p["role"]] = step("compile " + p["role"], lambda: core.compile_model(models[p["role"]], "CPU", props))
if "language" in compiled: lmreq = step("lm request", lambda: compiled["language"].create_infer_request())
rng = np.random.default_rng(0)
prompt = 32
if "text_embeddings" in compiled and "notext" not in flags:
    text = compiled["text_embeddings"]
    ids = rng.integers(0, 151936, size=(1, planned + prompt), dtype=np.int64)
    embeds = step("text embeddings", lambda: text(ids, share_inputs=True)[0])
vroles = [p.role for p in layout.parts if p.stage == "vision"]
client, previous, keep = [], None, []
for n, role in enumerate(vroles):
    model = compiled[role]; ps = {k: tuple(v) for k, v in vshapes[role].items()}
    def mk():
        d = {}
        for i, port in enumerate(model.inputs):
            name = port.get_any_name()
            d[name] = previous if (i == 0 and previous is not None and tuple(previous.shape) == ps[name]) else _vision_input(name, port.get_element_type(), ps[name], rng)
        return d
    inputs = step(f"inputs {role}", mk)
    print("   ", {k: (tuple(v.shape), str(getattr(v, 'dtype', '')), round(getattr(v, 'nbytes', 0) / M, 1)) for k, v in inputs.items()})
    if n == 0: client.append(inputs[model.inputs[0].get_any_name()])
    if "async" in flags:
        req = model.create_infer_request(); keep.append(req)
        def run():
            req.start_async(inputs, share_inputs=True); req.wait(); return req.get_tensor(model.outputs[0]).data
    elif "share" in flags:
        run = lambda: model(inputs, share_inputs=True)[0]
    else:
        run = lambda: model(inputs)[0]
    previous = step(f"infer {role}", run)
    del inputs
    step(f"del inputs {role}", lambda: None)
print("image-phase max (peak column):", max(l[1] for l in log if not l[0].startswith(("read", "compile", "device", "lm request")))) 
print(json.dumps(log))
