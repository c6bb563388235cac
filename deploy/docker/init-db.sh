#!/usr/bin/env bash
# First-start init script of the postgres:15 container (mounted into
# /docker-entrypoint-initdb.d by docker-compose.yml). Applies the same roles,
# schemas and grants as deploy/local/db.sh, from the same SQL generator, which
# compose mounts at /opt/marketplace/db-isolation.sh.
set -euo pipefail
db="${MARKETPLACE_DB:-marketplace}"
gen=/opt/marketplace/db-isolation.sh
run_psql() { psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" "$@"; }

bash "$gen" cluster "$db" | run_psql --dbname postgres
bash "$gen" database "$db" | run_psql --dbname "$db"
echo "init-db: $db ready with per-service schemas"
