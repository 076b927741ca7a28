"""tracepeak.py TRACE: from a shim.c malloc trace (research/cpu-planner-trace), the largest sum of live
traced blocks during the inference, and the blocks live then, grouped by size and call site."""
import collections, sys

tr = sys.argv[1]
maps = []
for l in open(tr + ".maps"):
    p = l.split()
    if len(p) >= 6:
        a, b = [int(x, 16) for x in p[0].split("-")]
        maps.append((a, b, int(p[2], 16), p[5].split("/")[-1]))


def res(x):
    x = int(x, 16)
    for a, b, off, f in maps:
        if a <= x < b:
            return f"{f}+{x - a + off:#x}"
    return hex(x)


live, ph, cur, best, best_live, best_seq = {}, None, 0, 0, None, None
for l in open(tr):
    p = l.split()
    if p[0] == "M":
        ph = p[1]
        continue
    if p[0] == "A":
        live[p[2]] = (int(p[3]), ph or "pre", tuple(p[5:11]))
        cur += int(p[3])
    elif p[0] == "F" and p[2] in live:
        cur -= live.pop(p[2])[0]
    if ph == "infer" and cur > best:
        best, best_live, best_seq = cur, dict(live), p[1]
print(f"peak of traced live blocks during inference: {best / 2**20:.2f} MiB at event {best_seq}")
c = collections.Counter()
for sz, ph, st in best_live.values():
    c[(ph, sz, tuple(res(x).replace("libopenvino_intel_cpu_plugin.so", "cpu") for x in st[:5]))] += 1
tot = collections.Counter()
for (ph, sz, st), n in sorted(c.items(), key=lambda x: -x[0][1] * x[1]):
    tot[ph] += sz * n
    print(f"{ph:8} {sz / 2**20:9.3f} MiB x{n:<3} {' '.join(st)}")
print({k: round(v / 2**20, 2) for k, v in tot.items()})
