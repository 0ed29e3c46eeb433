#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): installs what the tests need, then runs them all.
# The browser test drives Debian's chromium; nothing downloads a browser of its own.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: Debian's chromium is missing; install it (apt-get install chromium) or run as root." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
exec dotnet test OrleansWs.sln "$@"
