#!/bin/bash
# ovmem's genai estimate for the six exports at N = 8 and 256 -> estimates.jsonl (MiB)
cd "$(dirname "$0")"; source /work/venv/bin/activate
for m in qwen2-0.5b-int4 llama-3.2-1b-4l-int4 phi-3-mini-4l-int4 qwen2-0.5b-f16 llama-3.2-1b-4l-f16 phi-3-mini-4l-f16; do
  for N in 8 256; do
    ovmem analyze /work/bigmodels/$m --seq-len $N --device CPU --runtime genai --json | python -c "
import json, sys; d = json.load(sys.stdin); M = 2**20
keys = ['total_bytes', 'weights_bytes', 'state_bytes', 'io_bytes', 'temp_peak_bytes', 'scratch_bytes', 'runtime_bytes']
print(json.dumps(dict(model='$m', N=$N, **{k: round(d[k] / M, 2) for k in keys})))"
  done
done > estimates.jsonl
