import sys, json
sys.path.insert(0, "/work/wt-merger")
import ovmem.vlm as V
from ovmem.vlm.vision import plan_vision
from ovmem.vlm.measure import _vision_shapes
folder = "/work/bigmodels/qwen2.5-vl-3b-2l-int4"
N = int(sys.argv[1])
layout = V.detect_layout(folder)
plan = plan_vision(layout, N)
sh, _ = _vision_shapes(layout, plan)
print(json.dumps({k: v for k, v in sh.items()}, default=list))
