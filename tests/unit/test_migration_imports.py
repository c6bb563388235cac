"""Migrations import nothing from the package they migrate: a migration is history, and live
code (an adapter's DDL helper, a domain constant) would change it after the fact. The import
boundaries between packages are lint-imports' (pyproject.toml); Alembic's revision files are
not importable modules, so this test reads them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REVISIONS = sorted(ROOT.glob("services/*/*/migrations/versions/*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_service_has_revisions() -> None:
    services = {p.parents[2].name for p in REVISIONS}
    assert services >= {"booking", "payments", "finance", "disputes", "ops"}


@pytest.mark.parametrize("path", REVISIONS, ids=lambda p: f"{p.parents[2].name}/{p.name}")
def test_a_revision_imports_nothing_from_its_own_package(path: Path) -> None:
    package = path.parents[2].name
    own = sorted(n for n in imported(path) if n == package or n.startswith(package + "."))
    assert not own, f"{path.name} imports {own}: freeze the DDL into the revision instead"
