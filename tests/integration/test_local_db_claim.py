"""`deploy/local/claim.sh`: the database of `make up` belongs to the system (Kafka log, Stripe
simulator state) of the checkout that first started it. A second checkout's `make up` on the
shared cluster is refused with what to do, not run against a database whose events and
charges its own Kafka and simulator never had; `make clean` drops the database only when no
other living checkout's system holds it. Run as `make up` and `make clean` run it."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "deploy/local/claim.sh"


def _psql(sql: str) -> str:
    done = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-d", "postgres", "-c", sql],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _claim(
    db: str, system: Path, *args: str, ports: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`claim.sh` for the system in `system`, whose ports (nothing listening, unless the test
    says otherwise: a running `make up` on this machine is not the test's)."""
    if ports is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports = str(probe.getsockname()[1])  # free once closed
    return subprocess.run(
        ["bash", SCRIPT, *args, db],
        cwd=ROOT,
        env={**os.environ, "MP_SYSTEM_DIR": str(system), "MP_SYSTEM_PORTS": ports},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _exists(db: str) -> bool:
    return _psql(f"SELECT count(*) FROM pg_database WHERE datname = '{db}'") == "1"


@pytest.fixture
def db() -> Iterator[str]:
    name = f"marketplace_claim_{uuid.uuid4().hex[:8]}"
    _psql(f"CREATE DATABASE {name}")
    yield name
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_database_not_made_yet_is_left_for_db_sh(tmp_path: Path) -> None:
    """`make up` asks before deploy/local/db.sh creates the database, and again after."""
    done = _claim(f"marketplace_claim_{uuid.uuid4().hex[:8]}", tmp_path / "system")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "system" / "system-id").exists()


def test_the_first_system_claims_the_database_and_a_second_is_refused(
    db: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    done = _claim(db, first)
    assert done.returncode == 0, done.stderr
    system_id = (first / "system-id").read_text().strip()
    assert str(uuid.UUID(system_id)) == system_id
    assert _claim(db, first).returncode == 0  # every later `make up` of the same system

    refused = _claim(db, second)
    assert refused.returncode == 1
    assert f"belongs to the system started from {first}" in refused.stderr
    assert "make clean" in refused.stderr
    assert not (second / "system-id").exists()

    kept = _claim(db, second, "--drop")  # `make clean` in the other checkout
    assert kept.returncode == 0 and "left alone" in kept.stderr
    assert _exists(db)
    dropped = _claim(db, first, "--drop")
    assert dropped.returncode == 0, dropped.stderr
    assert not _exists(db)


def test_a_system_whose_state_was_deleted_is_told_to_clean(db: str, tmp_path: Path) -> None:
    """The checkout's .run deleted by hand (its id with it): the database it claimed holds
    events and charges nothing here has. `make up` refuses; `make clean` drops it."""
    system = tmp_path / "system"
    assert _claim(db, system).returncode == 0
    (system / "system-id").unlink()
    refused = _claim(db, system)
    assert refused.returncode == 1 and "are gone" in refused.stderr
    assert _claim(db, system, "--drop").returncode == 0
    assert not _exists(db)


def test_nothing_is_dropped_while_the_systems_ports_are_in_use(db: str, tmp_path: Path) -> None:
    """A .run deleted while its services ran: `make down` no longer knows them, and they would
    reconnect to a database created again under them. `make clean` names them and stops."""
    system = tmp_path / "system"
    assert _claim(db, system).returncode == 0
    (system / "system-id").unlink()
    with socket.socket() as service:
        service.bind(("127.0.0.1", 0))
        service.listen()
        port = str(service.getsockname()[1])
        refused = _claim(db, system, ports=port)
        assert refused.returncode == 1 and "Its processes still run" in refused.stderr
        kept = _claim(db, system, "--drop", ports=port)
        assert kept.returncode == 1
        assert f"{port}: {os.getpid()}" in kept.stderr and "not dropped" in kept.stderr
        assert _exists(db)
    dropped = _claim(db, system, "--drop")
    assert dropped.returncode == 0 and "whose state is gone" in dropped.stdout
    assert not _exists(db)


def test_a_system_runs_on_one_database_which_make_and_the_services_take_by_default(
    db: str, tmp_path: Path
) -> None:
    """The claim records the database (`make`, services.sh and the CLIs take it when MP_DB
    is not given); a second database for the same Kafka log and simulator state is refused
    before deploy/local/db.sh would create it, until the first is gone."""
    system = tmp_path / "system"
    assert _claim(db, system).returncode == 0
    assert (system / "database").read_text() == f"{db}\n"
    other = f"marketplace_claim_{uuid.uuid4().hex[:8]}"  # not made yet: asked before db.sh
    refused = _claim(other, system)
    assert refused.returncode == 1
    assert f"runs on database {db}" in refused.stderr and "make clean" in refused.stderr
    assert (system / "database").read_text() == f"{db}\n"
    assert _claim(db, system, "--drop").returncode == 0
    assert _claim(other, system).returncode == 0  # the first one dropped: nothing to disagree
    _psql(f"CREATE DATABASE {other}")  # deploy/local/db.sh, then `make up` claims it
    try:
        assert _claim(other, system).returncode == 0
        assert (system / "database").read_text() == f"{other}\n"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {other} WITH (FORCE)")


def test_make_takes_the_recorded_database_when_mp_db_is_not_given(tmp_path: Path) -> None:
    """`make up DB=x`, then `make down` / `make clean` / `make up` without it: x."""
    env = {k: v for k, v in os.environ.items() if k not in ("MP_DB", "DB", "MAKEFLAGS")}

    def make_db(*args: str) -> str:
        done = subprocess.run(
            ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-pn", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return next(line for line in done.stdout.splitlines() if line.startswith("DB := "))

    assert make_db() == "DB := marketplace"
    (tmp_path / ".run" / "system").mkdir(parents=True)
    (tmp_path / ".run" / "system" / "database").write_text("started_on\n")
    assert make_db() == "DB := started_on"
    env["MP_DB"] = "given"
    assert make_db() == "DB := given"
