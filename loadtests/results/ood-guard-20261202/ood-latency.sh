#!/usr/bin/env bash
# /predict throughput and latency with and without the out-of-distribution guard, alternating, in one run.
set -u
cd /work/main
out=loadtests/results/ood-guard-20261202
mkdir -p $out
rm -rf /tmp/models-noguard && cp -r models /tmp/models-noguard
for m in /tmp/models-noguard/*; do
  /usr/bin/python3 - "$m/model.json" <<'PY'
import json,sys
p=sys.argv[1]; m=json.load(open(p)); m.pop('outOfDistribution',None); json.dump(m,open(p,'w'),indent=2)
PY
  rm -f $m/ood-statistics.bin
done
dll=/work/main/src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll
for round in 1 2 3; do
  for variant in without-guard with-guard; do
    dir=/work/main/models; [ $variant = without-guard ] && dir=/tmp/models-noguard
    dotnet $dll --urls http://127.0.0.1:5099 --Inference:ModelsDirectory $dir > /tmp/server-$variant.log 2>&1 &
    pid=$!
    for i in $(seq 1 120); do curl -sf http://127.0.0.1:5099/health/ready >/dev/null && break; sleep 0.5; done
    dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll --url http://127.0.0.1:5099 --scenario predict --levels 10 --requests 3000 --warmup 300 --out $out/$variant-predict-round$round > $out/$variant-predict-round$round.log 2>&1
    echo "$variant round $round: $(grep -i 'req/s\|throughput' $out/$variant-predict-round$round.log | head -2 | tr '\n' ' ')"
    kill $pid; wait $pid 2>/dev/null
  done
done
