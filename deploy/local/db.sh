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

# The services' roles may also sign in with their passwords over the Unix socket: a round trip
# there costs the client a third of the CPU of one over loopback TCP, and so does the server
# (docs/benchmarks.md). Debian's pg_hba lets only `peer` logins use the socket, so one line
# goes before its `local all all peer`; service_db_url (lib.sh) then hands out socket URLs.
allow_socket_logins() {
    local hba dir roles line
    roles="$(IFS=,; echo "${SERVICES[*]/%/_svc}")"
    line="local   all             $roles   scram-sha-256"
    hba="$(psql_su -At -d postgres -c 'SHOW hba_file')"
    dir="$(psql_su -At -d postgres -c 'SHOW unix_socket_directories' | cut -d, -f1)"
    if ! grep -qF -- "$line" "$hba"; then
        log "db: password logins of $roles over the socket (pg_hba, reloaded)"
        (
            flock 9
            grep -qF -- "$line" "$hba" || {
                awk -v l="$line" '!done && /^local[ \t]+all[ \t]+all[ \t]/ { print l; done = 1 } { print }' \
                    "$hba" > "$hba.new"
                grep -qF -- "$line" "$hba.new" || echo "$line" >> "$hba.new"
                cat "$hba.new" > "$hba" && rm -f "$hba.new"
            }
        ) 9>>"${TMPDIR:-/tmp}/marketplace-pg_hba.lock"
        psql_su -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
    fi
    mkdir -p "$RUN_DIR"
    printf '%s\n' "$dir" > "$RUN_DIR/postgres-socket"
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
allow_socket_logins
log "db: $db ready"
