#!/usr/bin/env bash
# The test environment of `make test`: a test database and a test Kafka broker for each
# pytest-xdist worker, so the tests that use them run in every worker at once.
#   test-env.sh start [--fresh] <workers> <db> <kafka_port> <kafka_ctrl>
#   test-env.sh env <workers> <db> <kafka_port> <kafka_ctrl>   the variables pytest reads
#   test-env.sh stop                                           every test broker
# Worker 0 has <db> and the broker `test` on <kafka_port>/<kafka_ctrl>; worker i has
# <stem>_w<i>_test (or <db>_w<i> when <db> does not end in _test) and the broker `test-w<i>`
# on <kafka_port>+2i/<kafka_ctrl>+2i. The root conftest.py gives each worker its own.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start [--fresh] <workers> <db> <kafka_port> <kafka_ctrl> | env <workers> <db> <kafka_port> <kafka_ctrl> | stop"; }

worker_db() {  # worker_db <db> <i>
    if (($2 == 0)); then echo "$1"
    elif [[ "$1" == *_test ]]; then echo "${1%_test}_w$2_test"
    else echo "$1_w$2"
    fi
}
worker_broker() { if (($1 == 0)); then echo test; else echo "test-w$1"; fi; }

parse() {  # parse <workers> <db> <kafka_port> <kafka_ctrl>
    (($# == 4)) || usage
    workers="$1" db="$2" port="$3" ctrl="$4"
    [[ "$workers" =~ ^[0-9]+$ ]] || usage
    ((workers >= 1)) || workers=1  # TEST_WORKERS=0: one process, as 1
    [[ "$port" =~ ^[0-9]+$ && "$ctrl" =~ ^[0-9]+$ ]] || usage
}

# One worker's broker and migrations; the workers' are made side by side (their databases
# before, one after the other: the roles they share are the cluster's).
start_one() {  # start_one <i>
    local i="$1" wdb broker
    wdb="$(worker_db "$db" "$i")" broker="$(worker_broker "$i")"
    bash "$DEPLOY_DIR/kafka.sh" start "$broker" $((port + 2 * i)) $((ctrl + 2 * i))
    bash "$DEPLOY_DIR/topics.sh" "127.0.0.1:$((port + 2 * i))"
    bash "$DEPLOY_DIR/migrate.sh" "$wdb"
}

start() {
    fresh=""
    if [[ "${1:-}" == --fresh ]]; then fresh=1; shift; fi
    parse "$@"
    local i failed=0 pids=()
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
    for ((i = 0; i < workers; i++)); do
        bash "$DEPLOY_DIR/db.sh" ${fresh:+--fresh} "$(worker_db "$db" "$i")"
    done
    for ((i = 0; i < workers; i++)); do
        start_one "$i" >"$out/$i" 2>&1 &
        pids+=("$!")
    done
    for ((i = 0; i < workers; i++)); do
        if ! wait "${pids[$i]}"; then
            failed=1
            warn "test environment of worker $i failed:"
        fi
        sed "s/^/[w$i] /" "$out/$i"
    done
    ((failed == 0)) || die "the test environment did not start"
}

# What pytest reads: the first worker's database and broker, and every worker's (conftest.py).
env_of() {
    parse "$@"
    local i dbs=() brokers=()
    for ((i = 0; i < workers; i++)); do
        dbs+=("$(worker_db "$db" "$i")")
        brokers+=("127.0.0.1:$((port + 2 * i))")
    done
    echo "MP_TEST_DB=${dbs[0]} KAFKA_BOOTSTRAP=${brokers[0]}" \
        "MP_TEST_DBS=$(IFS=,; echo "${dbs[*]}") KAFKA_BOOTSTRAPS=$(IFS=,; echo "${brokers[*]}")"
}

stop() {
    local dir
    for dir in "$RUN_DIR"/test "$RUN_DIR"/test-w*; do
        [[ -d "$dir" ]] || continue
        bash "$DEPLOY_DIR/kafka.sh" stop "$(basename "$dir")"
    done
}

case "${1:-}" in
    start) shift; start "$@" ;;
    env) shift; env_of "$@" ;;
    stop) stop ;;
    *) usage ;;
esac
