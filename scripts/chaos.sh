#!/usr/bin/env bash
# The chaos run: the local topology of scripts/cluster.sh (Redis, 2 silos, 3 gateways, nginx), traffic through nginx
# (rooms with publishers and subscribers, echo clients, connection churn) and one fault at a time, at random from a
# seed: kill -9 or SIGTERM of a silo or a gateway, restarted once new clients are served without it, the next fault
# only after it is served again. The handler (/ws/ledger, src/Silo/Chaos) writes its hooks to a ledger in Redis;
# afterwards the run checks the failure model against the ledger, the clients, the store, memory and logs
# (docs/scaling-out.md "The chaos run"). Exit 0 when every invariant held.
#
#   scripts/chaos.sh
#
# Environment: CHAOS_MINUTES (default 2), CHAOS_SEED (default 1; the same seed gives the same faults),
# OWS_PORT_BASE (default 17200), OWS_RUN_DIR (default .run/chaos), OWS_NO_BUILD=1 to skip the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
export OWS_RUN_DIR=${OWS_RUN_DIR:-.run/chaos} OWS_PORT_BASE=${OWS_PORT_BASE:-17200}
BASE=$OWS_PORT_BASE
# The ledger lives in the cluster's Redis, which no fault touches.
export OrleansWs__Ledger__Redis="127.0.0.1:$BASE"
# JSON logs with UTC times, so the run can tell an error a fault explains from one it does not.
export Logging__Console__FormatterName=json
export Logging__Console__FormatterOptions__TimestampFormat="yyyy-MM-ddTHH:mm:ss.fffZ"
export Logging__Console__FormatterOptions__UseUtcTimestamp=true
rm -rf "$OWS_RUN_DIR" && mkdir -p "$OWS_RUN_DIR"
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
if [ "${OWS_NO_BUILD:-}" != 1 ]; then dotnet build -c Release bench >/dev/null; fi
scripts/cluster.sh up --gateways 3 --silos 2
dotnet bench/bin/Release/net10.0/OrleansWs.Bench.dll chaos --url "ws://127.0.0.1:$((BASE + 80))" --redis "127.0.0.1:$BASE" \
  --minutes "${CHAOS_MINUTES:-2}" --seed "${CHAOS_SEED:-1}" --run-dir "$OWS_RUN_DIR" --cluster scripts/cluster.sh \
  --silos 2 --gateways 3 ${CHAOS_JSON:+--json "$CHAOS_JSON"}
