"""ovmem's planned groups for the merger: groups.py N [target]"""
import sys, json, collections
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))  # this checkout
import ovmem
from ovmem.report import temp_requests
xml = "/work/bigmodels/qwen2.5-vl-3b-2l-int4/openvino_vision_embeddings_merger_model.xml"
N = int(sys.argv[1]); target = sys.argv[2] if len(sys.argv) > 2 else "amx"
shapes = {"hidden_states": (N, 1280), "attention_mask": (1, N, N), "window_attention_mask": (1, N, N),
          "window_index": (N // 4,), "rotary_pos_emb": (N, 40)}
import os
kw = {"lift_from": os.environ["LIFT"]} if os.environ.get("LIFT") else {}
r = ovmem.analyze(xml, seq_len=N, shapes=shapes, **({} if kw else {"target": target}), **kw)
print("total MiB", getattr(r, "total_bytes", None) and r.total_bytes / 2**20, "temp peak", r.plan.peak / 2**20)
reqs, bufs = temp_requests(r.graph)
off = r.plan.offsets if hasattr(r.plan, "offsets") else r.plan.placements
groups = collections.defaultdict(list)
for q, b in zip(reqs, bufs):
    groups[off[q.id]].append((q, b))
for o in sorted(groups):
    mem = groups[o]
    print(f"-- group @{o/2**20:.2f} max {max(q.size for q,_ in mem)/2**20:.3f} MiB")
    for q, b in sorted(mem, key=lambda x: x[0].start):
        print(f"   [{q.start:4d},{q.end:4d}] {q.size/2**20:8.3f} {b.root.producer.op_type if b.root.producer else '-':14s} {b.root.producer.name if b.root.producer else b.root}"[:170])
