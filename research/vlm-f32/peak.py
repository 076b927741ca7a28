import sys, collections
import ovmem
from ovmem.vlm.layout import detect_layout
from ovmem.vlm.vision import image_sequence, plan_vision
from ovmem.vlm.measure import _vision_shapes
M = 2**20
folder, tgt = sys.argv[1], sys.argv[2]
layout = detect_layout(folder); plan = plan_vision(layout, image_sequence(layout, 1024, 682)); shapes, _ = _vision_shapes(layout, plan)
p = layout.part("vision_embeddings_merger")
rep = ovmem.analyze(p.xml, shapes=shapes[p.role], seq_len=plan.sequence, target=tgt)
print("peak", rep.peak, "scratch", rep.scratch, "counts", rep.counts, "inference_precision", rep.inference_precision)
g = rep.graph
ops = collections.Counter(n.op_type for n in g.nodes)
print(ops)
for w in rep.warnings: print("W", w)
