#!/usr/bin/env bash
# RSS experiment: all packages, env given in $ENVV; idle RSS, then /gradcam and /predict on every model, VmHWM
cd /work/main
(cd src/BrainTumor.Api/bin/Release/net10.0 && exec env ${ENVV:-A=1} dotnet BrainTumor.Api.dll --urls http://127.0.0.1:18083 --Inference:ModelsDirectory /work/main/models > /dev/null 2>&1) &
for i in $(seq 1 90); do curl -sf http://127.0.0.1:18083/health/ready > /dev/null && break; sleep 1; done
PID=$(pgrep -f "dll --urls http://127.0.0.1:18083")
echo "idle: $(grep VmRSS /proc/$PID/status)"
TOOL="dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll"
for m in lite-cnn resnet18 resnet18-int8 custom-cnn custom-cnn-int8 mobilenetv2 mobilenetv2-int8 resnet50 lite-cnn-ensemble; do
  for s in predict gradcam; do $TOOL --url http://127.0.0.1:18083 --model $m --scenario $s --levels 10 --requests ${REQ:-300} --warmup 20 --out /tmp/rss | grep "pass 1" | sed "s/^/$m $s: /" | cut -c1-80; done
done
echo "after: $(grep -E 'VmRSS|VmHWM' /proc/$PID/status | tr '\n' ' ')"
kill $PID
