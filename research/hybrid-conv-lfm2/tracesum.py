"""tracesum.py TRACE: a shim.c trace of a whole `ovmem measure` child (no phase marks): the largest sum of
live traced blocks (>= 256 KiB) and those blocks by size and call site (offsets into the CPU plugin)."""
import collections, sys

live, cur, best, at = {}, 0, 0, None
for l in open(sys.argv[1]):
    p = l.split()
    if p[0] == "A":
        live[p[2]] = (int(p[3]), tuple(x[-5:] for x in p[5:10]))
        cur += int(p[3])
        if cur > best:
            best, at = cur, dict(live)
    elif p[0] == "F" and p[2] in live:
        cur -= live.pop(p[2])[0]
print(f"peak of traced live blocks: {best / 2**20:.2f} MiB")
c = collections.Counter((sz, st) for sz, st in at.values())
for (sz, st), n in sorted(c.items(), key=lambda x: -x[0][0] * x[1]):
    print(f"{sz / 2**20:10.3f} MiB x{n:<3} {' '.join(st)}")
