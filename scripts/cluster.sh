#!/usr/bin/env bash
# The scaled topology of docker-compose.yml as local processes on 127.0.0.1:
# Redis (or PostgreSQL), 2 silos, 2 gateways and an nginx load balancer. Same configuration names as the
# compose files.
#
#   scripts/cluster.sh up | down | status
#   scripts/cluster.sh start|stop|kill NAME     NAME: redis|postgres silo1 silo2 gateway1 gateway2 lb
#
# Environment: OWS_STORE=redis (default) or postgres (membership and state in a throwaway PostgreSQL
# server: a data folder in the run folder, trust auth on 127.0.0.1, fsync off), OWS_PORT_BASE (default
# 17000; see the port map below), OWS_RUN_DIR (default .run/cluster: pids, logs, nginx.conf, PostgreSQL
# data), OWS_NO_BUILD=1 to skip the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=${OWS_PORT_BASE:-17000}
RUN=$(mkdir -p "${OWS_RUN_DIR:-.run/cluster}" && cd "${OWS_RUN_DIR:-.run/cluster}" && pwd)
STORE=${OWS_STORE:-redis}
STORE_PORT=$((BASE + 0))
LB_PORT=$((BASE + 80))
SILO_PORT=($((BASE + 11)) $((BASE + 12)))
SILO_GW_PORT=($((BASE + 31)) $((BASE + 32)))
SILO_HTTP=($((BASE + 51)) $((BASE + 52)))
GATEWAY_HTTP=($((BASE + 61)) $((BASE + 62)))
NAMES=("$STORE" silo1 silo2 gateway1 gateway2 lb)

# Shared by every OrleansWs process; docker-compose.yml (and docker-compose.postgres.yml) set the same names.
case $STORE in
  redis) export OrleansWs__Cluster__Mode=redis OrleansWs__Cluster__Redis="127.0.0.1:${STORE_PORT}";;
  postgres) export OrleansWs__Cluster__Mode=postgres
    export OrleansWs__Cluster__Postgres="Host=127.0.0.1;Port=${STORE_PORT};Username=postgres;Database=postgres";;
  *) echo "OWS_STORE is '$STORE'; use redis or postgres" >&2; exit 2;;
esac
export OrleansWs__Cluster__ClusterId=orleansws
export OrleansWs__Cluster__ServiceId=orleansws
export OrleansWs__Gateway__Lease=00:00:05
# Silos drop a gateway gone for as long as its lease, which also removes its topic subscriptions.
export OrleansWs__Silo__GatewayDropTimeout=00:00:05
export OrleansWs__PeersApi=true
export Logging__LogLevel__Default=${OWS_LOG_LEVEL:-Warning}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
# PostgreSQL refuses to run as root: as root, its data folder and processes belong to the postgres user.
as_postgres() { if [ "$(id -u)" -eq 0 ]; then exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else exec "$@"; fi; }
pidof_() { [ -f "$RUN/$1.pid" ] && cat "$RUN/$1.pid"; }
alive() { local p; p=$(pidof_ "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
http_port() {
  case $1 in silo1) echo "${SILO_HTTP[0]}";; silo2) echo "${SILO_HTTP[1]}";; gateway1) echo "${GATEWAY_HTTP[0]}";;
    gateway2) echo "${GATEWAY_HTTP[1]}";; lb) echo "$LB_PORT";; *) echo "";; esac
}

start() {
  local name=$1
  if alive "$name"; then return; fi
  # Logs are appended, so a restarted process keeps the story of the one before it.
  echo "=== $name starting $(date -u +%H:%M:%S.%3N)" >>"$RUN/$name.log"
  case $name in
    redis)
      redis-server --port "$STORE_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$RUN" >>"$RUN/redis.log" 2>&1 &
      ;;
    postgres)
      if [ ! -f "$RUN/pgdata/PG_VERSION" ]; then
        mkdir -p "$RUN/pgdata"
        [ "$(id -u)" -ne 0 ] || chown postgres: "$RUN/pgdata"
        (as_postgres "$(pg_bin)/initdb" -D "$RUN/pgdata" -A trust -U postgres --no-sync) >"$RUN/postgres-init.log" 2>&1
      fi
      (as_postgres "$(pg_bin)/postgres" -D "$RUN/pgdata" -p "$STORE_PORT" -k "$RUN/pgdata" \
        -c listen_addresses=127.0.0.1 -c fsync=off) >>"$RUN/postgres.log" 2>&1 &
      ;;
    silo1|silo2)
      local i=$(( ${name#silo} - 1 ))
      # Workstation GC for a silo of its own, as in docker-compose.yml (README "Performance").
      DOTNET_gcServer=0 OrleansWs__Cluster__SiloPort=${SILO_PORT[$i]} OrleansWs__Cluster__GatewayPort=${SILO_GW_PORT[$i]} \
        dotnet "$ROOT/src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll" --urls "http://127.0.0.1:${SILO_HTTP[$i]}" --contentRoot "$ROOT/src/Silo" \
        >>"$RUN/$name.log" 2>&1 &
      ;;
    gateway1|gateway2)
      local i=$(( ${name#gateway} - 1 ))
      (cd "$ROOT/src/Gateway/Host/bin/Release/net10.0" && exec dotnet OrleansWs.Gateway.Host.dll --urls "http://127.0.0.1:${GATEWAY_HTTP[$i]}") \
        >>"$RUN/$name.log" 2>&1 &
      ;;
    lb)
      mkdir -p "$RUN/nginx-tmp"
      sed -e "s#@RUN@#$RUN#g" -e "s#@LB_PORT@#$LB_PORT#g" -e "s#@GATEWAY1@#127.0.0.1:${GATEWAY_HTTP[0]}#g" \
          -e "s#@GATEWAY2@#127.0.0.1:${GATEWAY_HTTP[1]}#g" "$ROOT/deploy/nginx.local.conf" >"$RUN/nginx.conf"
      nginx -c "$RUN/nginx.conf" -p "$RUN" -g 'daemon off;' >>"$RUN/lb.log" 2>&1 &
      ;;
    *) echo "unknown component '$name'" >&2; exit 2;;
  esac
  echo $! >"$RUN/$name.pid"
}

wait_ready() {
  local name=$1 port deadline=$((SECONDS + 90))
  port=$(http_port "$name")
  while true; do
    if ! alive "$name"; then echo "$name exited; see $RUN/$name.log" >&2; tail -20 "$RUN/$name.log" >&2; exit 1; fi
    if [ "$name" = redis ]; then redis-cli -p "$STORE_PORT" ping >/dev/null 2>&1 && return;
    elif [ "$name" = postgres ]; then "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$STORE_PORT" && return;
    elif curl -fs "http://127.0.0.1:$port/$([ "$name" = lb ] && echo healthz || echo readyz)" >/dev/null 2>&1; then return; fi
    if [ $SECONDS -gt $deadline ]; then echo "$name not ready after 90 s; see $RUN/$name.log" >&2; exit 1; fi
    sleep 0.2
  done
}

stop() {
  local name=$1 signal=${2:-TERM} p
  p=$(pidof_ "$name") || return 0
  # PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its fast, clean shutdown.
  [ "$name" = postgres ] && [ "$signal" = TERM ] && signal=INT
  if kill -0 "$p" 2>/dev/null; then
    kill -"$signal" "$p" 2>/dev/null || true
    # Hosts bound their own shutdown (20 s); a process still running after 30 s is killed and reported.
    for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then
      kill -KILL "$p" 2>/dev/null || true
      echo "$name did not exit within 30 s of SIG$signal; killed"
    else
      echo "$name exited after SIG$signal"
    fi
  fi
  rm -f "$RUN/$name.pid"
}

case ${1:-} in
  up)
    if [ "$STORE" = redis ]; then need redis-server redis-server; need redis-cli redis-tools;
    elif [ -z "$(pg_bin)" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
    need nginx nginx; need curl curl
    if [ "${OWS_NO_BUILD:-}" != 1 ]; then
      dotnet build -c Release src/Silo >/dev/null && dotnet build -c Release src/Gateway/Host >/dev/null
    fi
    for n in "${NAMES[@]}"; do start "$n"; wait_ready "$n"; done
    echo "up: load balancer http://127.0.0.1:$LB_PORT  gateways ${GATEWAY_HTTP[*]}  silos ${SILO_HTTP[*]}  $STORE $STORE_PORT"
    ;;
  down)
    for n in lb gateway2 gateway1 silo2 silo1 "$STORE"; do stop "$n" >/dev/null; done
    ;;
  status)
    for n in "${NAMES[@]}"; do
      if alive "$n"; then
        port=$(http_port "$n"); ready=""
        [ -n "$port" ] && ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/$([ "$n" = lb ] && echo healthz || echo readyz)")
        echo "$n pid $(pidof_ "$n") ${port:+http $port }${ready:+ready $ready}"
      else
        echo "$n down"
      fi
    done
    ;;
  start) start "$2"; wait_ready "$2";;
  stop) stop "$2" TERM;;
  kill) stop "$2" KILL;;
  *) sed -n '2,13p' "$0"; exit 2;;
esac
