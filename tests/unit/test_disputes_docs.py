"""docs/disputes.md shows the lifecycle the transition table has: `python -m disputes
lifecycle-doc` (run as users run it) prints it, and rewrites only its block of the page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "disputes.md"


def lifecycle_doc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "disputes", "lifecycle-doc", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_committed_page_shows_the_tables_diagram() -> None:
    printed = lifecycle_doc()
    assert printed.returncode == 0, printed.stderr
    assert "needs_response --> submitting: submit / evidence_submission_requested" in printed.stdout
    assert printed.stdout.strip() in PAGE.read_text(), "docs/disputes.md is stale: run `make docs`"


def test_writing_the_page_replaces_only_the_diagram(tmp_path: Path) -> None:
    page = tmp_path / "disputes.md"
    shutil.copy(PAGE, page)
    text = page.read_text()
    begin, end = text.index("```mermaid"), text.index("<!-- lifecycle:end -->")
    page.write_text(text[:begin] + "stale\n" + text[end:])
    assert lifecycle_doc("--output", str(page)).returncode == 0
    assert page.read_text() == PAGE.read_text()


def test_a_page_without_the_markers_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "other.md"
    page.write_text("# no diagram here\n")
    done = lifecycle_doc("--output", str(page))
    assert done.returncode == 2 and "no lifecycle markers" in done.stderr
    assert page.read_text() == "# no diagram here\n"


def test_a_page_that_does_not_exist_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = lifecycle_doc("--output", str(tmp_path / "missing.md"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"{tmp_path / 'missing.md'}: No such file or directory"
    assert not (tmp_path / "missing.md").exists()
