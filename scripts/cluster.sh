#!/usr/bin/env bash
# The scaled topology of docker-compose.yml as local processes on 127.0.0.1:
# Redis (or PostgreSQL), silos, gateways and an nginx load balancer. Same configuration names as the
# compose files.
#
#   scripts/cluster.sh up [--gateways N] [--silos M]   start everything (default 2 and 2; 1 to 9 each)
#   scripts/cluster.sh scale gateway|silo N            grow or shrink a running cluster; nginx follows the gateways
#   scripts/cluster.sh down                            stop every process the run folder knows of
#   scripts/cluster.sh status
#   scripts/cluster.sh start|stop|kill NAME            NAME: redis|postgres siloK gatewayK lb (a fault, or its repair)
#
# Environment: OWS_STORE=redis (default) or postgres (membership and state in a throwaway PostgreSQL
# server: a data folder in the run folder, trust auth on 127.0.0.1, fsync off; topics still on Redis, on the
# port after it), OWS_PORT_BASE (default
# 17000; see the port map below), OWS_RUN_DIR (default .run/cluster: pids, logs, nginx.conf, PostgreSQL
# data, the topology), OWS_NO_BUILD=1 to skip the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=${OWS_PORT_BASE:-17000}
RUN=$(mkdir -p "${OWS_RUN_DIR:-.run/cluster}" && cd "${OWS_RUN_DIR:-.run/cluster}" && pwd)
STORE=${OWS_STORE:-redis}
# Port map: +0 the store, +1 the topics' Redis with postgres, +10+K siloK, +30+K siloK's Orleans gateway, +50+K siloK's HTTP, +60+K gatewayK, +80 nginx.
STORE_PORT=$((BASE + 0))
# Redis holds the topic log in both modes: the store itself with redis, one beside PostgreSQL with postgres.
REDIS_PORT=$([ "${OWS_STORE:-redis}" = postgres ] && echo $((BASE + 1)) || echo "$STORE_PORT")
LB_PORT=$((BASE + 80))
MAX=9

# Shared by every OrleansWs process; docker-compose.yml (and docker-compose.postgres.yml) set the same names.
case $STORE in
  redis) export OrleansWs__Cluster__Mode=redis OrleansWs__Cluster__Redis="127.0.0.1:${STORE_PORT}";;
  postgres) export OrleansWs__Cluster__Mode=postgres
    export OrleansWs__Cluster__Postgres="Host=127.0.0.1;Port=${STORE_PORT};Username=postgres;Database=postgres";;
  *) echo "OWS_STORE is '$STORE'; use redis or postgres" >&2; exit 2;;
esac
export OrleansWs__Topics__Redis="127.0.0.1:${REDIS_PORT}"
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
die() { echo "$*" >&2; exit 2; }

# How many gateways and silos the cluster has: written by up and scale, read by everything else.
GATEWAYS=2 SILOS=2
# shellcheck disable=SC1091
[ -f "$RUN/topology" ] && . "$RUN/topology"
save_topology() { echo "GATEWAYS=$GATEWAYS SILOS=$SILOS" >"$RUN/topology"; }
count() { [[ $1 =~ ^[1-9]$ ]] || die "a count is 1 to $MAX, not '$1'"; echo "$1"; }
gateways() { local k; for k in $(seq 1 "$GATEWAYS"); do echo "gateway$k"; done; }
silos() { local k; for k in $(seq 1 "$SILOS"); do echo "silo$k"; done; }
members() { echo "$STORE"; [ "$STORE" = redis ] || echo redis; silos; gateways; echo lb; }
index() { echo "${1//[!0-9]/}"; }
http_port() {
  case $1 in silo[1-9]) echo $((BASE + 50 + $(index "$1")));; gateway[1-9]) echo $((BASE + 60 + $(index "$1")));;
    lb) echo "$LB_PORT";; *) echo "";; esac
}
ready_path() { [ "$1" = lb ] && echo healthz || echo readyz; }

# The upstream list of the running gateways, also served by the load balancer's /healthz so that a reload
# can be awaited: "ok gateways 17061 17062".
upstream_ports() { local g; for g in $(gateways); do http_port "$g"; done | paste -sd' '; }
write_lb_conf() {
  local servers="" p
  for p in $(upstream_ports); do servers+="    server 127.0.0.1:$p max_fails=1 fail_timeout=5s;\n"; done
  mkdir -p "$RUN/nginx-tmp"
  sed -e "s#@RUN@#$RUN#g" -e "s#@LB_PORT@#$LB_PORT#g" -e "s#@UPSTREAMS@#$(upstream_ports)#g" \
      -e "s#^ *@GATEWAYS@#${servers%\\n}#" "$ROOT/deploy/nginx.local.conf" >"$RUN/nginx.conf"
}
# nginx re-reads its configuration on SIGHUP; connections it already proxies stay with their old worker
# until they close, so a reload drops nobody. Waits until the new list is served.
reload_lb() {
  write_lb_conf
  alive lb || return 0
  nginx -t -q -c "$RUN/nginx.conf" -p "$RUN" || die "the generated nginx.conf does not load; see $RUN/nginx.conf"
  kill -HUP "$(pidof_ lb)"
  local want="ok gateways $(upstream_ports)" deadline=$((SECONDS + 30))
  until [ "$(curl -s "http://127.0.0.1:$LB_PORT/healthz")" = "$want" ]; do
    [ $SECONDS -lt $deadline ] || die "the load balancer did not take the new gateway list within 30 s"
    sleep 0.1
  done
}

start() {
  local name=$1 k
  if alive "$name"; then return; fi
  # Logs are appended, so a restarted process keeps the story of the one before it.
  echo "=== $name starting $(date -u +%H:%M:%S.%3N)" >>"$RUN/$name.log"
  case $name in
    redis)
      # The append-only file keeps what Redis acknowledged (topic publishes, peer state) across a kill of Redis itself.
      redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --dir "$RUN" >>"$RUN/redis.log" 2>&1 &
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
    silo[1-9])
      k=$(index "$name")
      # Workstation GC for a silo of its own, as in docker-compose.yml (README "Performance").
      DOTNET_gcServer=0 OrleansWs__Cluster__SiloPort=$((BASE + 10 + k)) OrleansWs__Cluster__GatewayPort=$((BASE + 30 + k)) \
        dotnet "$ROOT/src/Silo/bin/Release/net10.0/OrleansWs.Silo.dll" --urls "http://127.0.0.1:$(http_port "$name")" --contentRoot "$ROOT/src/Silo" \
        >>"$RUN/$name.log" 2>&1 &
      ;;
    gateway[1-9])
      (cd "$ROOT/src/Gateway/Host/bin/Release/net10.0" && exec dotnet OrleansWs.Gateway.Host.dll --urls "http://127.0.0.1:$(http_port "$name")") \
        >>"$RUN/$name.log" 2>&1 &
      ;;
    lb)
      write_lb_conf
      nginx -c "$RUN/nginx.conf" -p "$RUN" -g 'daemon off;' >>"$RUN/lb.log" 2>&1 &
      ;;
  esac
  echo $! >"$RUN/$name.pid"
}

wait_ready() {
  local name=$1 port deadline=$((SECONDS + 90))
  port=$(http_port "$name")
  while true; do
    if ! alive "$name"; then echo "$name exited; see $RUN/$name.log" >&2; tail -20 "$RUN/$name.log" >&2; exit 1; fi
    if [ "$name" = redis ]; then redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return;
    elif [ "$name" = postgres ]; then "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$STORE_PORT" && return;
    elif curl -fs "http://127.0.0.1:$port/$(ready_path "$name")" >/dev/null 2>&1; then return; fi
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

# A member of the current topology: start, stop and kill act on what up and scale made.
member() {
  local all; all=$(members)
  grep -qx -- "$1" <<<"$all" || die "unknown component '$1'; this cluster has: $(paste -sd' ' <<<"$all")"
  echo "$1"
}

scale() {
  local role=$1 n k
  n=$(count "$2")
  alive "$STORE" || die "the cluster is not up (no $STORE in $RUN); start it with: up --gateways N --silos M"
  case $role in
    gateway)
      if [ "$n" -gt "$GATEWAYS" ]; then
        for k in $(seq $((GATEWAYS + 1)) "$n"); do start "gateway$k"; wait_ready "gateway$k"; done
        GATEWAYS=$n; save_topology; reload_lb
      elif [ "$n" -lt "$GATEWAYS" ]; then
        # Out of the load balancer first, so no new connection reaches a gateway that is going away; then
        # a graceful stop, which closes its sockets with 1001 (clients reconnect through nginx).
        local old=$GATEWAYS
        GATEWAYS=$n; save_topology; reload_lb
        for k in $(seq "$old" -1 $((n + 1))); do stop "gateway$k" TERM; done
      fi
      ;;
    silo)
      if [ "$n" -gt "$SILOS" ]; then
        for k in $(seq $((SILOS + 1)) "$n"); do start "silo$k"; wait_ready "silo$k"; done
      else
        # A silo's orderly stop hands its grains over (their state is always written).
        for k in $(seq "$SILOS" -1 $((n + 1))); do stop "silo$k" TERM; done
      fi
      SILOS=$n; save_topology
      ;;
    *) die "scale gateway N or scale silo N, not '$role'";;
  esac
  echo "scaled: gateways $GATEWAYS, silos $SILOS"
}

case ${1:-} in
  up)
    shift
    while [ $# -gt 0 ]; do
      case $1 in
        --gateways) GATEWAYS=$(count "${2:-}"); shift 2;;
        --silos) SILOS=$(count "${2:-}"); shift 2;;
        *) die "up takes --gateways N and --silos M, not '$1'";;
      esac
    done
    need redis-server redis-server; need redis-cli redis-tools
    if [ "$STORE" = postgres ] && [ -z "$(pg_bin)" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
    need nginx nginx; need curl curl
    if [ "${OWS_NO_BUILD:-}" != 1 ]; then
      dotnet build -c Release src/Silo >/dev/null && dotnet build -c Release src/Gateway/Host >/dev/null
    fi
    save_topology
    for n in $(members); do start "$n"; wait_ready "$n"; done
    echo "up: load balancer http://127.0.0.1:$LB_PORT  gateways $(upstream_ports)  silos $(for s in $(silos); do http_port "$s"; done | paste -sd' ')  $STORE $STORE_PORT"
    ;;
  scale) [ $# -eq 3 ] || die "scale gateway|silo N"; scale "$2" "$3";;
  down)
    # Every process with a PID file here, whatever the topology says: the load balancer, gateways, silos, the store.
    for f in lb $(ls "$RUN" | sed -n 's/^\(gateway[0-9]*\)\.pid$/\1/p' | sort -rV) \
             $(ls "$RUN" | sed -n 's/^\(silo[0-9]*\)\.pid$/\1/p' | sort -rV) redis postgres; do
      stop "$f" >/dev/null
    done
    # The next up starts from its own counts (default 2 and 2), not from this cluster's.
    rm -f "$RUN/topology"
    ;;
  status)
    for n in $(members); do
      if alive "$n"; then
        port=$(http_port "$n"); ready=""
        [ -n "$port" ] && ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/$(ready_path "$n")")
        echo "$n pid $(pidof_ "$n") ${port:+http $port }${ready:+ready $ready}"
      else
        echo "$n down"
      fi
    done
    ;;
  start) name=$(member "${2:-}"); start "$name"; wait_ready "$name";;
  stop) name=$(member "${2:-}"); stop "$name" TERM;;
  kill) name=$(member "${2:-}"); stop "$name" KILL;;
  *) sed -n '2,15p' "$0"; exit 2;;
esac
