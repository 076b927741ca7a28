import sys, collections
tr = sys.argv[1]; T = int(sys.argv[2])
live = {}; phase = "pre"; info = {}
for line in open(tr):
    p = line.split()
    if p[0] == "M": phase = p[1]; continue
    if p[0] == "A": live[p[2]] = (int(p[3]), phase, int(p[1]))
    elif p[0] == "F" and phase != "done": live.pop(p[2], None)
    if phase == "done": break
c = collections.Counter()
tot = collections.Counter()
for ptr, (sz, ph, s) in live.items():
    c[(ph, sz)] += 1; tot[ph] += sz
for (ph, sz), n in sorted(c.items(), key=lambda x: (x[0][0], -x[0][1])):
    print(ph, f"{sz/2**20:9.3f} MiB x{n}  per-token {sz/T:8.1f} B")
print({k: v/2**20 for k, v in tot.items()})
