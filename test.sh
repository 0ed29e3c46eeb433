#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): installs what the tests need from Debian, then
# runs them all. The browser test drives Debian's chromium (nothing downloads a browser of its own);
# the system tests start redis-server, PostgreSQL and nginx through scripts/cluster.sh; the JavaScript client's tests
# (clients/js) run under node's test runner against the embedded silo.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
for tool in chromium:chromium redis-server:redis-server redis-cli:redis-tools nginx:nginx curl:curl node:nodejs; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
# Debian keeps PostgreSQL's server programs off the PATH.
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
status=0
dotnet test OrleansWs.sln "$@" || status=$?
# The JavaScript client's tests (node's test runner), against the embedded silo that the build above made.
node --experimental-websocket --test clients/js/test/client.test.js || status=$?
exit "$status"
