#!/usr/bin/env bash
# Before (main at d4e9d69, the issue's starting point, built in a second worktree) against after (this commit): two Release
# servers on loopback with every package loaded, started together; 10 closed-loop clients; the servers alternate row by row.
# Run from the repository root after `dotnet build src/BrainTumor.Api -c Release` in both trees and
# `dotnet build loadtests/BrainTumor.LoadTests -c Release` here.
set -euo pipefail
BEFORE_REPO=$(realpath ${BEFORE_REPO:-../wt}); AFTER_REPO=$(realpath ${AFTER_REPO:-.})
OUT=${OUT:-loadtests/results/hot-path-20261206}; ROUNDS=${ROUNDS:-4}; REQ=${REQ:-2000}; WARM=${WARM:-2000}
mkdir -p $OUT
TOOL="dotnet $AFTER_REPO/loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll"
start() { # repo port
  (cd $1/src/BrainTumor.Api/bin/Release/net10.0 && exec env MALLOC_ARENA_MAX=2 dotnet BrainTumor.Api.dll --urls http://127.0.0.1:$2 \
    --Inference:ModelsDirectory $1/models > /dev/null 2>&1) &
}
start $BEFORE_REPO 18081; start $AFTER_REPO 18082
for port in 18081 18082; do
  for i in $(seq 1 120); do curl -sf http://127.0.0.1:$port/health/ready > /dev/null && break; sleep 1; done
done
declare -A PID=([before]=$(pgrep -f "dll --urls http://127.0.0.1:18081") [after]=$(pgrep -f "dll --urls http://127.0.0.1:18082"))
declare -A URL=([before]=http://127.0.0.1:18081 [after]=http://127.0.0.1:18082)
ROWS="lite-cnn:predict lite-cnn:gradcam custom-cnn:predict custom-cnn-int8:predict"
lscpu | grep -E "Model name|Flags" | sed 's/^/# /'
for side in before after; do
  for row in $ROWS; do
    $TOOL --url ${URL[$side]} --model ${row%:*} --scenario ${row#*:} --levels 10 --requests $WARM --warmup 100 --out /tmp/warm > /dev/null
  done
done
for round in $(seq 1 $ROUNDS); do
  for row in $ROWS; do
    for side in before after; do
      model=${row%:*}; scenario=${row#*:}
      cpu0=$(awk '{print $14+$15}' /proc/${PID[$side]}/stat)
      line=$($TOOL --url ${URL[$side]} --model $model --scenario $scenario --levels 10 --requests $REQ --warmup 0 \
        --out $OUT/$side-$model-$scenario-round$round | grep "pass 1")
      cpu1=$(awk '{print $14+$15}' /proc/${PID[$side]}/stat)
      echo "$side $model $scenario round $round: $line; server CPU $(( (cpu1 - cpu0) * 10000 / REQ )) us per request"
    done
  done
done
echo "peak RSS: before $(grep VmHWM /proc/${PID[before]}/status), after $(grep VmHWM /proc/${PID[after]}/status)"
kill ${PID[before]} ${PID[after]}
