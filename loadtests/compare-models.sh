#!/usr/bin/env bash
# Two models on one server, /predict and /gradcam at 10 users, alternating, two rounds, in one run:
#   loadtests/compare-models.sh <results folder> <model> <other model>
# Pause any training job first (kill -STOP), so the two models see the same machine. cpu.txt records the CPU and its flags.
set -u
[ $# -eq 3 ] || { echo "usage: $0 <results folder> <model> <other model>" >&2; exit 2; }
out=$1; first=$2; second=$3
cd "$(dirname "$0")/.."
mkdir -p "$out"
dotnet build src/BrainTumor.Api -c Release -v q > /dev/null && dotnet build loadtests/BrainTumor.LoadTests -c Release -v q > /dev/null || exit 1
dotnet src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll --urls http://127.0.0.1:5099 > /tmp/compare-models-server.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for i in $(seq 1 120); do curl -sf http://127.0.0.1:5099/health/ready >/dev/null && break; sleep 0.5; done
lscpu | grep -E 'Model name|Flags' > "$out/cpu.txt"
for round in 1 2; do
  for scenario in predict gradcam; do
    for model in "$first" "$second"; do
      name=$model-$scenario-round$round
      dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll --url http://127.0.0.1:5099 --scenario $scenario \
        --model "$model" --levels 10 --requests 2000 --warmup 300 --out "$out/$name" > "$out/$name.log" 2>&1
      echo "$name: $(grep -i 'req/s' "$out/$name.log" | head -1)"
    done
  done
done
