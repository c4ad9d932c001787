#!/usr/bin/env bash
# Before (main at 585b29d) against after (the 8-bit dense head and the prediction-only session), both Release servers on
# loopback started as shipped (MALLOC_ARENA_MAX=2), alternating, 10 clients, two rounds; then each server's peak memory
# with every package loaded, by the method of ../memory-20261205/run.sh. BEFORE_REPO is a checkout of the before commit.
# ROUNDS, SCENARIOS and MEMORY=0 run part of it again (e.g. after another job took the cores).
set -euo pipefail
BEFORE_REPO=$(realpath ${BEFORE_REPO:?a checkout of the before commit, built with dotnet build src/BrainTumor.Api -c Release})
AFTER_REPO=$(realpath ${AFTER_REPO:-.})
OUT=${OUT:-loadtests/results/int8-head-20261205}
mkdir -p $OUT
TOOL="dotnet $AFTER_REPO/loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll"
serve() { # repo port
  (cd $1/src/BrainTumor.Api/bin/Release/net10.0 && exec env MALLOC_ARENA_MAX=2 dotnet BrainTumor.Api.dll --urls http://127.0.0.1:$2 \
    --Inference:ModelsDirectory $1/models > /dev/null 2>&1) &
  for i in $(seq 1 120); do curl -sf http://127.0.0.1:$2/health/ready > /dev/null && break; sleep 1; done
  pgrep -f "dll --urls http://127.0.0.1:$2"
}
run() { # label url model scenario round
  $TOOL --url $2 --model $3 --scenario $4 --levels 10 --requests ${REQ:-1000} --warmup 100 --out $OUT/$1-$3-$4-round$5 \
    | grep "pass 1" | sed "s/^/$1 $3 $4 round $5: /"
}
BEFORE=$(serve $BEFORE_REPO 18081); AFTER=$(serve $AFTER_REPO 18082)
for round in ${ROUNDS:-1 2}; do
  for scenario in ${SCENARIOS:-predict gradcam}; do
    for model in custom-cnn custom-cnn-int8 lite-cnn; do
      run before http://127.0.0.1:18081 $model $scenario $round
      run after http://127.0.0.1:18082 $model $scenario $round
    done
  done
done
kill $BEFORE $AFTER; sleep 3
RSS_OUT=$(mktemp -d)
memory() { # label repo
  local pid; pid=$(serve $2 18083)
  echo "$1 idle: $(grep VmRSS /proc/$pid/status)"
  for m in lite-cnn resnet18 resnet18-int8 custom-cnn custom-cnn-int8 mobilenetv2 mobilenetv2-int8 resnet50 lite-cnn-ensemble; do
    for s in predict gradcam; do
      $TOOL --url http://127.0.0.1:18083 --model $m --scenario $s --levels 10 --requests 300 --warmup 20 \
        --out $RSS_OUT > /dev/null
    done
  done
  echo "$1 after: $(grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr '\n' ' ')"
  kill $pid; sleep 3
}
if [ "${MEMORY:-1}" = 1 ]; then
  memory before $BEFORE_REPO
  memory after $AFTER_REPO
fi
