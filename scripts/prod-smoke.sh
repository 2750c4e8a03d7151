#!/usr/bin/env bash
# Production-shape smoke test (docs/operations.md, "The production smoke test").
#
# Builds the Temporal server and its SQL tool from the go.temporal.io/server module in go.mod,
# ticketsync and the simulators' standalone server, then runs e2e/prodsmoke (build tag
# prodsmoke): Temporal on PostgreSQL set up by deploy/temporal-schema.sh with
# deploy/temporal-dynamicconfig.yaml, `ticketsync migrate`, two workers and the API, ~20
# tickets end to end while one worker is SIGKILLed.
#
# Needs PostgreSQL on 127.0.0.1:5432 (or TICKETSYNC_TEST_DATABASE_URL) with a role that may
# create roles and databases; everything it creates has a unique name and is dropped at the end.
#
# Environment (all optional):
#   TICKETSYNC_PRODSMOKE_DIR      binaries and logs (default ${TMPDIR:-/tmp}/ticketsync-prodsmoke)
#   TICKETSYNC_PRODSMOKE_TICKETS  number of tickets (default 20)
#   TICKETSYNC_TEST_DATABASE_URL  admin connection (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
set -euo pipefail
cd "$(dirname "$0")/.."

export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
dir=${TICKETSYNC_PRODSMOKE_DIR:-${TMPDIR:-/tmp}/ticketsync-prodsmoke}
mkdir -p "$dir/bin" "$dir/logs"
dir=$(cd "$dir" && pwd)

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "prod-smoke: PostgreSQL is not accepting connections on 127.0.0.1:5432" >&2
  exit 1
fi

build() { # build <output> <package>
  local began=$SECONDS
  if ! go build -o "$dir/bin/$1" "$2" >"$dir/logs/build-$1.log" 2>&1; then
    echo "prod-smoke: go build $2 failed:" >&2
    cat "$dir/logs/build-$1.log" >&2
    exit 1
  fi
  echo "prod-smoke: built $2 in $((SECONDS - began))s"
}
began=$SECONDS
build temporal-server go.temporal.io/server/cmd/server
build temporal-sql-tool go.temporal.io/server/cmd/tools/sql
build ticketsync ./cmd/ticketsync
build simserver ./e2e/prodsmoke/simserver

echo "prod-smoke: running the stack (logs in $dir/logs)"
TICKETSYNC_PRODSMOKE_BIN="$dir/bin" TICKETSYNC_PRODSMOKE_LOGS="$dir/logs" \
  go test -tags prodsmoke -count=1 -v -timeout 30m ./e2e/prodsmoke/
echo "prod-smoke: passed in $((SECONDS - began))s"
