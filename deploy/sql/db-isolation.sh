#!/usr/bin/env bash
# Print the SQL that sets up one environment database with per-service
# isolation (CONVENTIONS.md, "Database"). Single source of truth for
# deploy/local/db.sh (local/CI cluster) and deploy/docker/init-db.sh (postgres
# container). Run the output as a superuser; safe to run repeatedly.
#   db-isolation.sh cluster  <dbname>   -> connect to database "postgres"
#   db-isolation.sh database <dbname>   -> connect to <dbname>
# Result:
# - roles <svc>_svc (LOGIN, dev password = role name), cluster-wide;
# - database owned by postgres; PUBLIC may not connect, only the service roles;
# - schema public unusable (no CREATE/USAGE for PUBLIC); it only holds the
#   extensions the superuser installs;
# - schema <svc> owned by <svc>_svc with nothing granted to anyone else, so a
#   role cannot even resolve names in another service's schema;
# - search_path of <svc>_svc in this database = <svc>, so unqualified names
#   land in the service's own schema.
set -euo pipefail

SERVICES=(booking payments finance disputes ops)
phase="${1:-}" db="${2:-}"
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "usage: $0 cluster|database <dbname>" >&2; exit 2; }

cluster_sql() {
    echo "SET client_min_messages = warning;"
    local svc
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
    # CREATE DATABASE cannot run inside DO/a transaction: emit it conditionally.
    echo "SELECT 'CREATE DATABASE $db OWNER postgres' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec"
}

database_sql() {
    echo "SET client_min_messages = warning;  -- hide IF NOT EXISTS notices"
    echo "REVOKE ALL ON DATABASE $db FROM PUBLIC;"
    echo "GRANT CONNECT ON DATABASE $db TO $(printf '%s_svc,' "${SERVICES[@]}" | sed 's/,$//');"
    echo "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
    # Extensions need privileges the service roles do not have (they may not
    # even CREATE in the database), so the superuser installs them up front.
    # btree_gist: booking's no-overlap EXCLUDE constraint (text WITH =, range WITH &&).
    echo "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;"
    local svc
    for svc in "${SERVICES[@]}"; do
        cat <<SQL
CREATE SCHEMA IF NOT EXISTS $svc AUTHORIZATION ${svc}_svc;
ALTER SCHEMA $svc OWNER TO ${svc}_svc;
REVOKE ALL ON SCHEMA $svc FROM PUBLIC;
ALTER ROLE ${svc}_svc IN DATABASE $db SET search_path = $svc;
SQL
    done
}

case "$phase" in
    cluster) cluster_sql ;;
    database) database_sql ;;
    *) echo "usage: $0 cluster|database <dbname>" >&2; exit 2 ;;
esac
