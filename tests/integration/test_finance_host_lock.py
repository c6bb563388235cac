"""finance's per-host lock (`queue_repository.lock_host`): the settings row of a host it has
never seen is created, then locked; a known host's is locked as it is. Rolled back."""

from __future__ import annotations

import uuid

import pytest

from finance.adapters import queue_repository as queue_db
from tests.support.rolled_back import rolled_back

pytestmark = pytest.mark.integration


async def test_a_new_hosts_settings_row_is_created_once_and_a_known_one_kept() -> None:
    account = f"acct_lock_{uuid.uuid4().hex[:10]}"
    async with rolled_back("finance") as conn:
        created = await queue_db.lock_host(conn, account)
        assert created["host_account_id"] == account
        await conn.execute(
            "UPDATE finance.host_settings SET payout_delay_seconds = 60 WHERE host_account_id = $1",
            account,
        )
        again = await queue_db.lock_host(conn, account)
        assert again["payout_delay_seconds"] == 60  # the same row, not a fresh default
        count = await conn.fetchval(
            "SELECT count(*) FROM finance.host_settings WHERE host_account_id = $1", account
        )
        assert count == 1
