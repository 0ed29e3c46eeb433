#!/usr/bin/env bash
# Resume's figures (docs/performance.md "Resume"): a local cluster of scripts/cluster.sh (Redis, 1 silo, 2 gateways),
# then the resume scenario against gateway 1 with gateway 2 as the survivor, and the cluster stopped by PID.
#   bench/resume.sh
# Environment: PEERS (default 1000), SECONDS_PER_RUN (echo, default 10), RATE (publishes/s during the kill, default 10),
# OWS_PORT_BASE (default 17400), OWS_RUN_DIR (default .run/resume), OWS_NO_BUILD=1 to skip the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
export OWS_RUN_DIR=${OWS_RUN_DIR:-.run/resume} OWS_PORT_BASE=${OWS_PORT_BASE:-17400}
BASE=$OWS_PORT_BASE
rm -rf "$OWS_RUN_DIR" && mkdir -p "$OWS_RUN_DIR"
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
if [ "${OWS_NO_BUILD:-}" != 1 ]; then dotnet build -c Release bench >/dev/null; fi
scripts/cluster.sh up --gateways 2 --silos 1
dotnet bench/bin/Release/net10.0/OrleansWs.Bench.dll resume --gateway "ws://127.0.0.1:$((BASE + 61))" \
  --survivor "ws://127.0.0.1:$((BASE + 62))" --redis "127.0.0.1:$BASE" \
  --pid "$(cat "$OWS_RUN_DIR/gateway1.pid"),$(cat "$OWS_RUN_DIR/silo1.pid")" --peers "${PEERS:-1000}" \
  --seconds "${SECONDS_PER_RUN:-10}" --rate "${RATE:-10}" --cluster scripts/cluster.sh --victim gateway1 ${RESULTS:+--json "$RESULTS" --target resume}
