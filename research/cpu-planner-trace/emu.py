import json, sys, bisect, collections
pre = json.load(open(sys.argv[1]))      # dynamic-shape runtime model
post = {x["name"]: x for x in json.load(open(sys.argv[2]))}  # after inference (concrete shapes)
verbose = "-v" in sys.argv
import os
INPLN = [k for k in os.environ.get("INPLN","").split(",") if k]
INPL = set(os.environ.get("INPL","").split(","))
BYTES = {"f32": 4, "bf16": 2, "f16": 2, "i32": 4, "i64": 8, "u8": 1, "i8": 1, "boolean": 1}
TB = {"<Type: 'float32'>": 4, "<Type: 'bfloat16'>": 2, "<Type: 'int32_t'>": 4, "<Type: 'int64_t'>": 8, "<Type: 'uint8_t'>": 1, "<Type: 'float16'>": 2, "<Type: 'int8_t'>": 1}
nodes = sorted(pre, key=lambda x: x["exec"])
by = {x["name"]: x for x in nodes}
# data-dependent ports (shape inference reads values)
MASK = {"Reshape": [1], "Broadcast": [1, 2], "Range": [0, 1, 2], "StridedSlice": [1, 2, 3], "Slice": [1, 2, 3, 4],
        "Tile": [1], "Pad": [1, 2], "Gather": [2], "Split": [1, 2], "Interpolate": [1, 2, 3], "TopK": [1]}
def dyn(x): return any("?" in s for _, s in x["outs"]) or any("?" in by[i]["outs"][p][1] for i, p in x["ins"])
const = lambda name: by[name]["type"] == "Const"
syncs = []
SYNCT = tuple(os.environ.get("SYNCT", "MemoryInput,RoPE,StridedSlice").split(","))
NOMASK = set(os.environ.get("NOMASK", "").split(","))
for k in NOMASK: MASK.pop(k, None)
for x in nodes:
    if not dyn(x): continue
    # RoPE: NgraphShapeInferFactory -> ShapeInferFallback, FULL_PORT_MASK (openvinotoolkit/openvino
    # src/plugins/intel_cpu/src/nodes/rope.cpp, src/plugins/intel_cpu/src/shape_inference/shape_inference.cpp);
    # StridedSlice: a sync point even with constant bounds (found by the trace, not explained by the source read)
    if x["type"] in SYNCT or any(p < len(x["ins"]) and not const(x["ins"][p][0]) for p in MASK.get(x["type"], [])):
        syncs.append(x["exec"])
consumers = collections.defaultdict(list)
for x in nodes:
    for i, p in x["ins"]:
        consumers[(i, p)].append(x)
# clusters: union of in-place aliases
parent = {}
def find(k):
    while parent.get(k, k) != k: k = parent[k]
    return k
for x in nodes:
    if (x["type"] in ("Reshape",) or (x["type"] in INPL) or any(k and k in x["name"] for k in INPLN)) and x["ins"] and not const(x["ins"][0][0]):
        for p in range(len(x["outs"])): parent[(x["name"], p)] = find(tuple(x["ins"][0]))
clusters = collections.defaultdict(list)
for x in nodes:
    for p in range(len(x["outs"])):
        clusters[find((x["name"], p))].append((x["name"], p))
def size(name, p):
    o = post[name]["outs"][p]
    t, s = o.split("[", 1)
    n = 1
    for d in s.rstrip("]").split(","):
        if d: n *= int(d)
    return n * TB[t]
boxes = []
for root, members in clusters.items():
    rn = by[root[0]]
    if rn["type"] in ("Const",): continue
    start, finish, isz, dynamic, io = 10**9, -1, 0, False, False
    for (n, p) in members:
        x = by[n]
        if "?" in x["outs"][p][1]: dynamic = True
        cs = consumers[(n, p)]
        if x["type"] == "Input": io = True
        for c in cs:
            if c["type"] in ("Output",): io = True
            if c["type"] == "MemoryOutput" and not os.environ.get("MOBOX"): io = True  # stub
        start = min(start, x["exec"]); finish = max([finish] + [c["exec"] for c in cs if not ((c["type"] in ("Reshape", *INPL) or any(k and k in c["name"] for k in INPLN)) and find((c["name"], 0)) == root)])
        isz = max(isz, size(n, p))
    if io or not dynamic or finish < 0: continue
    if rn["type"] == "MemoryInput" and not os.environ.get("MIBOX"): continue  # state memory, not a planner box
    if any(c["type"] == "MemoryOutput" for (n, p) in members for c in consumers[(n, p)]): isz = 0
    boxes.append([start, finish, isz, root])
# sync extension
for b in boxes:
    lo = bisect.bisect_left(syncs, b[0]); up = bisect.bisect_left(syncs, b[1])  # first sync >= finish
    if lo != up:
        b[1] = syncs[up] if up < len(syncs) else 10**6
boxes.sort(key=lambda b: (b[0], b[1]))
groups = []
for b in boxes:
    for g in groups:
        l = g[-1]
        if l[0] > b[1] or l[1] < b[0]: g.append(b); break
    else: groups.append([b])
tot = 0
for gi, g in enumerate(groups):
    m = max(b[2] for b in g); tot += m
    print(f"G{gi} {m/2**20:.3f} n={len(g)}")
    if verbose:
        for b in g: print(f"     {b[2]/2**20:9.3f} [{b[0]}-{b[1]}] {by[b[3][0]]['type']} {b[3][0][:70]}")
print("syncs", syncs)
print("total", tot / 2**20)
if "-e" in sys.argv:
    gid = {}
    for gi, g in enumerate(groups):
        for b in g: gid[id(b)] = gi
    cur = [0] * len(groups)
    for b in sorted(boxes, key=lambda b: b[0]):
        gi = gid[id(b)]
        if b[2] > cur[gi]:
            print(f"  exec {b[0]:4d} G{gi:<3d} alloc {b[2]/2**20:9.3f} free {cur[gi]/2**20:9.3f}  {by[b[3][0]]['type']} {b[3][0][:60]}")
            cur[gi] = b[2]
def run(order_key, fits):
    bs = sorted(boxes, key=order_key)
    gs = []
    for b in bs:
        for g in gs:
            if fits(g, b): g.append(b); break
        else: gs.append([b])
    return sorted([max(x[2] for x in g) for g in gs], reverse=True)
last = lambda g, b: g[-1][0] > b[1] or g[-1][1] < b[0]
anyov = lambda g, b: all(x[0] > b[1] or x[1] < b[0] for x in g)
for name, k, f in [("last,(s,f)", lambda b: (b[0], b[1]), last), ("last,(s,-f)", lambda b: (b[0], -b[1]), last),
                   ("all,(s,f)", lambda b: (b[0], b[1]), anyov)]:
    r = run(k, f); print(name, sum(r)/2**20, [round(x/2**20, 2) for x in r if x >= 2**18])
