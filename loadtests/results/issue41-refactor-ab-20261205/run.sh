#!/usr/bin/env bash
# Issue 41 no-regression A/B: servers published (dotnet publish src/BrainTumor.Api -c Release -o <dir>) from 753972e and from
# main (4d07c3b; no src change since ae8ea3d), alternating, 10 clients. BEFORE/AFTER are the publish folders, BEFORE_MODELS the
# models/ folder of a 753972e checkout.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
OUT=${OUT:-/tmp/ab41}; mkdir -p $OUT
TOOL="dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll"
(cd "$BEFORE" && exec env MALLOC_ARENA_MAX=2 dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18081 --Inference:ModelsDirectory "$BEFORE_MODELS" > /dev/null 2>&1) &
(cd "$AFTER" && exec env MALLOC_ARENA_MAX=2 dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18082 --Inference:ModelsDirectory "$PWD/models" > /dev/null 2>&1) &
for port in 18081 18082; do for i in $(seq 1 120); do curl -sf http://127.0.0.1:$port/health/ready > /dev/null && break; sleep 1; done; done
BEFORE_PID=$(pgrep -f "dll --urls http://127.0.0.1:18081"); AFTER_PID=$(pgrep -f "dll --urls http://127.0.0.1:18082")
run() { $TOOL --url $2 --model $3 --scenario $4 --levels 10 --requests ${REQ:-1500} --warmup 100 --out $OUT/$1-$3-$4-round$5 | grep "pass 1" | sed "s/^/$1 $3 $4 round $5: /"; }
for round in ${ROUNDS:-1 2}; do for scenario in ${SCEN:-predict gradcam}; do for model in ${MODELS:-lite-cnn}; do
  run before http://127.0.0.1:18081 $model $scenario $round
  run after http://127.0.0.1:18082 $model $scenario $round
done; done; done
kill $BEFORE_PID $AFTER_PID
