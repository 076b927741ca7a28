import sys
from ovmem.vlm import analyze_pipeline
M = 2**20
folder, tgt = sys.argv[1], sys.argv[2]
for w, h in [(448, 448), (1024, 682)]:
    r = analyze_pipeline(folder, image=(w, h), stages=("vision",), target=tgt)
    print(w, h, "seq", r.vision_sequence, "vision-only total %.1f = weights %.1f runtime %.1f held %s" % (r.total_bytes/M, r.weights()/M, r.runtime_bytes/M, {k: round(v/M,1) for k,v in r.held().items()}))
    for run in r.runs:
        rep = run.report
        print("   ", run.role, "temp %.1f io %.1f weights %.1f" % (rep.temp_peak_bytes/M, rep.io_bytes/M, rep.weights_bytes/M))
