#!/usr/bin/env bash
# Create every topic of the contract catalogue on one broker:
#   topics.sh <bootstrap>     e.g. 127.0.0.1:9092
# Topics are never auto-created (auto.create.topics.enable=false), so this must
# run after Kafka starts and before any service produces or consumes.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bootstrap="${1:?usage: $0 <bootstrap>}"
[[ -x "$PY" ]] || die ".venv missing: run 'make setup'"
if ! py_has_module eventkit.admin; then
    warn "eventkit.admin not installed yet: no topics created on $bootstrap"
    exit 0
fi
log "topics: creating catalogue topics on $bootstrap"
cd "$ROOT"
# The broker is passed through KAFKA_BOOTSTRAP (which eventkit.admin reads as
# its default) rather than --bootstrap, whose position (before or after the
# sub-command) has varied in eventkit's CLI.
KAFKA_BOOTSTRAP="$bootstrap" "$PY" -m eventkit.admin create-topics
