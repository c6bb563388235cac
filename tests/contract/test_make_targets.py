"""The cheap `make` targets the README shows, run as users run them. On a committed tree the
generators must write exactly what is committed (the targets the suite cannot run are listed,
with the reason, in tests/unit/test_documented_commands.py)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli import ROOT, run


def _snapshot(paths: list[Path]) -> dict[str, bytes]:
    return {str(p.relative_to(ROOT)): p.read_bytes() for p in paths}


def test_make_help_lists_every_target_with_its_purpose() -> None:
    done = run(["make", "help"])
    assert done.returncode == 0, done.stderr
    listed = dict(re.findall(r"^  make (\S+)\s+(.+)$", done.stdout, re.M))
    makefile = (ROOT / "Makefile").read_text()
    documented = set(re.findall(r"^([a-z][\w-]*):.*## ", makefile, re.M))
    assert set(listed) == documented
    assert {"up", "down", "test", "contracts", "docs", "lint", "bench"} <= set(listed)


def test_make_contracts_on_a_committed_tree_changes_nothing() -> None:
    files = [*sorted((ROOT / "contracts" / "schemas").rglob("*.json")), ROOT / "docs/contracts.md"]
    before = _snapshot(files)
    done = run(["make", "contracts"], timeout=300)
    assert done.returncode == 0, done.stderr
    assert "exported schemas: 0 written, 0 refused" in done.stdout
    assert re.search(r"contract check: \d+ committed schema versions, 0 problem\(s\)", done.stdout)
    assert _snapshot(files) == before


def test_make_docs_regenerates_exactly_the_committed_documents() -> None:
    files = [
        *sorted((ROOT / "docs" / "asyncapi").glob("*.json")),
        ROOT / "docs/lifecycles.md",
        ROOT / "docs/disputes.md",
        ROOT / "contracts/graphql/admin.graphql",
    ]
    before = _snapshot(files)
    done = run(["make", "docs"], timeout=300)
    assert done.returncode == 0, done.stderr
    for service in ("booking", "payments", "finance", "disputes"):
        assert f"docs/asyncapi/{service}.json" in done.stdout
    assert _snapshot(files) == before, "make docs changed committed documents: commit them"


def test_make_status_names_every_process_of_the_system_and_its_state() -> None:
    """README: a process that died is named by `make status`; nothing here needs it running."""
    done = run(["make", "status"], timeout=120)
    assert done.returncode == 0, done.stderr
    states = dict(re.findall(r"^==> (\S+?):? (.+)$", done.stdout, re.M))
    for name in ("kafka[system]", "stripesim", "booking", "payments", "finance", "disputes"):
        assert states.get(name), done.stdout  # each with its state, running or not
    assert any(name.startswith("postgres") for name in states), done.stdout
