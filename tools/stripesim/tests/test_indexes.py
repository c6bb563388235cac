"""Look-ups of the simulator go through indexes kept on write: filtered lists, cursors,
events by type and id, and the timers, stay right with many objects; idempotency keys and
events leave memory when Stripe would forget them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from stripesim import create_app
from stripesim.testkit import AUTH, eventually, get, ok, post

DESTINATIONS = ["acct_a", "acct_b", "acct_c"]
GROUPS = ["g0", "g1", "g2", "g3"]


async def transfers(api: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        params = {
            "amount": 100 + n,
            "currency": "usd",
            "destination": DESTINATIONS[n % 3],
            "transfer_group": GROUPS[n % 4],
        }
        made.append(ok(await post(api, "/v1/transfers", params)))
    return made


async def walk(api: httpx.AsyncClient, path: str, **filters: Any) -> tuple[list[str], list[str]]:
    """Every id, page by page: forwards with ``starting_after``, then back from the end with
    ``ending_before``."""
    forwards: list[str] = []
    page = await get(api, path, limit=7, **filters)
    forwards += [o["id"] for o in page["data"]]
    while page["has_more"]:
        page = await get(api, path, limit=7, starting_after=forwards[-1], **filters)
        forwards += [o["id"] for o in page["data"]]
    backwards: list[str] = []
    cursor = forwards[-1] if forwards else None
    while cursor is not None:
        page = await get(api, path, limit=7, ending_before=cursor, **filters)
        backwards = [o["id"] for o in page["data"]] + backwards
        cursor = page["data"][0]["id"] if page["has_more"] else None
    return forwards, backwards


async def test_filtered_lists_page_through_exactly_the_matching_objects(
    api: httpx.AsyncClient,
) -> None:
    made = list(reversed(await transfers(api, 90)))  # newest first, as Stripe lists
    cases: list[dict[str, str]] = [
        {},
        {"destination": "acct_b"},
        {"transfer_group": "g3"},
        {"destination": "acct_a", "transfer_group": "g2"},
        {"destination": "acct_a", "transfer_group": "g1"},  # 3 and 4 are coprime: some
        {"destination": "acct_unknown"},
    ]
    for filters in cases:
        expected = [t["id"] for t in made if all(t[k] == v for k, v in filters.items())]
        forwards, backwards = await walk(api, "/v1/transfers", **filters)
        assert forwards == expected, filters
        assert backwards == expected[:-1], filters  # all but the cursor it started from


async def test_a_cursor_outside_the_filter_is_unknown(api: httpx.AsyncClient) -> None:
    first, second = await transfers(api, 2)
    response = await api.get(
        "/v1/transfers",
        params={"destination": first["destination"], "starting_after": second["id"]},
        headers=AUTH,
    )
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "starting_after"


async def test_events_are_listed_by_type_and_type_prefix(api: httpx.AsyncClient) -> None:
    await transfers(api, 30)
    for _ in range(10):
        ok(await post(api, "/v1/customers"))
    everything = [e["id"] for e in (await get(api, "/v1/events", limit=100))["data"]]
    assert len(everything) == 40
    created = await get(api, "/v1/events", type="transfer.created", limit=100)
    assert [e["id"] for e in created["data"]] == everything[10:]
    forwards, _ = await walk(api, "/v1/events", type="transfer.*")
    assert forwards == everything[10:]
    customer_events = await get(api, "/v1/events", type="customer.*", limit=100)
    assert [e["id"] for e in customer_events["data"]] == everything[:10]
    for event_id in (everything[0], everything[-1]):
        assert (await get(api, f"/v1/events/{event_id}"))["id"] == event_id


def test_events_beyond_the_memory_bound_are_still_found_in_the_state_file(
    tmp_path: Path,
) -> None:
    for state_file in (None, tmp_path / "sim.sqlite3"):
        app = create_app(state_file=state_file, events_in_memory=20, timer_interval=0.01)
        with TestClient(app) as client:
            client.post("/v1/customers", headers=AUTH)
            oldest = client.get("/v1/events", headers=AUTH).json()["data"][0]["id"]
            for _ in range(29):
                client.post("/v1/customers", headers=AUTH)
            sim = app.state.sim
            eventually(lambda: len(sim.events) == 20, what="events pruned")  # noqa: B023
            listed = client.get("/v1/events", headers=AUTH, params={"limit": 100}).json()
            assert len(listed["data"]) == 20 and not listed["has_more"]
            assert oldest not in {e["id"] for e in listed["data"]}
            if state_file is not None:
                saver = app.state.persistence
                eventually(lambda: saver.status()["last_saved_at"], what="a snapshot")  # noqa: B023
            found = client.get(f"/v1/events/{oldest}", headers=AUTH)
            assert found.status_code == (404 if state_file is None else 200)


def test_idempotency_keys_are_purged_after_24_hours_without_a_lookup() -> None:
    app = create_app(timer_interval=0.01)
    with TestClient(app) as client:
        for n in range(5):
            client.post("/v1/customers", headers=AUTH | {"Idempotency-Key": f"k-{n}"})
        assert len(app.state.sim.idempotency) == 5
        client.post("/_sim/clock/advance", json={"seconds": 24 * 3600 + 1})
        eventually(lambda: len(app.state.sim.idempotency) == 0, what="keys purged")


def test_an_authorization_restored_from_the_state_file_still_expires(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.sqlite3"
    data = {"amount": "900", "currency": "usd", "payment_method": "pm_card_visa"}
    held = {**data, "confirm": "true", "capture_method": "manual"}
    with TestClient(create_app(state_file=state_file)) as client:
        pi = client.post("/v1/payment_intents", headers=AUTH, data=held).json()
        captured = client.post("/v1/payment_intents", headers=AUTH, data=held).json()
        client.post(f"/v1/payment_intents/{captured['id']}/capture", headers=AUTH)
    with TestClient(create_app(state_file=state_file)) as client:
        done = client.post("/_sim/clock/advance", json={"seconds": 7 * 24 * 3600}).json()
        assert done["expired"] == [pi["id"]]
        found = client.get(f"/v1/payment_intents/{pi['id']}", headers=AUTH).json()
        assert (found["status"], found["cancellation_reason"]) == ("canceled", "automatic")
