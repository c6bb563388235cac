"""The staff APIs on the running system answer only callers with credentials: finance's and
disputes' HTTP APIs refuse anyone without a token (401) or with a role they do not admit
(403), take a finance token minted the way docs/security.md shows, and let a service read
and, naming the person it acts for, act."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.e2e.conftest import ROOT, System
from tests.support.staff_auth import bearer, service

pytestmark = pytest.mark.e2e


def _minted(role: str, sub: str) -> dict[str, str]:
    """A token from `python -m booking token`, as the runbooks mint one."""
    done = subprocess.run(
        [sys.executable, "-m", "booking", "token", "--role", role, "--sub", sub],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return {"Authorization": f"Bearer {done.stdout.strip()}"}


def test_finance_and_disputes_answer_only_callers_with_credentials(books_system: System) -> None:
    finance = httpx.Client(base_url=books_system.urls["finance"], timeout=10)
    disputes = httpx.Client(base_url=books_system.urls["disputes"], timeout=10)
    with finance, disputes:
        for client, path in ((finance, "/v1/payouts/queue"), (disputes, "/v1/disputes")):
            anonymous = client.get(path)
            assert anonymous.status_code == 401, anonymous.text
            assert anonymous.json()["error"]["code"] == "unauthenticated"
            guest = client.get(path, headers=bearer("guest-1", "guest"))
            assert (guest.status_code, guest.json()["error"]["code"]) == (403, "forbidden")
            assert client.get(path, headers=service()).status_code == 200
        assert finance.get("/healthz").status_code == 200
        staff = _minted("finance", "alice@example.com")
        assert finance.get("/v1/ledger/trial-balance", headers=staff).json()["balanced"]
        assert disputes.get("/v1/disputes", headers=staff).status_code == 403  # trust's
        trust = _minted("trust", "tom@example.com")
        assert disputes.get("/v1/disputes", headers=trust).status_code == 200
        unnamed = finance.post("/v1/closes", json={}, headers=service())
        assert (unnamed.status_code, unnamed.json()["error"]["code"]) == (
            400,
            "acting_for_required",
        )
