#!/bin/bash
# Runs every probe sequentially, one fresh python process each; RESULT lines -> results.jsonl, stderr tables -> run.log
set -u
cd "$(dirname "$0")"
source /work/venv/bin/activate
out=results.jsonl; log=run.log
: > $out; : > $log
run() { echo "### $*" | tee -a $log; python "$@" 2> >(tee -a $log >&2) | grep '^RESULT ' | sed 's/^RESULT //' >> $out; }
for V in 256 32064 128256 151936; do run tok_probe.py $V; run ovtok_probe.py $V; done
run tok_probe.py 151936 noplugin
for m in qwen2-0.5b-int4 llama-3.2-1b-4l-int4 phi-3-mini-4l-int4 qwen2-0.5b-f16 llama-3.2-1b-4l-f16 phi-3-mini-4l-f16; do
  f=/work/bigmodels/$m
  run ov_pa_probe.py $f 256 genai
  run pipe_probe.py $f notok 256
  run pipe_probe.py $f tok 256
  run pipe_probe.py $f tokafter 256
done
