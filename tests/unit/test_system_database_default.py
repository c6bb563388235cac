"""The services' default database is the local system's: `MP_DB`, as `make up` was given it."""

from __future__ import annotations

import pytest

from finance.config import FinanceSettings


def test_the_default_database_is_the_local_systems_named_by_mp_db(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MP_DB", raising=False)
    monkeypatch.delenv("FINANCE_DATABASE_URL", raising=False)
    assert FinanceSettings().database_url.endswith("@127.0.0.1:5432/marketplace")
    monkeypatch.setenv("MP_DB", "second_system")
    assert FinanceSettings().database_url == (
        "postgresql://finance_svc:finance_svc@127.0.0.1:5432/second_system"
    )
    monkeypatch.setenv("FINANCE_DATABASE_URL", "postgresql://elsewhere/db")
    assert FinanceSettings().database_url == "postgresql://elsewhere/db"
