#!/bin/sh
# temporal-schema service of docker-compose.temporal.yml (temporalio/admin-tools image): creates
# Temporal's two PostgreSQL databases and applies every schema migration, before the server
# starts. Safe to run on every start: existing databases are kept, applied versions are skipped.
#
# Connection settings come from the environment (temporal-sql-tool reads them):
#   SQL_PLUGIN=postgres12 SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD
set -eu

: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
SCHEMA_DIR=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

echo "temporal-schema: waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT:-5432}"
i=0
until nc -z -w 5 "$SQL_HOST" "${SQL_PORT:-5432}"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "temporal-schema: PostgreSQL did not answer" >&2
    exit 1
  fi
  sleep 2
done

setup() { # setup <database> <schema subdirectory>
  db=$1
  if out=$(temporal-sql-tool --db "$db" create-database 2>&1); then
    echo "temporal-schema: created database $db"
  else
    case $out in
      *"already exists"*) echo "temporal-schema: database $db already exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$SCHEMA_DIR/$2/versioned"
}

setup "${TEMPORAL_DB:-temporal}" temporal
setup "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" visibility
echo "temporal-schema: done"
