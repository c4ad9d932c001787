#!/usr/bin/env bash
# Before (main at d4e9d69, built in ../wt) against after (the commit to measure), lite-cnn only, both servers Release builds on
# loopback, alternating, 10 clients, 2,000 counted requests per row, two rounds. Run from the repository's root.
set -euo pipefail
BEFORE_REPO=$(realpath ${BEFORE_REPO:-../wt}); AFTER_REPO=$(realpath ${AFTER_REPO:-.})
OUT=${OUT:-loadtests/results/ct-check-20261205/with-gate}
mkdir -p $OUT
TOOL="dotnet $AFTER_REPO/loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll"
(cd $BEFORE_REPO/src/BrainTumor.Api/bin/Release/net10.0 && exec dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18081 --Inference:ModelsDirectory $BEFORE_REPO/models > /dev/null 2>&1) &
(cd $AFTER_REPO/src/BrainTumor.Api/bin/Release/net10.0 && exec dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18082 --Inference:ModelsDirectory $AFTER_REPO/models > /dev/null 2>&1) &
for port in 18081 18082; do
  for i in $(seq 1 90); do curl -sf http://127.0.0.1:$port/health/ready > /dev/null && break; sleep 1; done
done
BEFORE=$(pgrep -f "dll --urls http://127.0.0.1:18081"); AFTER=$(pgrep -f "dll --urls http://127.0.0.1:18082")
run() { # label url scenario round
  $TOOL --url $2 --model lite-cnn --scenario $3 --levels 10 --requests 2000 --warmup 100 --out $OUT/$1-lite-cnn-$3-round$4 | grep "pass 1" | sed "s/^/$1 $3 round $4: /"
}
for round in 1 2; do
  for scenario in predict gradcam; do
    run before http://127.0.0.1:18081 $scenario $round
    run after http://127.0.0.1:18082 $scenario $round
  done
done
kill $BEFORE $AFTER
