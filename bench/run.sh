#!/usr/bin/env bash
# Builds Release, then for each target (raw Kestrel baseline, OrleansWs embedded, OrleansWs scaled:
# gateway processes + one silo process; redis: the same in redis mode, peer state and the topic log on a redis-server
# of its own with its append-only file) starts the servers on 127.0.0.1, runs the scenarios
# REPEATS times (default 3) and stops them by PID. Prints medians with min–max and ratios to raw, and
# writes the chart and the raw results to bench/results/ (chart.svg, results.jsonl).
#   bench/run.sh [REPEATS]
# On the OrleansWs targets also echo-publish and connect-publish (a publishing hook: /ws/room; on redis echo-publish
# also reports the Redis memory each publish added). Every target has
# compression on (negotiated only with clients that offer it): echo-deflate and connect-deflate offer it, for its
# CPU per message and memory per connection beside echo's and idle-memory's.
# Environment: TARGETS (default "raw embedded scaled"; any of raw embedded scaled redis), SCENARIOS (default all: any of
# connect echo echo-deflate connect-touched connect-deflate echo-publish connect-publish fanout capacity),
# BASELINE (a revision: built in a worktree, and every OrleansWs target also runs on it, as TARGET@BASELINE,
# interleaved with this tree's in each repeat, so the two compare in one sitting),
# SECONDS_PER_RUN (echo and fan-out, default 10), CONNECTIONS (connect, default 5000, the connect storm of the targets),
# SUBSCRIBERS / RATE (fan-out, default 1000 at 200 msg/s; the scaled target spreads them over 2
# gateways), CAPACITY_SUBSCRIBERS (fan-out capacity: rate doubled from 100 msg/s until loss or p99 >
# 100 ms; default 100 subscribers; then again with SUBSCRIBERS and p99 <= 30 ms, as capacity-p99-30ms),
# SOAK_MINUTES (soak once per target after the repeats; default 0 = skip),
# WARMUP_ROUNDS (connect 2,000 + 1 s of echo before the measured connect, echo and fan-out; default 12),
# RESULTS_DIR (default bench/results). The processes inherit the environment: e.g. OrleansWs__Topics__Partitions=16.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-5000}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
RATE=${RATE:-200}
SOAK_MINUTES=${SOAK_MINUTES:-0}
WARMUP_ROUNDS=${WARMUP_ROUNDS:-12}
CAPACITY_SUBSCRIBERS=${CAPACITY_SUBSCRIBERS:-100}
TARGETS=${TARGETS:-raw embedded scaled}
SCENARIOS=${SCENARIOS:-}
BASELINE=${BASELINE:-}
RESULTS_DIR=${RESULTS_DIR:-bench/results}
REDIS_PORT=5196
OUT=$(mktemp -d)
RESULTS="$OUT/results.jsonl"
BENCH="dotnet bench/bin/Release/net10.0/OrleansWs.Bench.dll"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$BASELINE" ]; then git worktree remove --force "$OUT/baseline" >/dev/null 2>&1 || true; fi
  rm -rf "$OUT"
}
trap cleanup EXIT

dotnet build -c Release OrleansWs.sln >/dev/null
if [ -n "$BASELINE" ]; then
  git worktree add -q --detach "$OUT/baseline" "$BASELINE"
  dotnet build -c Release "$OUT/baseline/OrleansWs.sln" >/dev/null
fi

# Whether SCENARIOS asks for this scenario (all when it is empty).
want() { [ -z "$SCENARIOS" ] || [[ " $SCENARIOS " == *" $1 "* ]]; }

wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return; sleep 0.2; done; echo "not ready: $1" >&2; exit 1; }

start_target() { # target [tree]
  local tree=${2:-$PWD}
  REDIS_ARGS=()
  case $1 in
    raw)
      dotnet bench/RawServer/bin/Release/net10.0/OrleansWs.Bench.RawServer.dll --urls http://127.0.0.1:5191 >"$OUT/raw.log" 2>&1 &
      PIDS+=($!); SERVER_PIDS=$!; ALL_PIDS=$!; URL=ws://127.0.0.1:5191; URLS=$URL; sleep 2;;
    embedded)
      dotnet "$tree/src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll" --urls http://127.0.0.1:5192 --contentRoot "$tree/src/Silo" \
        --Logging:LogLevel:Default=Warning --OrleansWs:Cluster:SiloPort=21191 --OrleansWs:Cluster:GatewayPort=23191 --OrleansWs:Gateway:EnableCompression=true >"$OUT/embedded.log" 2>&1 &
      PIDS+=($!); SERVER_PIDS=$!; ALL_PIDS=$!; URL=ws://127.0.0.1:5192; URLS=$URL; wait_http http://127.0.0.1:5192/readyz;;
    scaled|redis)
      local cluster=(--OrleansWs:Cluster:Gateways=127.0.0.1:23192) redis=""
      if [ "$1" = redis ]; then
        rm -rf "$OUT/appendonlydir"
        redis-server --port $REDIS_PORT --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --dir "$OUT" >"$OUT/redis.log" 2>&1 &
        redis=$!; PIDS+=($redis)
        for _ in $(seq 1 100); do redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
        redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 || { echo "redis-server did not start on $REDIS_PORT" >&2; exit 1; }
        cluster=(--OrleansWs:Cluster:Mode=redis --OrleansWs:Cluster:Redis=127.0.0.1:$REDIS_PORT)
        REDIS_ARGS=(--redis 127.0.0.1:$REDIS_PORT)
      fi
      # As deployed (docker-compose.yml, scripts/cluster.sh): a silo of its own runs workstation GC.
      DOTNET_gcServer=0 dotnet "$tree/src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll" --urls http://127.0.0.1:5193 --contentRoot "$tree/src/Silo" \
        --Logging:LogLevel:Default=Warning --OrleansWs:Cluster:SiloPort=21192 --OrleansWs:Cluster:GatewayPort=23192 "${cluster[@]}" >"$OUT/silo.log" 2>&1 &
      local silo=$!; PIDS+=($silo); wait_http http://127.0.0.1:5193/readyz
      (cd "$tree/src/Gateway/Host/bin/Release/net10.0" && exec dotnet OrleansWs.Gateway.Host.dll --urls http://127.0.0.1:5194 \
        --Logging:LogLevel:Default=Warning "${cluster[@]}" --OrleansWs:Gateway:EnableCompression=true) >"$OUT/gateway.log" 2>&1 &
      local gateway=$!; PIDS+=($gateway); wait_http http://127.0.0.1:5194/readyz
      (cd "$tree/src/Gateway/Host/bin/Release/net10.0" && exec dotnet OrleansWs.Gateway.Host.dll --urls http://127.0.0.1:5195 \
        --Logging:LogLevel:Default=Warning "${cluster[@]}") >"$OUT/gateway2.log" 2>&1 &
      local gateway2=$!; PIDS+=($gateway2); wait_http http://127.0.0.1:5195/readyz
      # echo and connect use the first gateway (its CPU and memory with the silo's, and Redis' on redis: connect's
      # kb_per_connection_pid1 is the gateway's share, pid2 the silo's); fan-out and soak use both gateways.
      SERVER_PIDS="$gateway,$silo${redis:+,$redis}"; ALL_PIDS="$gateway,$gateway2,$silo${redis:+,$redis}"; URL=ws://127.0.0.1:5194
      URLS=ws://127.0.0.1:5194,ws://127.0.0.1:5195;;
  esac
}

stop_target() { for p in ${ALL_PIDS//,/ }; do kill "$p"; wait "$p" 2>/dev/null || true; done; }

# The runtime recompiles hot methods in the background (tiered compilation, with PGO) for a while
# after start; a server with more code (Orleans) takes longer, and measuring during it measures the
# compiler, not the server. Here OrleansWs' connect rate rose for ~12 rounds of 2,000 connects
# (1,800/s → 4,000/s) while raw Kestrel's settled sooner; every target gets the same rounds.
warm_up() {
  for _ in $(seq 1 "$WARMUP_ROUNDS"); do
    $BENCH connect --url "$URL" --connections 2000 --hold 0 >/dev/null
    $BENCH echo --url "$URL" --seconds 1 --connections 50 >/dev/null
  done
  # Topics too, on every gateway (the scaled target's second gateway serves only fan-out).
  $BENCH fanout --url "$URLS" --subscribers 200 --rate 200 --seconds 3 >/dev/null || true
}

# Every run gets a fresh server, so the idle-memory figure of `connect` is not hidden by a heap that
# an earlier run already grew.
run_target() { # target name [tree]
  local target=$1 name=$2 tree=${3:-$PWD}
  start_target "$target" "$tree"
  if want connect; then
    # Idle memory on a fresh server (a heap that warm-up grew would hide it); the connect rate after warm-up.
    $BENCH connect --url "$URL" --connections 100 --hold 0 >/dev/null
    $BENCH connect --url "$URL" --connections "$CONNECTIONS" --pid "$SERVER_PIDS" --json "$RESULTS" --target "$name" --name idle-memory >&2
  fi
  warm_up
  if want connect; then
    $BENCH connect --url "$URL" --connections "$CONNECTIONS" --json "$RESULTS" --target "$name" >&2
  fi
  if want echo; then
    $BENCH echo --url "$URL" --seconds "$SECONDS_PER_RUN" --pid "$SERVER_PIDS" --json "$RESULTS" --target "$name" >&2
  fi
  if want echo-deflate; then
    $BENCH echo --url "$URL" --deflate 1 --seconds "$SECONDS_PER_RUN" --pid "$SERVER_PIDS" --json "$RESULTS" --target "$name" --name echo-deflate >&2
  fi
  # Memory per connection that has sent a message, without and with compression (its state is made then).
  if want connect-touched; then
    $BENCH connect --url "$URL" --touch 1 --connections "$CONNECTIONS" --pid "$SERVER_PIDS" --json "$RESULTS" --target "$name" --name connect-touched >&2
  fi
  if want connect-deflate; then
    $BENCH connect --url "$URL" --touch 1 --deflate 1 --connections "$CONNECTIONS" --pid "$SERVER_PIDS" --json "$RESULTS" --target "$name" --name connect-deflate >&2
  fi
  if [ "$target" != raw ]; then
    # Hooks that publish (crossws' chat demo, /ws/room): each message's echo is the reply of a hook that
    # published to the sender's own room, and each connect's OnOpen publishes to one of 100 rooms.
    if want echo-publish; then
      $BENCH echo --url "$URL" --path "/ws/room?room=solo-{i}" --seconds "$SECONDS_PER_RUN" --pid "$SERVER_PIDS" \
        "${REDIS_ARGS[@]}" --json "$RESULTS" --target "$name" --name echo-publish >&2
    fi
    if want connect-publish; then
      $BENCH connect --url "$URL" --path "/ws/room?room=lobby-{i}" --groups 100 --connections "$CONNECTIONS" \
        --json "$RESULTS" --target "$name" --name connect-publish >&2
    fi
  fi
  # Fan-out reports loss itself (exit 1); the run goes on and the table shows it.
  if want fanout; then
    $BENCH fanout --url "$URLS" --subscribers "$SUBSCRIBERS" --rate "$RATE" --seconds "$SECONDS_PER_RUN" \
      --pid "$ALL_PIDS" --json "$RESULTS" --target "$name" >&2 || true
  fi
  if want capacity; then
    $BENCH capacity --url "$URLS" --subscribers "$CAPACITY_SUBSCRIBERS" --pid "$ALL_PIDS" --json "$RESULTS" --target "$name" >&2 || true
    # The fan-out latency target (p99 <= 30 ms at SUBSCRIBERS): the highest publish rate at which each target holds it.
    $BENCH capacity --url "$URLS" --subscribers "$SUBSCRIBERS" --rate 10 --max-rate 400 --p99 30 --pid "$ALL_PIDS" \
      --json "$RESULTS" --target "$name" --name capacity-p99-30ms >&2 || true
  fi
  stop_target
}

for target in $TARGETS; do
  for run in $(seq 1 "$REPEATS"); do
    echo "== $target run $run" >&2
    run_target "$target" "$target"
    if [ -n "$BASELINE" ] && [ "$target" != raw ]; then
      echo "== $target@$BASELINE run $run" >&2
      run_target "$target" "$target@$BASELINE" "$OUT/baseline"
    fi
  done
  if [ "$SOAK_MINUTES" -gt 0 ]; then
    echo "== $target soak $SOAK_MINUTES min" >&2
    start_target "$target"
    $BENCH soak --url "$URLS" --minutes "$SOAK_MINUTES" --pid "$ALL_PIDS" --json "$RESULTS" --target "$target" >&2 || true
    stop_target
  fi
done

echo "## bench/run.sh on $(nproc) cores, $(date -u +%Y-%m-%d), $REPEATS runs, echo 50 conns × 4 in flight × 64 B for ${SECONDS_PER_RUN} s, connect $CONNECTIONS, fan-out $SUBSCRIBERS subscribers × $RATE msg/s × 64 B"
echo
$BENCH report "$RESULTS"
mkdir -p "$RESULTS_DIR"
cp "$RESULTS" "$RESULTS_DIR/results.jsonl"
$BENCH chart "$RESULTS" "$RESULTS_DIR/chart.svg" >&2
