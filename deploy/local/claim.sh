#!/usr/bin/env bash
# The database of `make up` and this checkout's .run/system (the Kafka log, the Stripe
# simulator's state) are one system: outbox rows marked relayed name records in that Kafka,
# and the reconciliation compares the ledger with that simulator's balance. The cluster is
# shared by every checkout on the machine, so the database is claimed by one system:
#   claim.sh <db>           claim it for this checkout's system (the first `make up`), or
#                           refuse when another system holds it (no database yet: nothing to do)
#   claim.sh --drop <db>    drop it, unless another checkout's system holds it (`make clean`)
# The claim is the database's comment; the system's id is the file system-id in
# $MP_SYSTEM_DIR (default .run/system), made by the first claim, and the database it runs on
# the file database there (what `make` and services.sh take when MP_DB is not given). A
# system runs on one database: claiming a second while its first exists is refused. Nothing is dropped while
# something listens on the system's ports ($MP_SYSTEM_PORTS, default the services' and the
# simulator's): after `make down`, those are processes its pid files no longer name.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

drop=0
if [[ "${1:-}" == --drop ]]; then drop=1; shift; fi
db="${1:-}"
[[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "usage: $0 [--drop] <dbname>  (lower-case identifier)"
dir="${MP_SYSTEM_DIR:-$RUN_DIR/system}"
PREFIX="make-up system"

# psql interpolates its variables (:'name', quoted) in what it reads, not in -c.
sql() { psql_su -At -d postgres -v db="$db" -v comment="${2:-}" <<<"$1"; }
comment_of() {
    sql "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database
         WHERE datname = :'db'"
}
exists() { [[ "$(sql "SELECT count(*) FROM pg_database WHERE datname = :'db'")" == 1 ]]; }

ports="${MP_SYSTEM_PORTS:-${SERVICE_PORT[*]} $STRIPESIM_PORT}"
# "port (pid command), ..." of what listens on the system's ports; empty when nothing does.
listening() {
    local port pids out=""
    for port in $ports; do
        port_open "$port" || continue
        pids="$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' ')"
        out+="${out:+; }$port: ${pids:-pid unknown}"
        [[ -n "$pids" ]] && out+=" ($(ps -o args= -p "${pids%% *}" 2>/dev/null | cut -c1-60))"
    done
    printf '%s' "$out"
}

if ! psql_su -d postgres -c 'SELECT 1' >/dev/null; then
    ((drop)) && { warn "Postgres does not answer: $db left as it is"; exit 0; }
    die "Postgres does not answer (deploy/local/postgres.sh start)"
fi
mine=""
dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"  # as the claim records it
id_file="$dir/system-id"
[[ -f "$id_file" ]] && mine="$(cat "$id_file")"
claim=""
exists && claim="$(comment_of)"
# "make-up system <id> of <its system directory>"
held_by="${claim#"$PREFIX "}"
held_id="${held_by%% *}"
held_dir="${held_by#* of }"
held_path="${held_dir%/.run/system}"  # the checkout, for the messages
[[ "$claim" == "$PREFIX "* ]] || held_id=""

# This checkout may drop or take the database when no system holds it, when its own does,
# or when the holder's state is gone: deleted here since (its id with it), or the holding
# system's directory removed (nothing can use the database against its data any more).
gone=0
if [[ -n "$held_id" && "$held_id" != "$mine" ]] && [[ "$held_dir" == "$dir" || ! -d "$held_dir" ]]; then
    gone=1
fi

if ((drop)); then
    exists || exit 0
    if [[ -n "$held_id" && "$held_id" != "$mine" ]] && ((!gone)); then
        warn "database $db is left alone: it belongs to the system of $held_path"
        exit 0
    fi
    running="$(listening)"
    if [[ -n "$running" ]]; then
        die "database $db is not dropped: something still listens on the system's ports \
($running). After 'make down' these are processes no pid file names (a .run deleted while \
they ran), or another checkout's system: stop them (kill <pid>), then run this again."
    fi
    if [[ -z "$held_id" || "$held_id" == "$mine" ]]; then
        log "db: dropping $db (the system of this checkout)"
    else
        log "db: dropping $db (the system of $held_path, whose state is gone)"
    fi
    psql_su -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    exit 0
fi

if [[ -n "$mine" && "$held_id" != "$mine" ]]; then
    # One Kafka log and one simulator state: a second database would disagree with them.
    recorded="$(cat "$dir/database" 2>/dev/null || true)"
    if [[ -n "$recorded" && "$recorded" != "$db" ]] &&
        [[ "$(db="$recorded" comment_of)" == "$PREFIX $mine of $dir" ]]; then
        die "this checkout's system runs on database $recorded (its Kafka log and Stripe \
simulator state are of that one), not $db: run 'make up' without DB (or with \
MP_DB=$recorded), or delete that system first with 'make clean' (it drops $recorded), then \
'make up DB=$db'."
    fi
fi
# `make up` asks before db.sh touches the database (a refusal then changes nothing of the
# other system's), and again after db.sh made it, to claim a new one.
exists || exit 0
if [[ -n "$held_id" && "$held_id" != "$mine" ]]; then
    if ((gone)); then
        die "database $db holds a system whose Kafka log and Stripe simulator state are gone \
($held_dir was deleted since it started): its services would disagree with what \
the database holds. 'make clean' drops the database too; then 'make up' starts afresh.\
$(running="$(listening)"; [[ -n "$running" ]] && printf ' Its processes still run (%s): stop them first (kill <pid>).' "$running")"
    fi
    die "database $db belongs to the system started from $held_path: its Kafka log and Stripe \
simulator state are there, not in $dir, and against them this checkout's services would \
disagree with what the database holds (events marked relayed that this Kafka never had, \
charges this simulator never made). Use that checkout (make down / make up there), or \
delete that system first with 'make clean' in $held_path (its database, Kafka log and \
simulator state)."
fi
printf '%s\n' "$db" > "$dir/database"
[[ -n "$held_id" ]] && exit 0
if [[ -z "$mine" ]]; then
    mine="$("$PY" -c 'import uuid; print(uuid.uuid4())' 2>/dev/null || cat /proc/sys/kernel/random/uuid)"
    printf '%s\n' "$mine" > "$id_file"
fi
log "db: $db claimed by this checkout's system ($mine)"
sql "COMMENT ON DATABASE :\"db\" IS :'comment'" "$PREFIX $mine of $dir" >/dev/null
