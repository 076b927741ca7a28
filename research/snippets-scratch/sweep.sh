#!/bin/bash
# usage: sweep.sh PREC(f32|bf16) THREADS H D RANK MASK LAYERS N...   -> prints "N bytes" of Subgraph scratchpad requests (after M infer)
source /work/main/.venv/bin/activate
P=$1; T=$2; H=$3; D=$4; R=$5; MK=$6; L=$7; shift 7
if [ $P = f32 ]; then ENV="ONEDNN_MAX_CPU_ISA=AVX512_CORE"; PROPS="{\"INFERENCE_PRECISION_HINT\":\"f32\",\"INFERENCE_NUM_THREADS\":$T}"; else ENV=""; PROPS="{\"INFERENCE_NUM_THREADS\":$T}"; fi
for N in "$@"; do
  F=/tmp/sw${XPOSE}_${P}_${T}_${H}_${D}_${R}_${MK}_${L}_$N; rm -f $F
  env $ENV ALLOC_TRACE=$F LD_PRELOAD=${SHIM:-/tmp/shim4k.so} python $(dirname $0)/synth.py $H $D $N "$PROPS" $R $MK $L >/dev/null 2>&1 || echo "fail $N"
  echo "x=${XPOSE:-0} $P T=$T H=$H D=$D rank=$R mask=$MK L=$L N=$N :" $(awk '/M infer/{f=1} f && $1=="A" && $9 ~ /b772$/ {printf "%s ", $4}' $F)
done
