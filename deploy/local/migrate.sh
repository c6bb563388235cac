#!/usr/bin/env bash
# Apply every service's Alembic migrations to one environment database:
#   migrate.sh <dbname>
# Each service migrates as its own role (CONVENTIONS.md), so its tables land in
# its own schema through the role's search_path set by db.sh. Services whose
# package is not installed yet are skipped.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

db="${1:-}"
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "usage: $0 <dbname>"
[[ -x "$PY" ]] || die ".venv missing: run 'make setup'"
cd "$ROOT"

# The schemas are independent: the services migrate side by side, each with its output in a
# file of its own, shown when it is done (a failure's in full, with the service named).
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
pids=()
for svc in "${SERVICES[@]}"; do
    if ! py_has_module "$svc"; then
        log "migrate: $svc not installed yet, skipping"
        continue
    fi
    log "migrate: $svc -> $db"
    env "${svc^^}_DATABASE_URL=$(service_db_url "$svc" "$db")" "$PY" -m "$svc" migrate \
        >"$out/$svc" 2>&1 &
    pids+=("$svc:$!")
done
failed=()
for entry in "${pids[@]}"; do
    svc="${entry%%:*}"
    if wait "${entry#*:}"; then cat "$out/$svc"
    else cat "$out/$svc" >&2; failed+=("$svc")
    fi
done
((${#failed[@]} == 0)) || die "migrate: failed for ${failed[*]} (their output is above)"
log "migrate: done"
