import sys, ovmem
from ovmem.vlm import analyze_pipeline
M = 2**20
folder, w, h, tgt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = analyze_pipeline(folder, image=(w, h), prompt_tokens=32, target=tgt)
print("vision_sequence", r.vision_sequence, "image_tokens", r.image_tokens)
print("weights vision %.1f embeddings %.1f language %.1f runtime %.1f" % (r.weights("vision")/M, r.weights("embeddings")/M, r.weights("language")/M, r.runtime_bytes/M))
for run in r.runs:
    rep = run.report
    print(f"{run.role:<28}{run.phase:<8} weights {rep.weights_bytes/M:8.1f} state {rep.state_bytes/M:7.1f} io {rep.io_bytes/M:7.1f} temp {rep.temp_peak_bytes/M:7.1f} scratch {rep.scratch_bytes/M:7.1f} working {run.working_bytes/M:7.1f}")
img = r.weights("vision") + r.weights("embeddings") + r.runtime_bytes + sum(v for k, v in r.held().items() if k != "language")
print("image-phase estimate %.1f" % (img / M))
