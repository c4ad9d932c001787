#!/usr/bin/env bash
# Before (main at d4e9d69: full decoding, float only, Skia PNG, canvas-drawn legend) against after (this commit: the hot-path changes of 2026-12-05 afternoon),
# both servers Release builds on loopback, alternating, 10 clients.
set -euo pipefail
BEFORE_REPO=$(realpath ${BEFORE_REPO:-../wt}); AFTER_REPO=$(realpath ${AFTER_REPO:-.})
OUT=${OUT:-loadtests/results/hot-path-20261205}
mkdir -p $OUT
TOOL="dotnet ${AFTER_REPO:-.}/loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll"
(cd ${BEFORE_REPO:-../wt}/src/BrainTumor.Api/bin/Release/net10.0 && exec dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18081 --Inference:ModelsDirectory ${BEFORE_REPO:-../wt}/models > /dev/null 2>&1) &
(cd ${AFTER_REPO:-.}/src/BrainTumor.Api/bin/Release/net10.0 && exec dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18082 --Inference:ModelsDirectory ${AFTER_REPO:-.}/models > /dev/null 2>&1) &
for port in 18081 18082; do
  for i in $(seq 1 90); do curl -sf http://127.0.0.1:$port/health/ready > /dev/null && break; sleep 1; done
done
BEFORE=$(pgrep -f "dll --urls http://127.0.0.1:18081"); AFTER=$(pgrep -f "dll --urls http://127.0.0.1:18082")
run() { # label url model scenario round
  $TOOL --url $2 --model $3 --scenario $4 --levels 10 --requests ${REQ:-1000} --warmup 100 --out $OUT/$1-$3-$4-round$5 | grep "pass 1" | sed "s/^/$1 $3 $4 round $5: /"
}
for round in 1 2; do
  for scenario in predict gradcam; do
    for model in lite-cnn custom-cnn resnet18; do
      run before http://127.0.0.1:18081 $model $scenario $round
      run after http://127.0.0.1:18082 $model $scenario $round
    done
    for model in custom-cnn-int8 resnet18-int8 mobilenetv2 mobilenetv2-int8; do
      run after http://127.0.0.1:18082 $model $scenario $round
    done
  done
done
echo "peak RSS: before $(grep VmHWM /proc/$BEFORE/status), after $(grep VmHWM /proc/$AFTER/status)"
kill $BEFORE $AFTER
