#!/usr/bin/env bash
# The scaled topology of docker-compose.yml as local processes on 127.0.0.1:
# Redis, 2 silos, 2 gateways and an nginx load balancer. Same configuration names as the compose file.
#
#   scripts/cluster.sh up | down | status
#   scripts/cluster.sh start|stop|kill NAME     NAME: redis silo1 silo2 gateway1 gateway2 lb
#
# Environment: OWS_PORT_BASE (default 17000; see the port map below), OWS_RUN_DIR (default .run/cluster:
# pids, logs, nginx.conf), OWS_NO_BUILD=1 to skip the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=${OWS_PORT_BASE:-17000}
RUN=$(mkdir -p "${OWS_RUN_DIR:-.run/cluster}" && cd "${OWS_RUN_DIR:-.run/cluster}" && pwd)
REDIS_PORT=$((BASE + 0))
LB_PORT=$((BASE + 80))
SILO_PORT=($((BASE + 11)) $((BASE + 12)))
SILO_GW_PORT=($((BASE + 31)) $((BASE + 32)))
SILO_HTTP=($((BASE + 51)) $((BASE + 52)))
GATEWAY_HTTP=($((BASE + 61)) $((BASE + 62)))
NAMES=(redis silo1 silo2 gateway1 gateway2 lb)

# Shared by every OrleansWs process; docker-compose.yml sets the same names.
export OrleansWs__Cluster__Mode=redis
export OrleansWs__Cluster__Redis="127.0.0.1:${REDIS_PORT}"
export OrleansWs__Cluster__ClusterId=orleansws
export OrleansWs__Cluster__ServiceId=orleansws
export OrleansWs__Gateway__Lease=00:00:05
export OrleansWs__PeersApi=true
export Logging__LogLevel__Default=${OWS_LOG_LEVEL:-Warning}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
pidof_() { [ -f "$RUN/$1.pid" ] && cat "$RUN/$1.pid"; }
alive() { local p; p=$(pidof_ "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
http_port() {
  case $1 in silo1) echo "${SILO_HTTP[0]}";; silo2) echo "${SILO_HTTP[1]}";; gateway1) echo "${GATEWAY_HTTP[0]}";;
    gateway2) echo "${GATEWAY_HTTP[1]}";; lb) echo "$LB_PORT";; *) echo "";; esac
}

start() {
  local name=$1
  if alive "$name"; then return; fi
  case $name in
    redis)
      redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$RUN" >"$RUN/redis.log" 2>&1 &
      ;;
    silo1|silo2)
      local i=$(( ${name#silo} - 1 ))
      OrleansWs__Cluster__SiloPort=${SILO_PORT[$i]} OrleansWs__Cluster__GatewayPort=${SILO_GW_PORT[$i]} \
        dotnet "$ROOT/src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll" --urls "http://127.0.0.1:${SILO_HTTP[$i]}" --contentRoot "$ROOT/src/Silo" \
        >"$RUN/$name.log" 2>&1 &
      ;;
    gateway1|gateway2)
      local i=$(( ${name#gateway} - 1 ))
      (cd "$ROOT/src/Gateway/bin/Release/net10.0" && exec dotnet OrleansWs.Gateway.dll --urls "http://127.0.0.1:${GATEWAY_HTTP[$i]}") \
        >"$RUN/$name.log" 2>&1 &
      ;;
    lb)
      mkdir -p "$RUN/nginx-tmp"
      sed -e "s#@RUN@#$RUN#g" -e "s#@LB_PORT@#$LB_PORT#g" -e "s#@GATEWAY1@#127.0.0.1:${GATEWAY_HTTP[0]}#g" \
          -e "s#@GATEWAY2@#127.0.0.1:${GATEWAY_HTTP[1]}#g" "$ROOT/deploy/nginx.local.conf" >"$RUN/nginx.conf"
      nginx -c "$RUN/nginx.conf" -p "$RUN" -g 'daemon off;' >"$RUN/lb.log" 2>&1 &
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
    if [ "$name" = redis ]; then redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; 
    elif curl -fs "http://127.0.0.1:$port/$([ "$name" = lb ] && echo healthz || echo readyz)" >/dev/null 2>&1; then return; fi
    if [ $SECONDS -gt $deadline ]; then echo "$name not ready after 90 s; see $RUN/$name.log" >&2; exit 1; fi
    sleep 0.2
  done
}

stop() {
  local name=$1 signal=${2:-TERM} p
  p=$(pidof_ "$name") || return 0
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
    need redis-server redis-server; need nginx nginx; need curl curl
    if [ "${OWS_NO_BUILD:-}" != 1 ]; then
      dotnet build -c Release src/Silo >/dev/null && dotnet build -c Release src/Gateway >/dev/null
    fi
    for n in redis silo1 silo2 gateway1 gateway2 lb; do start "$n"; wait_ready "$n"; done
    echo "up: load balancer http://127.0.0.1:$LB_PORT  gateways ${GATEWAY_HTTP[*]}  silos ${SILO_HTTP[*]}  redis $REDIS_PORT"
    ;;
  down)
    for n in lb gateway2 gateway1 silo2 silo1 redis; do stop "$n" >/dev/null; done
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
  *) sed -n '2,10p' "$0"; exit 2;;
esac
