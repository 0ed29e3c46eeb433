#!/usr/bin/env bash
# Scale on one machine: a silo and two gateway processes on 127.0.0.1 hold PEERS chat peers in one room
# (default 30,000: half on each gateway, from two client processes, since a process may open only
# ~20,000 files here); once all are open, a publisher broadcasts MESSAGES (default 10) to the room and
# each crowd reports what reached its peers. Prints the servers' memory with everyone connected.
# Everything is stopped by PID.   bench/crowd.sh     environment: PEERS, MESSAGES, OWS_NO_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-30000}
MESSAGES=${MESSAGES:-10}
OUT=$(mktemp -d)
BENCH="dotnet bench/bin/Release/net10.0/OrleansWs.Bench.dll"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
[ "${OWS_NO_BUILD:-}" = 1 ] || dotnet build -c Release OrleansWs.sln >/dev/null
wait_http() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return; sleep 0.2; done; echo "not ready: $1" >&2; exit 1; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

DOTNET_gcServer=0 dotnet src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll --urls http://127.0.0.1:5493 --contentRoot "$PWD/src/Silo" \
  --Logging:LogLevel:Default=Warning --OrleansWs:Cluster:SiloPort=21492 --OrleansWs:Cluster:GatewayPort=23492 >"$OUT/silo.log" 2>&1 &
SILO=$!; PIDS+=($SILO); wait_http http://127.0.0.1:5493/readyz
GATEWAYS=()
for port in 5494 5495; do
  (cd src/Gateway/Host/bin/Release/net10.0 && exec dotnet OrleansWs.Gateway.Host.dll --urls "http://127.0.0.1:$port" \
    --Logging:LogLevel:Default=Warning --OrleansWs:Cluster:Gateways=127.0.0.1:23492) >"$OUT/gateway-$port.log" 2>&1 &
  GATEWAYS+=($!); PIDS+=($!); wait_http "http://127.0.0.1:$port/readyz"
done
before="silo $(rss_mib $SILO) MiB, gateways $(rss_mib ${GATEWAYS[0]}) + $(rss_mib ${GATEWAYS[1]}) MiB"

ROOM=crowd-$RANDOM$RANDOM
start=$SECONDS
for port in 5494 5495; do
  $BENCH crowd --url "ws://127.0.0.1:$port" --room "$ROOM" --connections $((PEERS / 2)) --messages "$MESSAGES" \
    >"$OUT/crowd-$port.out" 2>"$OUT/crowd-$port.err" &
  PIDS+=($!)
done
CROWDS=("${PIDS[@]: -2}")
until grep -q '^ready' "$OUT/crowd-5494.out" 2>/dev/null && grep -q '^ready' "$OUT/crowd-5495.out" 2>/dev/null; do
  for p in "${CROWDS[@]}"; do kill -0 "$p" 2>/dev/null || { cat "$OUT"/crowd-*.out "$OUT"/crowd-*.err >&2; exit 1; }; done
  [ $((SECONDS - start)) -lt 600 ] || { echo "crowds not ready within 600 s" >&2; exit 1; }
  sleep 1
done
echo "connected: $(grep -h '^ready' "$OUT"/crowd-*.out | tr '\n' ';') in $((SECONDS - start)) s"
sleep 5
echo "memory: before $before; with $PEERS peers: silo $(rss_mib $SILO) MiB, gateways $(rss_mib ${GATEWAYS[0]}) + $(rss_mib ${GATEWAYS[1]}) MiB"
$BENCH crowd --url ws://127.0.0.1:5494 --room "$ROOM" --publish "$MESSAGES"
status=0
for p in "${CROWDS[@]}"; do wait "$p" || status=1; done
grep -h -v '^ready' "$OUT"/crowd-*.out
exit $status
