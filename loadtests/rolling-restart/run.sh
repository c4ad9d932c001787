#!/usr/bin/env bash
# A rolling restart under steady load, behind a real load balancer (Debian's haproxy): two servers on loopback
# ports, 10 closed-loop users sending /predict through HAProxy, and each server in turn drained (HAProxy's
# runtime API), stopped with SIGTERM (the server finishes what it holds), started again and put back once
# /health/ready answers 200. Prints the load test's counts; the target is 0 failed requests.
# Usage: loadtests/rolling-restart/run.sh [requests]   (needs haproxy and python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-6000}
work=$(mktemp -d)
front=5300; port1=5301; port2=5302
socket="$work/haproxy.sock"
pids=()
cleanup() { for p in "${pids[@]}" ${haproxy:-}; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

dotnet build src/BrainTumor.Api -c Release -v quiet -nologo >/dev/null
dotnet build loadtests/BrainTumor.LoadTests -c Release -v quiet -nologo >/dev/null
server_dll=src/BrainTumor.Api/bin/Release/net10.0/BrainTumor.Api.dll

start_server() { # port -> pid
  dotnet "$server_dll" --urls "http://127.0.0.1:$1" >>"$work/server-$1.log" 2>&1 &
  echo $!
}
wait_ready() {
  for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$1/health/ready" >/dev/null && return 0; sleep 0.25; done
  echo "server on $1 not ready" >&2; return 1
}
admin() { python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+'\n').encode()); print(s.recv(4096).decode().strip())" "$socket" "$1"; }

pid1=$(start_server $port1); pid2=$(start_server $port2); pids=("$pid1" "$pid2")
wait_ready $port1; wait_ready $port2
sed "s|@SOCKET@|$socket|; s|@FRONT@|$front|; s|@PORT1@|$port1|; s|@PORT2@|$port2|" loadtests/rolling-restart/haproxy.cfg.template >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy=$!
sleep 2

dotnet loadtests/BrainTumor.LoadTests/bin/Release/net10.0/BrainTumor.LoadTests.dll --url "http://127.0.0.1:$front" \
  --levels 10 --requests "$requests" --warmup 100 --out "$work/results" >"$work/load.log" 2>&1 &
load=$!
sleep 5
for n in 1 2; do
  port=$([ $n = 1 ] && echo $port1 || echo $port2)
  pid=${pids[$((n - 1))]}
  admin "set server servers/s$n state drain" >/dev/null
  sleep 2
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "s$n stopped at $(date +%T)"
  pid=$(start_server "$port"); pids[$((n - 1))]=$pid
  wait_ready "$port"
  admin "set server servers/s$n state ready" >/dev/null
  echo "s$n back at $(date +%T)"
  sleep 3
done
wait $load || true
echo "machine: $(nproc) cores, $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs), flags: $(grep -m1 -o "avx512f\\|avx2" /proc/cpuinfo | sort -u | xargs)"
grep -E "req/s|failures|pass \|" "$work/load.log" | head -5
cat "$work"/results/*.md | sed -n '3,5p'
echo "HAProxy retries and redispatches: $(admin 'show stat' | awk -F, '$2=="BACKEND" {print "retries " $16 ", redispatches " $17}')"
