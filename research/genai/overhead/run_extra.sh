#!/bin/bash
# Second batch: N=8 points (plain-ov PA and genai with tokenizer) and the read_model probe; -> results_extra.jsonl, run_extra.log
set -u
cd "$(dirname "$0")"
source /work/venv/bin/activate
out=results_extra.jsonl; log=run_extra.log
: > $out; : > $log
run() { echo "### $*" | tee -a $log; python "$@" 2> >(tee -a $log >&2) | grep '^RESULT ' | sed 's/^RESULT //' >> $out; }
for m in qwen2-0.5b-int4 llama-3.2-1b-4l-int4 phi-3-mini-4l-int4 qwen2-0.5b-f16 llama-3.2-1b-4l-f16 phi-3-mini-4l-f16; do
  f=/work/bigmodels/$m
  run read_probe.py $f
  run ov_pa_probe.py $f 8 genai
  run pipe_probe.py $f notok 8
  run pipe_probe.py $f tok 8
done
# synthetic per-op probe (first call writes the IR, the second measures it)
for K in 1 100 400 800; do python ops_probe.py $K >/dev/null 2>&1; run ops_probe.py $K; done
