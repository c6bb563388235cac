"""Memory bounded by ``objects_in_memory`` and ``idempotency_in_memory`` with a state file:
written objects and idempotency records leave memory, and every API answer stays what it
would be if they had not (lookups, lists, captures, replays, the timers, a restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from stripesim import create_app
from stripesim.state import SimState
from stripesim.testkit import AUTH, KEY, eventually
from stripesim.tracking import TrackedDict

OBJECTS, KEYS, INTENTS = 12, 5, 30
SEVEN_DAYS_AND_A_BIT = 8 * 24 * 60 * 60


def bounded_app(state_file: Path) -> Any:
    return create_app(
        state_file=state_file,
        snapshot_seconds=0.02,
        timer_interval=0.01,
        objects_in_memory=OBJECTS,
        idempotency_in_memory=KEYS,
    )


def in_memory(sim: SimState, object_id: str) -> bool:
    return object_id in dict.keys(sim.objects)  # the dict itself: no loading back


def authorize(client: TestClient, n: int) -> tuple[dict[str, Any], str]:
    """A confirmed manual-capture intent made with key ``pay-n``; its body and Request-Id."""
    _, response = replay(client, n)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["Request-Id"]


def make_history(client: TestClient, sim: SimState) -> list[tuple[dict[str, Any], str]]:
    """``INTENTS`` authorized intents, then waits until memory is down to the bounds."""
    made = [authorize(client, n) for n in range(INTENTS)]
    eventually(
        lambda: sim.objects.in_memory() <= OBJECTS and len(sim.idempotency) <= KEYS,
        what="memory down to the bounds",
    )
    return made


def test_evicted_objects_are_retrieved_captured_and_listed_as_if_in_memory(
    tmp_path: Path,
) -> None:
    app = bounded_app(tmp_path / "sim.sqlite3")
    with TestClient(app) as client:
        sim = app.state.sim
        made = make_history(client, sim)
        oldest = made[0][0]
        assert not in_memory(sim, oldest["id"]) and not in_memory(sim, oldest["latest_charge"])
        found = client.get(f"/v1/payment_intents/{oldest['id']}", headers=AUTH).json()
        assert found == oldest
        for body, _ in made[1:6]:
            captured = client.post(f"/v1/payment_intents/{body['id']}/capture", headers=AUTH)
            assert (captured.json()["status"], captured.json()["amount_received"]) == (
                "succeeded",
                body["amount"],
            )
        listed = client.get("/v1/balance_transactions", headers=AUTH).json()
        assert [t["source"] for t in listed["data"]] == [
            b["latest_charge"] for b, _ in made[5:0:-1]
        ]
        eventually(lambda: sim.objects.in_memory() <= OBJECTS, what="memory bounded again")
        # Which entries go is not fixed: one the timers have just looked at is kept (`touched`),
        # so the listing may keep its newest transactions in memory; read again, it is the same.
        assert client.get("/v1/balance_transactions", headers=AUTH).json() == listed
        charge = client.get(f"/v1/charges/{made[1][0]['latest_charge']}", headers=AUTH).json()
        assert (charge["captured"], charge["amount_captured"]) == (True, made[1][0]["amount"])
        missing = client.get("/v1/payment_intents/pi_neverexisted", headers=AUTH)
        assert missing.status_code == 404


def test_a_replay_of_an_evicted_idempotency_key_answers_as_the_original(tmp_path: Path) -> None:
    app = bounded_app(tmp_path / "sim.sqlite3")
    with TestClient(app) as client:
        sim = app.state.sim
        made = make_history(client, sim)
        assert (KEY, "pay-0") not in sim.idempotency
        original, request_id = made[0]
        _, replayed = replay(client, 0)
        assert replayed.status_code == 200
        assert replayed.json() == original
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.headers["Original-Request"] == request_id
        other = client.post(
            "/v1/payment_intents",
            headers=AUTH | {"Idempotency-Key": "pay-0"},
            data={"amount": "1", "currency": "usd"},
        )
        assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
        client.post("/_sim/clock/advance", json={"seconds": 25 * 60 * 60})
        _, after_a_day = replay(client, 0)
        assert "Idempotent-Replayed" not in after_a_day.headers
        assert after_a_day.json()["id"] != original["id"]  # executed anew, as Stripe would


def replay(client: TestClient, n: int) -> tuple[dict[str, Any], Any]:
    """The request of ``authorize(client, n)`` sent (again): its form and the response."""
    data = {
        "amount": str(1000 + n),
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "confirm": "true",
        "capture_method": "manual",
    }
    response = client.post(
        "/v1/payment_intents", headers=AUTH | {"Idempotency-Key": f"pay-{n}"}, data=data
    )
    return data, response


def test_a_restart_stays_bounded_and_its_timers_still_reach_evicted_intents(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "sim.sqlite3"
    app = bounded_app(state_file)
    with TestClient(app) as client:
        paid, _ = authorize(client, 100)
        client.post(f"/v1/payment_intents/{paid['id']}/capture", headers=AUTH).raise_for_status()
        charge = client.get(f"/v1/charges/{paid['latest_charge']}", headers=AUTH).json()
        made = make_history(client, app.state.sim)
    restarted = bounded_app(state_file)
    sim = restarted.state.sim
    assert sim.objects.in_memory() <= OBJECTS and len(sim.idempotency) <= KEYS
    oldest, request_id = made[0]
    assert not in_memory(sim, oldest["id"])
    with TestClient(restarted) as client:
        assert client.get(f"/v1/payment_intents/{oldest['id']}", headers=AUTH).json() == oldest
        _, replayed = replay(client, 0)
        assert replayed.headers["Original-Request"] == request_id
        assert replayed.json() == oldest
        # Card authorizations lapse after 7 days, captured funds are available after 2: the
        # timers must find the evicted intents and balance transactions too.
        done = client.post("/_sim/clock/advance", json={"seconds": SEVEN_DAYS_AND_A_BIT}).json()
        assert set(done["expired"]) == {body["id"] for body, _ in made}
        assert done["available"] == [charge["balance_transaction"]]
        eventually(lambda: sim.objects.in_memory() <= OBJECTS, what="memory bounded again")
        lapsed = client.get(f"/v1/payment_intents/{oldest['id']}", headers=AUTH).json()
        assert lapsed["status"] == "canceled"


def test_eviction_spares_what_the_store_lacks_or_the_timers_have_not_seen() -> None:
    stored = {key: {"id": key} for key in "abc"}
    tracked = TrackedDict()
    tracked.loader, tracked.limit = stored.get, 1
    tracked.load(dict(stored))
    assert tracked.evict() == 0  # all still to be seen by the timers
    tracked.take_touched()
    tracked["b"]["seen"] = True  # changed in memory, not in the store yet
    assert tracked.evict() == 2
    assert list(dict.keys(tracked)) == ["b"]
    assert "a" in tracked and tracked.peek("c") == {"id": "c"} and "z" not in tracked
    assert tracked.dirty == {"b"}  # ``in`` and ``peek`` loaded without marking
