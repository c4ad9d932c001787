#!/usr/bin/env bash
set -u
cd /work/main
out=loadtests/results/ood-guard-20261202
for round in 1 2; do
  for variant in session-start now; do
    if [ $variant = session-start ]; then dll=/tmp/before/src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll; dir=/tmp/before/models; else dll=/work/main/src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll; dir=/work/main/models; fi
    dotnet $dll --urls http://127.0.0.1:5099 --Inference:ModelsDirectory $dir > /tmp/server-$variant.log 2>&1 &
    pid=$!
    for i in $(seq 1 120); do curl -sf http://127.0.0.1:5099/health/ready >/dev/null && break; sleep 0.5; done
    dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll --url http://127.0.0.1:5099 --scenario predict --levels 10 --requests 3000 --warmup 300 --out $out/$variant-predict-round$round > $out/$variant-predict-round$round.log 2>&1
    echo "$variant round $round: $(grep -i 'req/s' $out/$variant-predict-round$round.log | head -1)"
    kill $pid; wait $pid 2>/dev/null
  done
done
