#!/usr/bin/env bash
# What the topic log costs against an earlier revision, in one sitting: both revisions are built in Release (the
# earlier one in a worktree under /tmp), then, ROUNDS times (default 3) and interleaved, each runs two targets on
# fresh processes on 127.0.0.1: embedded (one process: the in-process log) and redis (a silo in redis mode, the topic
# log and peer state on a redis-server of its own with its append-only file, and one gateway). On each: echo-publish
# (the CPU of a hook that publishes, /ws/room) and fanout (publish→delivery latency, 200 subscribers at 200 msg/s);
# on redis also the Redis memory each publish added. Then, on the new revision's redis target only, echo-publish with
# 1, 4 and 16 topic partitions (OrleansWs:Topics:Partitions; the publishing hooks' rooms spread over them).
# Processes are stopped by PID.
#   bench/topics.sh OLD_REVISION [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?"usage: bench/topics.sh OLD_REVISION [ROUNDS]"}
ROUNDS=${2:-3}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; git worktree remove --force "$WORK/old" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

git worktree add -q --detach "$WORK/old" "$OLD"
for tree in "$PWD" "$WORK/old"; do
  dotnet build -c Release "$tree/src/Silo" >/dev/null && dotnet build -c Release "$tree/src/Gateway/Host" >/dev/null
done
dotnet build -c Release bench >/dev/null
BENCH="dotnet bench/bin/Release/net10.0/OrleansWs.Bench.dll"
wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return; sleep 0.2; done; echo "not ready: $1" >&2; exit 1; }

run() { # tree name target [partitions] [only-echo]
  local tree=$1 name=$2 target=$3 partitions=${4:-4} only_echo=${5:-} pids url redis_port=26479 mem
  export OrleansWs__Topics__Partitions=$partitions
  local silo_args=(--Logging:LogLevel:Default=Warning --OrleansWs:Cluster:SiloPort=21291 --OrleansWs:Cluster:GatewayPort=23291)
  if [ "$target" = redis ]; then
    redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --dir "$WORK" >/dev/null 2>&1 &
    local r=$!; PIDS+=($r)
    until redis-cli -p $redis_port ping >/dev/null 2>&1; do sleep 0.1; done
    silo_args+=(--OrleansWs:Cluster:Mode=redis --OrleansWs:Cluster:Redis=127.0.0.1:$redis_port)
  fi
  # A silo of its own runs workstation GC, as deployed; the embedded process keeps server GC (bench/run.sh).
  DOTNET_gcServer=$([ "$target" = redis ] && echo 0 || echo 1) dotnet "$tree/src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll" --urls http://127.0.0.1:5293 --contentRoot "$tree/src/Silo" "${silo_args[@]}" >"$WORK/silo.log" 2>&1 &
  local silo=$!; PIDS+=($silo); wait_http http://127.0.0.1:5293/readyz
  pids=$silo; url=ws://127.0.0.1:5293
  if [ "$target" = redis ]; then
    (cd "$tree/src/Gateway/Host/bin/Release/net10.0" && exec dotnet OrleansWs.Gateway.Host.dll --urls http://127.0.0.1:5294 \
      --Logging:LogLevel:Default=Warning --OrleansWs:Cluster:Mode=redis --OrleansWs:Cluster:Redis=127.0.0.1:$redis_port) >"$WORK/gateway.log" 2>&1 &
    local gateway=$!; PIDS+=($gateway); wait_http http://127.0.0.1:5294/readyz
    pids="$gateway,$silo,$r"; url=ws://127.0.0.1:5294
  fi
  # Warm-up, as bench/run.sh: the runtime recompiles hot methods for a while after start.
  for _ in 1 2 3; do $BENCH echo --url "$url" --path "/ws/room?room=warm-{i}" --seconds 2 >/dev/null; done
  $BENCH fanout --url "$url" --subscribers 200 --rate 200 --seconds 3 >/dev/null || true
  [ "$target" = redis ] && mem=$(redis-cli -p $redis_port info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  echo "== $name $target: echo-publish"
  $BENCH echo --url "$url" --path "/ws/room?room=solo-{i}" --seconds 10 --pid "$pids" | grep -E "throughput|latency|µs" || true
  if [ "$target" = redis ]; then
    echo "   redis memory added: $(( $(redis-cli -p $redis_port info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') - mem )) bytes"
  fi
  if [ -z "$only_echo" ]; then
  echo "== $name $target: fanout"
  $BENCH fanout --url "$url" --subscribers 200 --rate 200 --seconds 10 --pid "$pids" | grep -E "latency|lost|µs" || true
  fi
  for p in ${pids//,/ }; do kill "$p"; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"/appendonlydir
}

for round in $(seq 1 "$ROUNDS"); do
  for target in embedded redis; do
    run "$WORK/old" "old($OLD)" "$target"
    run "$PWD" "new" "$target"
  done
done

for round in $(seq 1 "$ROUNDS"); do
  for partitions in 1 4 16; do
    run "$PWD" "new, $partitions partitions" redis "$partitions" only-echo
  done
done
