"""The committed JSON Schemas and AsyncAPI documents are exactly what the code generates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from marketplace_contracts.compat import check
from marketplace_contracts.docs import DOC_PATH, render

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current_and_compatible() -> None:
    assert check() == []


def test_committed_contracts_page_is_current() -> None:
    assert DOC_PATH.read_text() == render(), "docs/contracts.md is stale: run `make contracts`"


@pytest.mark.parametrize("service", ["booking", "payments", "finance", "disputes"])
def test_committed_asyncapi_matches_the_routing_table(service: str) -> None:
    generated = subprocess.run(
        [sys.executable, "-m", service, "asyncapi"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    committed = (ROOT / "docs" / "asyncapi" / f"{service}.json").read_text()
    assert json.loads(generated) == json.loads(committed), (
        f"docs/asyncapi/{service}.json is stale: run `make docs`"
    )
