"""The services' default database is the local system's: `MP_DB`, else the one this checkout's
`make up` started the system on (`.run/system/database`), else `marketplace`."""

from __future__ import annotations

from pathlib import Path

import pytest

from finance.config import FinanceSettings


def test_the_default_database_is_the_local_systems_named_by_mp_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MP_DB", raising=False)
    monkeypatch.delenv("FINANCE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MP_SYSTEM_DIR", str(tmp_path))  # no system started here
    assert FinanceSettings().database_url.endswith("@127.0.0.1:5432/marketplace")
    monkeypatch.setenv("MP_DB", "second_system")
    assert FinanceSettings().database_url == (
        "postgresql://finance_svc:finance_svc@127.0.0.1:5432/second_system"
    )
    monkeypatch.setenv("FINANCE_DATABASE_URL", "postgresql://elsewhere/db")
    assert FinanceSettings().database_url == "postgresql://elsewhere/db"


def test_without_mp_db_it_is_the_database_the_system_was_started_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make up DB=x` then a CLI in a new shell: x, not another system's `marketplace`."""
    monkeypatch.delenv("MP_DB", raising=False)
    monkeypatch.delenv("FINANCE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MP_SYSTEM_DIR", str(tmp_path))
    (tmp_path / "database").write_text("third_system\n")
    assert FinanceSettings().database_url.endswith("@127.0.0.1:5432/third_system")
    monkeypatch.setenv("MP_DB", "named")  # given, it wins
    assert FinanceSettings().database_url.endswith("@127.0.0.1:5432/named")
