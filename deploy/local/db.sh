#!/usr/bin/env bash
# Create/refresh one environment database with per-service isolation:
#   db.sh <dbname>        (marketplace for `make up`, marketplace_test for tests)
#   db.sh --fresh <db>_test   drop and recreate a *test* database first, so
#                             migrations run from scratch (CI does this: the
#                             cluster outlives checkouts, an edited migration
#                             would otherwise never be re-applied)
# The SQL (roles <svc>_svc, schemas, grants, search_path, extensions) comes from
# deploy/sql/db-isolation.sh, shared with the Docker init script. It never drops
# anything, so it is safe to run before every `make up` / `make test`.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fresh=0
if [[ "${1:-}" == --fresh ]]; then fresh=1; shift; fi
db="${1:-}"
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "usage: $0 [--fresh] <dbname>  (lower-case identifier)"
SQLGEN="$ROOT/deploy/sql/db-isolation.sh"

# Superuser access is by peer auth as the postgres OS user (pg_hba allows no
# password-less TCP login), hence runuser rather than a connection URL.
psql_su() {
    if ((EUID == 0)); then (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@")
    else (cd / && sudo -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@")
    fi
}

if ((fresh)); then
    [[ "$db" == *_test ]] || die "--fresh only drops test databases (*_test), not $db"
    log "db: dropping $db (fresh test database)"
    psql_su -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
fi

log "db: roles ${SERVICES[*]/%/_svc}, database $db"
bash "$SQLGEN" cluster "$db" | psql_su -d postgres
log "db: schemas, privileges and extensions in $db"
bash "$SQLGEN" database "$db" | psql_su -d "$db"
log "db: $db ready"
