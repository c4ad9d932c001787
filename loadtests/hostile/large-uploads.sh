#!/usr/bin/env bash
# Issue 15's memory target: 300 clients each POST an 18.5 MB PNG (4300x4300 grey noise) to /predict at once.
# Prints the answers by status and the server's peak resident memory (VmRSS, sampled every 100 ms), plus the
# time to answer a 512x512 PNG carrying a 15 MB tEXt chunk. Usage: loadtests/hostile/large-uploads.sh [clients]
set -euo pipefail
cd "$(dirname "$0")/../.."
clients=${1:-300}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 loadtests/hostile/make_png.py noise 4300 4300 "$work/large.png" >/dev/null
python3 loadtests/hostile/make_png.py text-chunk 15 "$work/text-chunk.png" >/dev/null
dotnet build src/BrainTumor.Api -c Release -v quiet -nologo >/dev/null
port=5181
dotnet src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll --urls "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done
peak=0
( while kill -0 $server 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' /proc/$server/status 2>/dev/null || echo 0)
    echo "$rss"; sleep 0.1
  done ) >"$work/rss" &
sampler=$!
start=$(date +%s.%N)
seq 1 "$clients" | xargs -P "$clients" -I{} curl -s -o /dev/null -w "%{http_code}\n" --max-time 300 \
  -F "image=@$work/large.png;type=image/png" "http://127.0.0.1:$port/predict" >"$work/codes" || true
end=$(date +%s.%N)
chunk=$(curl -s -o /dev/null -w "%{http_code} in %{time_total} s" -F "image=@$work/text-chunk.png;type=image/png" "http://127.0.0.1:$port/predict")
kill $sampler 2>/dev/null || true
peak=$(sort -n "$work/rss" | tail -1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), flags: $(grep -m1 -o 'avx512f\|avx2' /proc/cpuinfo | sort -u | xargs)"
echo "$clients clients x 18.5 MB PNG in $(echo "$end - $start" | bc) s; answers by status (000 = no answer):"
sort "$work/codes" | uniq -c
echo "server peak RSS: $((peak / 1024)) MB"
echo "512x512 PNG with a 15 MB tEXt chunk: $chunk"
echo "500 answers in the server log: $(grep -c ' responded 500' "$work/server.log" || true)"
