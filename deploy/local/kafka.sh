#!/usr/bin/env bash
# Single-node KRaft Kafka as a local process.
#   kafka.sh start|stop|status <name> <port> <ctrl_port>
# State lives in .run/<name>/ (data/, kafka.log, kafka.pid, server.properties),
# so the system broker (`make up`: system 9092 9093) and the test broker
# (`make test`: test 19092 19093) can run side by side.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start|stop|status <name> <port> <ctrl_port>"; }
[[ $# -ge 2 ]] || usage
cmd="$1" name="$2" port="${3:-}" ctrl="${4:-}"
[[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || die "bad instance name: $name"

dir="$RUN_DIR/$name"
data="$dir/data"
logfile="$dir/kafka.log"
pidfile="$dir/kafka.pid"
props="$dir/server.properties"
libs="$TOOLS_DIR/kafka/libs"
label="kafka[$name]"

# Ready = the listener accepts connections AND the broker logged that it
# finished starting (this run's part of the log only); the port opens a few ms
# before the broker leaves STARTING.
kafka_ready() {
    port_open "$port" && tail -c "+$((log_offset + 1))" "$logfile" | grep -q 'Kafka Server started'
}

start() {
    [[ "$port" =~ ^[0-9]+$ && "$ctrl" =~ ^[0-9]+$ ]] || usage
    [[ -f "$libs/kafka_2.13-4.1.1.jar" ]] || die "Kafka jars missing in $libs: run 'make setup'"
    if pid="$(pid_of "$pidfile")"; then
        port_open "$port" || die "$label: pid $pid is alive but port $port is closed (see $logfile)"
        log "$label: already running (pid $pid, 127.0.0.1:$port)"
        return 0
    fi
    # Something else on our port would make the broker fail after a long
    # startup with a confusing bind error; say so right away.
    for p in "$port" "$ctrl"; do
        port_open "$p" && die "$label: port $p is already in use by another process"
    done

    mkdir -p "$data"
    sed -e "s#@PORT@#$port#g" -e "s#@CTRL_PORT@#$ctrl#g" -e "s#@DATA_DIR@#$data#g" \
        "$DEPLOY_DIR/server.properties.tmpl" >"$props"

    # KRaft storage must be formatted once with a cluster id; reformatting an
    # existing dir would fail (and would throw away topics), so only do it when
    # the dir has never been formatted.
    if [[ ! -f "$data/meta.properties" ]]; then
        local cluster_id
        cluster_id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
        log "$label: formatting $data (cluster id $cluster_id)"
        java -cp "$libs/*" -Dlog4j2.configurationFile="$DEPLOY_DIR/log4j2.properties" \
            kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >>"$logfile" 2>&1 \
            || { tail -n 20 "$logfile" >&2; die "$label: storage format failed"; }
    fi

    log "$label: starting on 127.0.0.1:$port (controller $ctrl), log $logfile"
    log_offset=$(stat -c %s "$logfile" 2>/dev/null || echo 0)
    # -Xmx768m: two brokers (system + test) must fit next to Postgres and the
    # services on a 2-core machine. On those 2 cores the serial collector, two
    # JIT compiler threads and two network, I/O and background threads each
    # (server.properties.tmpl) cost the broker about a fifth less CPU per
    # record than G1 and the default thread counts (docs/benchmarks.md). The
    # props path in the command line doubles as the marker stop uses to make
    # sure it signals our own JVM.
    start_bg "$pidfile" "$logfile" \
        java -Xms256m -Xmx768m -XX:+UseSerialGC -XX:CICompilerCount=2 \
        -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$DEPLOY_DIR/log4j2.properties" \
        -cp "$libs/*" kafka.Kafka "$props"
    wait_until 60 "$pidfile" "$label" "$logfile" kafka_ready
    log "$label: ready (pid $(<"$pidfile"))"
}

status() {
    if pid="$(pid_of "$pidfile")"; then
        if port_open "${port:-0}"; then
            log "$label: running (pid $pid, 127.0.0.1:$port)"
        else
            log "$label: process alive (pid $pid) but port ${port:-?} not answering"
        fi
        return 0
    fi
    log "$label: stopped"
    return 3
}

case "$cmd" in
    start) start ;;
    stop) stop_pidfile "$pidfile" "$props" "$label" 30 ;;
    status) status ;;
    *) usage ;;
esac
