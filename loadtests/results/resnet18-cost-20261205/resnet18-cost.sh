#!/usr/bin/env bash
# /predict and /gradcam with lite-cnn and resnet18 on one server, alternating, in one run. Pause any training job first
# (kill -STOP), so the two models see the same machine.
set -u
cd "$(dirname "$0")/../../.."
out=loadtests/results/resnet18-cost-20261205
dotnet build src/BrainTumor.Api -c Release -v q > /dev/null && dotnet build loadtests/BrainTumor.LoadTests -c Release -v q > /dev/null
dll=src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll
dotnet $dll --urls http://127.0.0.1:5099 > /tmp/server-resnet18-cost.log 2>&1 &
pid=$!
for i in $(seq 1 120); do curl -sf http://127.0.0.1:5099/health/ready >/dev/null && break; sleep 0.5; done
lscpu | grep -E 'Model name|Flags' > $out/cpu.txt
for round in 1 2; do
  for scenario in predict gradcam; do
    for model in lite-cnn resnet18; do
      name=$model-$scenario-round$round
      dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll --url http://127.0.0.1:5099 --scenario $scenario \
        --model $model --levels 10 --requests 2000 --warmup 300 --out $out/$name > $out/$name.log 2>&1
      echo "$name: $(grep -i 'req/s' $out/$name.log | head -1)"
    done
  done
done
kill $pid; wait $pid 2>/dev/null
