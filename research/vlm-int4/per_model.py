"""Per-sub-model estimate (ovmem.analyze) vs measurement alone (ovmem.measure.measure, fresh process).
usage: per_model.py FOLDER WIDTH HEIGHT [roles...]  -> JSON lines to stdout
TGT=TARGET EMU=ISA in the environment: estimate for that target, measure emulating that ISA."""
import json, sys
from pathlib import Path
import ovmem
from ovmem.measure import measure
from ovmem.vlm.layout import detect_layout
from ovmem.vlm.vision import image_sequence, plan_vision
from ovmem.vlm.measure import _vision_shapes

M = 2**20
import os
TARGET = os.environ.get("TGT", "host"); EMU = os.environ.get("EMU") or None
folder, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
only = set(sys.argv[4:])
layout = detect_layout(folder)
seq = image_sequence(layout, w, h)
plan = plan_vision(layout, seq, {})
shapes, image_tokens = _vision_shapes(layout, plan)
tokens = image_tokens + 32
jobs = [(p.role, p.xml, dict(shapes=shapes[p.role], seq_len=plan.sequence)) for p in layout.stage("vision")]
jobs += [("text_embeddings", layout.part("text_embeddings").xml, dict(seq_len=tokens)),
         ("language", layout.part("language").xml, dict(seq_len=tokens))]
for role, xml, kw in jobs:
    if only and role not in only:
        continue
    rep = ovmem.analyze(xml, device="CPU", target=TARGET, **kw)
    m = measure(xml, device="CPU", emulate_target=EMU, **kw)
    row = dict(model=Path(folder).name, image=[w, h], role=role, kw={k: (v if not isinstance(v, dict) else {a: list(b) for a, b in v.items()}) for k, v in kw.items()},
               est_total=rep.total_bytes / M, est_weights=rep.weights_bytes / M, est_runtime=rep.runtime_bytes / M,
               est_working=(rep.state_bytes + rep.io_bytes + rep.temp_peak_bytes + rep.scratch_bytes) / M,
               est_nodes=len(rep.graph.nodes),
               meas_peak=m.peak_rss_bytes / M, meas_anon=m.anon_at_peak / M, meas_file=m.file_at_peak / M,
               meas_infer_start=m.infer_start.rss / M, meas_infer_start_anon=m.infer_start.anon / M,
               meas_infer_start_file=m.infer_start.file / M, device_rss=m.device_rss_bytes / M,
               bin_mib=Path(xml).with_suffix(".bin").stat().st_size / M)
    row["err"] = row["est_total"] / row["meas_peak"] - 1
    print(json.dumps(row), flush=True)
