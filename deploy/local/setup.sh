#!/usr/bin/env bash
# Idempotent developer/CI setup: Python venv with every local package that
# exists yet, dev tools, Kafka broker jars (from Maven Central) and stripe-mock
# (from the Go module proxy). Re-runs are fast: each step is skipped when its
# stamp still matches its inputs.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Local packages, in dependency order (contracts, domainkit <- eventkit <- services).
LOCAL_PACKAGES=(contracts libs/domainkit libs/eventkit services/booking services/payments services/finance
                services/disputes services/ops tools/stripesim tools/fake_dropbox_sign)
# Linters are pinned exactly: a new ruff/mypy release can turn a green
# `make lint` red without any change in the repo.
DEV_TOOLS=(ruff==0.17.6 mypy==2.4.1 "pytest>=8.3" "pytest-asyncio>=0.24" "pytest-xdist>=3.6" "hypothesis>=6.100"
           "testcontainers>=4.8" "httpx>=0.27" "jsonschema>=4.23" "schemathesis>=4.32,<5"
           "playwright>=1.48" import-linter==2.16)
# uv installs what pip would, several times faster; pip does it wherever uv cannot be
# installed or fails. Both compile the packages' bytecode at install (pip does by default, uv
# when asked): this machine sets PYTHONDONTWRITEBYTECODE, so without it every process would
# compile every module it imports, and the tests' many subprocesses ran twice as slow.
UV_VERSION=0.13.9
KAFKA_VERSION=4.1.1
STRIPE_MOCK_VERSION=v0.203.0   # resolved from @latest when this script was written

hash_of() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- prerequisites
ensure_system_tools() {
    local missing=()
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null || missing+=(maven)
    command -v curl >/dev/null || missing+=(curl)
    # The console's browser test drives Debian's Chromium through Playwright (Playwright's
    # own browser download is not reachable from CI); chromium-driver comes with it.
    [[ -x /usr/bin/chromium ]] || missing+=(chromium chromium-driver)
    # Debian's Prometheus: promtool checks the alert rules (`make lint`), and `make prometheus`
    # and the observability e2e test run the server itself.
    command -v promtool >/dev/null || missing+=(prometheus)
    if ((${#missing[@]})); then
        # Part of this machine image; only a stripped-down machine gets here.
        log "installing missing system packages: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

find_go() {
    if command -v go >/dev/null; then command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go
    else return 1
    fi
}

# ---------------------------------------------------------------- python
pip_install() {
    if [[ -x "$VENV/bin/uv" ]] || "$PY" -m pip install -q "uv==$UV_VERSION"; then
        "$VENV/bin/uv" pip install -q --compile-bytecode --python "$PY" "$@" && return
        log "uv pip install failed; installing with pip instead"
    fi
    "$PY" -m pip install -q "$@"
}

setup_python() {
    if ! "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
        log "creating virtualenv .venv ($(python3 --version))"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi

    local present=() pkg key
    for pkg in "${LOCAL_PACKAGES[@]}"; do
        if [[ -f "$pkg/pyproject.toml" ]]; then present+=("$pkg")
        else log "skipping $pkg (no pyproject.toml yet)"
        fi
    done

    # The stamp covers: this script (tool pins), which packages exist and the
    # content of their pyproject.toml files (dependencies, entry points).
    key="$( {
        cat "${BASH_SOURCE[0]}"
        for pkg in "${present[@]}"; do echo "== $pkg"; cat "$pkg/pyproject.toml"; done
    } | hash_of)"
    if [[ -f "$VENV/.setup-stamp" && "$(<"$VENV/.setup-stamp")" == "$key" ]]; then
        log "python packages up to date (stamp $key)"
        return
    fi

    log "installing dev tools: ${DEV_TOOLS[*]}"
    pip_install "${DEV_TOOLS[@]}"
    if ((${#present[@]})); then
        local args=()
        for pkg in "${present[@]}"; do args+=(-e "./$pkg"); done
        # One resolver run, packages listed in dependency order, so a service
        # that depends on marketplace-contracts/eventkit gets the local editable
        # copy instead of looking for it on PyPI.
        log "installing local packages (editable): ${present[*]}"
        # setuptools warns about flat-layout editable installs once per package;
        # the layout is deliberate (CONVENTIONS.md), so keep CI logs readable.
        PYTHONWARNINGS="ignore:Editable installation" pip_install "${args[@]}"
    fi
    printf '%s\n' "$key" >"$VENV/.setup-stamp"
    log "python packages installed (stamp $key)"
}

# ---------------------------------------------------------------- kafka
setup_kafka() {
    local libs="$TOOLS_DIR/kafka/libs" stampf="$TOOLS_DIR/kafka/.stamp" key tmp
    key="$(hash_of <"$DEPLOY_DIR/pom.xml")"
    if [[ -f "$libs/kafka_2.13-$KAFKA_VERSION.jar" && -f "$stampf" && "$(<"$stampf")" == "$key" ]]; then
        log "kafka $KAFKA_VERSION jars present"
        return
    fi
    log "fetching kafka $KAFKA_VERSION jars from Maven Central into .tools/kafka/libs"
    mkdir -p "$TOOLS_DIR/kafka"
    tmp="$(mktemp -d "$TOOLS_DIR/kafka/libs.XXXXXX")"
    # Copy into a temp dir and swap, so an interrupted download never leaves a
    # half-filled libs dir that looks complete.
    mvn -q -B -Dstyle.color=never -f "$DEPLOY_DIR/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp"
    rm -rf "$libs"
    mv "$tmp" "$libs"
    printf '%s\n' "$key" >"$stampf"
    log "kafka jars: $(find "$libs" -name "*.jar" | wc -l) jars"
}

# ---------------------------------------------------------------- stripe-mock
setup_stripe_mock() {
    local bin="$TOOLS_DIR/bin/stripe-mock" stampf="$TOOLS_DIR/bin/.stripe-mock-version" go
    if [[ -x "$bin" && -f "$stampf" && "$(<"$stampf")" == "$STRIPE_MOCK_VERSION" ]]; then
        log "stripe-mock $STRIPE_MOCK_VERSION present"
        return
    fi
    go="$(find_go)" || die "Go toolchain not found (needed to build stripe-mock)"
    log "building stripe-mock $STRIPE_MOCK_VERSION with $go"
    mkdir -p "$TOOLS_DIR/bin"
    GOBIN="$TOOLS_DIR/bin" GOFLAGS=-mod=mod "$go" install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
    printf '%s\n' "$STRIPE_MOCK_VERSION" >"$stampf"
}

ensure_system_tools
setup_python
setup_kafka
setup_stripe_mock
log "setup complete"
