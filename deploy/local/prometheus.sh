#!/usr/bin/env bash
# Debian's Prometheus as a local process, scraping the local system (docs/observability.md).
#   prometheus.sh start|stop|status [instance] [port] [config]
# Defaults: instance `prometheus`, port 9090, config deploy/prometheus/prometheus.yml (the five
# services of `make up` on 127.0.0.1:8000-8004). State lives in .run/<instance>/ (data/,
# prometheus.log, prometheus.pid), so a test's instance runs beside the system's.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start|stop|status [instance] [port] [config]"; }
[[ $# -ge 1 ]] || usage
cmd="$1" name="${2:-prometheus}" port="${3:-9090}" config="${4:-$ROOT/deploy/prometheus/prometheus.yml}"
[[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || die "bad instance name: $name"
[[ "$port" =~ ^[0-9]+$ ]] || usage

dir="$RUN_DIR/$name"
logfile="$dir/prometheus.log"
pidfile="$dir/prometheus.pid"
label="prometheus[$name]"

start() {
    command -v prometheus >/dev/null || die "prometheus is not installed: run 'make setup'"
    [[ -f "$config" ]] || die "$label: no config at $config"
    if pid="$(pid_of "$pidfile")"; then
        log "$label: already running (pid $pid, http://127.0.0.1:$port)"
        return 0
    fi
    port_open "$port" && die "$label: port $port is already in use by another process"
    mkdir -p "$dir/data"
    log "$label: starting on http://127.0.0.1:$port (config $config), log $logfile"
    # --web.enable-lifecycle: `curl -X POST :PORT/-/reload` picks up edited rules. The storage
    # path in the command line is the marker `stop` checks before it signals the pid.
    start_bg "$pidfile" "$logfile" \
        prometheus --config.file="$config" --storage.tsdb.path="$dir/data" \
        --storage.tsdb.retention.time=7d --web.listen-address="127.0.0.1:$port" \
        --web.enable-lifecycle
    wait_until 60 "$pidfile" "$label" "$logfile" http_ok "$port" /-/ready
    log "$label: ready (pid $(<"$pidfile")): http://127.0.0.1:$port/alerts"
}

status() {
    if pid="$(pid_of "$pidfile")"; then
        log "$label: running (pid $pid, http://127.0.0.1:$port)"
        return 0
    fi
    log "$label: stopped"
    return 3
}

case "$cmd" in
    start) start ;;
    stop) stop_pidfile "$pidfile" "$dir/data" "$label" 30 ;;
    status) status ;;
    *) usage ;;
esac
