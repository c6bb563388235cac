# Shared helpers for deploy/local/*.sh. Source it; do not run it.
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts that source this file
# Everything here runs on 127.0.0.1 with plain processes (no Docker on the
# dev/CI machines), so the helpers are about pid files, ports and log tails.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY_DIR="$ROOT/deploy/local"
RUN_DIR="$ROOT/.run"
TOOLS_DIR="$ROOT/.tools"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

# Services in dependency/start order; the HTTP port of each comes from CONVENTIONS.md.
SERVICES=(booking payments finance disputes ops)
declare -A SERVICE_PORT=([booking]=8000 [payments]=8001 [finance]=8002 [disputes]=8003 [ops]=8004)
STRIPESIM_PORT=12111

# pip, Maven (~/.m2) and Go (module/build cache) all key their caches on $HOME;
# a CI runner that strips the environment may not set it.
if [[ -z "${HOME:-}" ]]; then
    HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
    export HOME
fi

# Superuser access is by peer auth as the postgres OS user (pg_hba allows no
# password-less TCP login), hence runuser rather than a connection URL.
psql_su() {
    if ((EUID == 0)); then (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@")
    else (cd / && sudo -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@")
    fi
}

log()  { printf '==> %s\n' "$*"; }
warn() { printf 'WARN: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1. bash's /dev/tcp
# avoids depending on nc; `timeout` guards against a connect that never returns.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# True when GET http://127.0.0.1:$1$2 answers 2xx.
http_ok() {
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null
}

# True when an HTTP server answers on 127.0.0.1:$1$2 with any status code.
http_answers() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null)" || true
    [[ -n "$code" && "$code" != 000 ]]
}

# pid_of <pidfile>: print the pid if the file exists and that process is alive.
pid_of() {
    local pidfile="$1" pid
    [[ -f "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    ! exiting "$pid" || return 1
    printf '%s\n' "$pid"
}

# exiting <pid>: true for a process that is on its way out though still listed: a zombie not
# reaped yet, or one tearing down after `kill -9` (the kernel's PF_EXITING flag, 0x4, in the
# ninth field of /proc/<pid>/stat). `kill -9` returns before the process is gone: a `start`
# right after it must start the component again, not find it "already running".
exiting() {
    local stat state flags
    [[ -r /proc/self/stat ]] || return 1 # no procfs (not Linux): kill -0 is all there is
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    read -r state _ _ _ _ _ flags _ <<<"${stat##*) }"
    [[ "$state" == [ZX] ]] || (((flags & 0x4) != 0))
}

# pid_matches <pid> <marker>: guard against pid reuse after a reboot or a crash;
# we only ever signal a pid whose command line contains a marker we put there.
pid_matches() {
    [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# stop_pidfile <pidfile> <marker> <label> [grace seconds]: SIGTERM exactly the
# recorded pid, wait for it to exit, SIGKILL it after the grace period.
stop_pidfile() {
    local pidfile="$1" marker="$2" label="$3" grace="${4:-30}" pid i
    if ! pid="$(pid_of "$pidfile")"; then
        log "$label: not running"
        rm -f "$pidfile"
        return 0
    fi
    if ! pid_matches "$pid" "$marker"; then
        warn "$label: pid $pid from $pidfile is not ours (no '$marker' in its command line); leaving it alone"
        rm -f "$pidfile"
        return 0
    fi
    log "$label: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$label: pid $pid ignored SIGTERM for ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
    log "$label: stopped"
}

# start_bg <pidfile> <logfile> <cmd...>: run cmd detached in its own session
# (setsid), so a Ctrl-C in `make run` reaches only make, which then runs
# `make down` to stop everything in order. Because a backgrounded command in a
# non-interactive shell is not a process-group leader, setsid execs in place
# and $! is the real pid of cmd.
start_bg() {
    local pidfile="$1" logfile="$2"
    shift 2
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
    # Record the command line, with API keys and secrets masked.
    printf '\n===== %s starting: %s\n' "$(date -u +%FT%TZ)" \
        "$(sed -E 's/((KEY|SECRET|TOKEN)[A-Z_]*=)[^ ]+/\1***/g' <<<"$*")" >>"$logfile"
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
    printf '%s\n' "$!" >"$pidfile"
}

# wait_until <timeout s> <pidfile> <label> <logfile> <check cmd...>: poll until
# the check succeeds; fail early if the process died; print the log tail on failure.
wait_until() {
    local timeout="$1" pidfile="$2" label="$3" logfile="$4" deadline
    shift 4
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if "$@"; then return 0; fi
        if ! pid_of "$pidfile" >/dev/null; then
            printf 'ERROR: %s exited during startup. Last lines of %s:\n' "$label" "$logfile" >&2
            tail -n 40 "$logfile" >&2 || true
            return 1
        fi
        sleep 0.5
    done
    printf 'ERROR: %s not ready after %ss. Last lines of %s:\n' "$label" "$timeout" "$logfile" >&2
    tail -n 40 "$logfile" >&2 || true
    return 1
}

# Import name -> whether the package is installed in the venv (its pyproject may
# not exist yet while the platform is being built).
py_has_module() {
    [[ -x "$PY" ]] && "$PY" -I -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null
}

# postgres URL for a service role in a database (dev password = role name).
# Over the Unix socket when db.sh has allowed the services' password logins there (it writes
# .run/postgres-socket), else over TCP.
service_db_url() {
    local svc="$1" db="$2" dir=""
    [[ -f "$RUN_DIR/postgres-socket" ]] && dir="$(cat "$RUN_DIR/postgres-socket")"
    if [[ -n "$dir" && -S "$dir/.s.PGSQL.5432" ]]; then
        printf 'postgresql://%s_svc:%s_svc@/%s?host=%s&port=5432' "$svc" "$svc" "$db" "$dir"
    else
        printf 'postgresql://%s_svc:%s_svc@127.0.0.1:5432/%s' "$svc" "$svc" "$db"
    fi
}
