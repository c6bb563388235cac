#!/usr/bin/env bash
# Run the Stripe simulator and the five services as local background processes:
#   services.sh start|stop|status [component ...]
# (components: stripesim booking payments finance disputes ops; none: all of them).
# Pid files and logs live in .run/system/ (<name>.pid, <name>.log), next to the
# system Kafka. Start order: simulator first (payments calls it), then the
# services in CONVENTIONS.md order; stop goes in reverse. Packages that are not
# installed yet are reported and skipped, so this works while the platform grows.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="$RUN_DIR/system"
# The system's database: MP_DB, else the one `make up` started it on (claim.sh records it).
DB="${MP_DB:-$(cat "$DIR/database" 2>/dev/null || echo marketplace)}"
KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
READY_TIMEOUT=60

# Names in start order; the simulator is started like a service.
COMPONENTS=(stripesim "${SERVICES[@]}")

port_of() { [[ "$1" == stripesim ]] && echo "$STRIPESIM_PORT" || echo "${SERVICE_PORT[$1]}"; }

# Environment for one component, as NAME=value words for `env`. Only what
# differs per component or per environment is set here; optional settings
# (BOOKING_JWT_SECRET, PAYMENTS_STRIPE_API_KEY/_API_BASE/_WEBHOOK_SECRET, ...)
# are inherited from the caller's environment when set, and otherwise take the
# service's own default, so there is one source of truth for defaults.
env_of() {
    local c="$1"
    echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"
    case "$c" in
        stripesim)
            # The simulator pushes webhooks to payments like Stripe would, signed
            # with the secret payments verifies.
            echo "STRIPESIM_WEBHOOK_URL=http://127.0.0.1:${SERVICE_PORT[payments]}/webhooks/stripe"
            # Stripe never forgets; neither does the simulator across `make down`/`up`
            # (SQLite; a stripesim-state.json left by older versions is imported once).
            echo "STRIPESIM_STATE_FILE=$DIR/stripesim-state.sqlite3"
            # Subscribed, like a Stripe endpoint's enabled_events, to the types payments
            # handles: the others would cost both sides a request for nothing.
            echo "STRIPESIM_WEBHOOK_EVENTS=$("$PY" -c 'from payments.service_layer.webhooks import ALLOWED_TYPES; print(",".join(sorted(ALLOWED_TYPES)))')"
            if [[ -n "${PAYMENTS_STRIPE_WEBHOOK_SECRET:-}" ]]; then
                echo "STRIPESIM_WEBHOOK_SECRET=$PAYMENTS_STRIPE_WEBHOOK_SECRET"
            fi
            ;;
        *)
            echo "${c^^}_DATABASE_URL=$(service_db_url "$c" "$DB")"
            echo "${c^^}_HTTP_PORT=$(port_of "$c")"
            # A static member of its consumer group: started again after kill -9, it takes
            # back its partitions at once, not after the dead member's session (10 s).
            echo "${c^^}_CONSUMER_INSTANCE_ID=${CONSUMER_INSTANCE_ID-local}"
            if [[ "$c" == finance ]]; then
                # Finance follows the simulator's clock, so moving simulated time
                # (POST /_sim/clock/advance) moves payout due times and reserves too.
                echo "FINANCE_CLOCK_URL=${FINANCE_CLOCK_URL-http://127.0.0.1:$STRIPESIM_PORT/_sim/clock}"
            fi
            if [[ "$c" == disputes ]]; then
                # Disputes too: moving simulated time fires dispute reminders and auto-submits.
                echo "DISPUTES_CLOCK_URL=${DISPUTES_CLOCK_URL-http://127.0.0.1:$STRIPESIM_PORT/_sim/clock}"
            fi
            ;;
    esac
}

cmd_of() {
    if [[ "$1" == stripesim ]]; then echo "-m stripesim --port $STRIPESIM_PORT"
    else echo "-m $1 serve"
    fi
}

# Services are ready when GET /healthz answers 2xx. The simulator mimics Stripe's
# API and need not have /healthz: any HTTP answer (even a 404) means it is up.
ready() {
    local c="$1" port
    port="$(port_of "$c")"
    if [[ "$c" == stripesim ]]; then http_answers "$port" /healthz
    else http_ok "$port" /healthz
    fi
}

start_one() {
    local c="$1" port pidfile logfile pid
    port="$(port_of "$c")" pidfile="$DIR/$c.pid" logfile="$DIR/$c.log"
    if ! py_has_module "$c"; then
        log "$c: not installed yet, skipping"
        return 0
    fi
    if pid="$(pid_of "$pidfile")"; then
        # Not answering yet: a process killed a moment ago may not have begun its exit. Give
        # it a few seconds to answer or be gone; gone, it is started again.
        local tries=0
        until ready "$c" || ! pid_of "$pidfile" >/dev/null || ((tries >= 20)); do
            sleep 0.25
            tries=$((tries + 1))
        done
        if pid_of "$pidfile" >/dev/null; then
            log "$c: already running (pid $pid, :$port)"
            return 0
        fi
        log "$c: pid $pid has exited"
    fi
    port_open "$port" && die "$c: port $port is already in use by another process"
    log "$c: starting on 127.0.0.1:$port, log ${logfile#"$ROOT"/}"
    local envs=()
    mapfile -t envs < <(env_of "$c")
    # shellcheck disable=SC2046  # cmd_of output is split on purpose
    start_bg "$pidfile" "$logfile" env PYTHONUNBUFFERED=1 "${envs[@]}" "$PY" $(cmd_of "$c")
    wait_until "$READY_TIMEOUT" "$pidfile" "$c" "$logfile" ready "$c"
    log "$c: healthy (pid $(<"$pidfile"))"
}

# The components named on the command line (in start order), or all of them; an unknown
# name stops the script before anything is done.
CHOSEN=()
choose() {
    local c k
    for c in "$@"; do
        [[ " ${COMPONENTS[*]} " == *" $c "* ]] ||
            die "unknown component '$c' (components: ${COMPONENTS[*]})"
    done
    for k in "${COMPONENTS[@]}"; do
        if (($# == 0)) || [[ " $* " == *" $k "* ]]; then CHOSEN+=("$k"); fi
    done
}

start() {
    [[ -x "$PY" ]] || die ".venv missing: run 'make setup'"
    mkdir -p "$DIR"
    local c
    for c in "${CHOSEN[@]}"; do start_one "$c"; done
}

stop() {
    local i c
    for ((i = ${#CHOSEN[@]} - 1; i >= 0; i--)); do
        c="${CHOSEN[i]}"
        # The marker "-m <name>" makes sure we only ever signal our own process.
        stop_pidfile "$DIR/$c.pid" "-m $c" "$c" 20
    done
}

status() {
    local c pid port rc=0
    for c in "${CHOSEN[@]}"; do
        port="$(port_of "$c")"
        if pid="$(pid_of "$DIR/$c.pid")"; then
            if ready "$c"; then log "$c: running (pid $pid, http://127.0.0.1:$port, healthy)"
            else log "$c: running (pid $pid) but /healthz on :$port not OK"; rc=3
            fi
        elif py_has_module "$c"; then
            log "$c: stopped"; rc=3
        else
            log "$c: not installed (no package yet)"
        fi
    done
    return "$rc"
}

cd "$ROOT"   # services run from the repo root whatever the caller's cwd
command="${1:-}"
shift || true
case "$command" in
    start | stop | status) choose "$@"; "$command" ;;
    *) die "usage: $0 start|stop|status [component ...]" ;;
esac
