#!/usr/bin/env bash
# Create/refresh one environment database with the per-service isolation from
# CONVENTIONS.md:
#   db.sh <dbname>        (marketplace for `make up`, marketplace_test for tests)
# - roles <svc>_svc (LOGIN, dev password = role name), cluster-wide;
# - database owned by postgres; PUBLIC may not connect, only the four roles;
# - schema public unusable (no CREATE/USAGE for PUBLIC); it only holds the
#   extensions the superuser installs (btree_gist);
# - schema <svc> owned by <svc>_svc and nothing granted to anyone else, so a
#   role cannot even resolve names in another service's schema;
# - search_path of <svc>_svc in this database = <svc>, so unqualified names
#   (incl. Alembic's alembic_version table) land in the service's own schema.
# Safe to run repeatedly; it never drops anything.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

db="${1:-}"
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "usage: $0 <dbname>  (lower-case identifier)"

# Superuser access is by peer auth as the postgres OS user (no password over TCP).
as_postgres() {
    if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@")
    else (cd / && sudo -u postgres -- "$@")
    fi
}
psql_su() { as_postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }

log "db: roles ${SERVICES[*]/%/_svc}"
{
    for svc in "${SERVICES[@]}"; do
        cat <<SQL
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${svc}_svc') THEN
        CREATE ROLE ${svc}_svc;
    END IF;
END \$\$;
-- Re-assert the attributes every run so a hand-edited role is put back.
ALTER ROLE ${svc}_svc LOGIN PASSWORD '${svc}_svc' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
SQL
    done
    # CREATE DATABASE cannot run inside DO/transaction: emit it conditionally.
    echo "SELECT 'CREATE DATABASE $db OWNER postgres' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec"
} | psql_su -d postgres

log "db: database $db, schemas and privileges"
{
    echo "SET client_min_messages = warning;  -- hide IF NOT EXISTS notices"
    echo "REVOKE ALL ON DATABASE $db FROM PUBLIC;"
    echo "GRANT CONNECT ON DATABASE $db TO $(printf '%s_svc,' "${SERVICES[@]}" | sed 's/,$//');"
    echo "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
    # Extensions need privileges the service roles do not have (they may not even
    # CREATE in the database), so the superuser installs them up front.
    # btree_gist: booking's no-overlap EXCLUDE constraint (text WITH =, range WITH &&).
    echo "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;"
    for svc in "${SERVICES[@]}"; do
        cat <<SQL
CREATE SCHEMA IF NOT EXISTS $svc AUTHORIZATION ${svc}_svc;
ALTER SCHEMA $svc OWNER TO ${svc}_svc;
REVOKE ALL ON SCHEMA $svc FROM PUBLIC;
ALTER ROLE ${svc}_svc IN DATABASE $db SET search_path = $svc;
SQL
    done
} | psql_su -d "$db"
log "db: $db ready"
