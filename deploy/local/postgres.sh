#!/usr/bin/env bash
# The machine's own PostgreSQL 15 (Debian cluster 15/main on 127.0.0.1:5432).
#   postgres.sh start|status
# There is deliberately no `stop`: the cluster is shared by every checkout and
# by both environments (marketplace, marketplace_test); `make down` leaves it up.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_VERSION=15 PG_CLUSTER=main

is_online() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }

start() {
    command -v pg_ctlcluster >/dev/null || die "pg_ctlcluster not found: PostgreSQL $PG_VERSION is expected on this machine"
    if is_online; then
        log "postgres $PG_VERSION/$PG_CLUSTER: already online"
    else
        log "postgres $PG_VERSION/$PG_CLUSTER: starting"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
    fi
    # Services connect over TCP, so wait for the TCP listener, not the socket.
    local i
    for ((i = 0; i < 60; i++)); do
        pg_isready -q -h 127.0.0.1 -p 5432 && { log "postgres: accepting connections on 127.0.0.1:5432"; return 0; }
        sleep 0.5
    done
    tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 || true
    die "postgres did not accept connections on 127.0.0.1:5432 within 30s"
}

status() {
    if is_online; then log "postgres $PG_VERSION/$PG_CLUSTER: online"; else log "postgres $PG_VERSION/$PG_CLUSTER: down"; return 3; fi
}

case "${1:-}" in
    start) start ;;
    status) status ;;
    *) die "usage: $0 start|status" ;;
esac
