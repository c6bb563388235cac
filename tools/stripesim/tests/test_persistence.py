"""The simulator's state file: an API change written before it is answered, other changes
every interval (a crash loses at most one of those),
write failures logged at ERROR and retried, snapshots that race no mutation, and the import
of the JSON state file older versions wrote."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stripesim import create_app
from stripesim.store import Store, is_sqlite
from stripesim.testkit import AUTH, eventually


def persistence(client: TestClient) -> dict[str, Any]:
    status: dict[str, Any] = client.get("/_sim/health").json()["persistence"]
    return status


def saved(client: TestClient) -> bool:
    """Everything changed so far is in the file."""
    status = persistence(client)
    return bool(status["ok"] and status["last_saved_at"] and not status["unwritten_rows"])


def paid_intent(client: TestClient, key: str | None = None, **params: str) -> dict[str, Any]:
    data = {"amount": "2500", "currency": "usd", "payment_method": "pm_card_visa"}
    headers = AUTH | ({"Idempotency-Key": key} if key else {})
    response = client.post("/v1/payment_intents", headers=headers, data={**data, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_crash_loses_at_most_the_last_interval(tmp_path: Path) -> None:
    state_file, crashed = tmp_path / "sim.sqlite3", tmp_path / "crashed"
    with TestClient(create_app(state_file=state_file, snapshot_seconds=0.05)) as client:
        pi = paid_intent(client, confirm="true", capture_method="manual")
        eventually(lambda: saved(client), what="a snapshot")
        # What a kill -9 leaves behind: the files as they are now, no shutdown save.
        crashed.mkdir()
        for path in tmp_path.glob("sim.sqlite3*"):
            shutil.copy(path, crashed / path.name)
    with TestClient(create_app(state_file=crashed / "sim.sqlite3")) as client:
        found = client.get(f"/v1/payment_intents/{pi['id']}", headers=AUTH).json()
        assert (found["status"], found["latest_charge"]) == (
            "requires_capture",
            pi["latest_charge"],
        )
        events = client.get("/v1/events", headers=AUTH, params={"limit": 100}).json()["data"]
        assert "payment_intent.amount_capturable_updated" in {e["type"] for e in events}


def crashed_copy(tmp_path: Path) -> Path:
    """What a kill -9 leaves behind: the files as they are now, no shutdown save."""
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for path in tmp_path.glob("sim.sqlite3*"):
        shutil.copy(path, crashed / path.name)
    return crashed / "sim.sqlite3"


def test_what_the_api_answered_survives_a_crash_before_the_next_snapshot(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.sqlite3"
    # An hour between snapshots: only the write before each answer can have saved anything.
    with TestClient(create_app(state_file=state_file, snapshot_seconds=3600)) as client:
        pi = paid_intent(client, "pi-1", confirm="true", capture_method="manual")
        capture = client.post(
            f"/v1/payment_intents/{pi['id']}/capture", headers=AUTH | {"Idempotency-Key": "c-1"}
        )
        assert capture.json()["status"] == "succeeded"
        customer = client.post("/v1/customers", headers=AUTH).json()["id"]
        crashed = crashed_copy(tmp_path)
    with TestClient(create_app(state_file=crashed)) as client:
        found = client.get(f"/v1/payment_intents/{pi['id']}", headers=AUTH).json()
        assert (found["status"], found["amount_received"]) == ("succeeded", 2500)
        assert client.get(f"/v1/customers/{customer}", headers=AUTH).status_code == 200
        again = client.post(
            f"/v1/payment_intents/{pi['id']}/capture", headers=AUTH | {"Idempotency-Key": "c-1"}
        )
        assert again.headers.get("Idempotent-Replayed") == "true"


def test_a_failed_write_is_logged_at_error_retried_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "sim.sqlite3"
    real_write, failures = Store.write, [3]

    def flaky_write(store: Store, batch: Any) -> None:
        if failures[0] > 0:
            failures[0] -= 1
            raise sqlite3.OperationalError("database or disk is full")
        real_write(store, batch)

    monkeypatch.setattr(Store, "write", flaky_write)
    caplog.set_level(logging.ERROR, logger="stripesim.persistence")
    with TestClient(create_app(state_file=state_file, snapshot_seconds=0.05)) as client:
        customer = client.post("/v1/customers", headers=AUTH).json()["id"]
        failing = eventually(lambda: not persistence(client)["ok"] and persistence(client))
        assert "database or disk is full" in failing["last_error"]
        eventually(lambda: saved(client), what="a snapshot after the failures")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3  # every failure, not only the first
    assert all("state file" in r.getMessage() and r.exc_info for r in errors)
    with TestClient(create_app(state_file=state_file)) as client:
        assert client.get(f"/v1/customers/{customer}", headers=AUTH).status_code == 200


def test_snapshots_taken_while_requests_mutate_the_state_lose_nothing(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.sqlite3"
    app = create_app(state_file=state_file, snapshot_seconds=0.001)
    with TestClient(app) as client:
        # Objects, events and idempotency keys all change while snapshots are taken (an
        # older version serialized in its thread and died of "dictionary changed size").
        for n in range(60):
            pi = paid_intent(client, f"pi-{n}", confirm="true", capture_method="manual")
            path = f"/v1/payment_intents/{pi['id']}/{'capture' if n % 2 else 'cancel'}"
            headers = AUTH | {"Idempotency-Key": f"end-{n}"}
            assert client.post(path, headers=headers).status_code == 200
        status = persistence(client)
        assert status["ok"] and status["consecutive_failures"] == 0
        live = {k: json.loads(json.dumps(v)) for k, v in app.state.sim.objects.items()}
        events = [e["id"] for e in app.state.sim.events]
    restored = create_app(state_file=state_file)
    assert dict(restored.state.sim.objects.items()) == live
    assert [e["id"] for e in restored.state.sim.events] == events
    assert len(restored.state.sim.idempotency) == 120


def test_a_json_state_file_of_an_older_version_is_imported(tmp_path: Path) -> None:
    source = tmp_path / "sim.sqlite3"
    with TestClient(create_app(state_file=source)) as client:
        customer = client.post(
            "/v1/customers", headers=AUTH | {"Idempotency-Key": "c-1"}, data={"email": "a@b.c"}
        ).json()
    sim = create_app(state_file=source).state.sim
    legacy = tmp_path / "legacy.json"
    legacy.write_text(
        json.dumps(
            {
                "objects": dict(sim.objects.items()),
                "private": dict(sim.private.items()),
                "events": list(sim.events),
                "clock_offset": 0,
                "idempotency": [
                    {"api_key": k[0], "key": k[1], **vars(r)} for k, r in sim.idempotency.items()
                ],
            }
        )
    )
    with TestClient(create_app(state_file=legacy)) as client:
        assert client.get(f"/v1/customers/{customer['id']}", headers=AUTH).status_code == 200
        replay = client.post(
            "/v1/customers", headers=AUTH | {"Idempotency-Key": "c-1"}, data={"email": "a@b.c"}
        )
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == customer["id"]
    assert is_sqlite(legacy)
    assert (tmp_path / "legacy.json.pre-sqlite.json").exists()


def test_a_json_state_file_beside_a_new_sqlite_one_is_imported(tmp_path: Path) -> None:
    old = tmp_path / "stripesim-state.json"
    with TestClient(create_app(state_file=tmp_path / "first.sqlite3")) as client:
        customer = client.post("/v1/customers", headers=AUTH).json()["id"]
    sim = create_app(state_file=tmp_path / "first.sqlite3").state.sim
    document = {
        "objects": dict(sim.objects.items()),
        "private": {},
        "events": list(sim.events),
        "clock_offset": 0,
        "idempotency": [],
    }
    old.write_text(json.dumps(document))
    with TestClient(create_app(state_file=tmp_path / "stripesim-state.sqlite3")) as client:
        assert client.get(f"/v1/customers/{customer}", headers=AUTH).status_code == 200
    assert is_sqlite(tmp_path / "stripesim-state.sqlite3")
