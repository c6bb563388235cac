"""The tests wait, and serve, one way each (CONVENTIONS.md, "Tests"): polling goes through
tests/support/poll.py, threaded servers through tests/support/servers.py, and a sleep that is
left paces a scenario and says why on its line or the line above."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_DIRS = ["tests", "services", "tools", "libs", "contracts"]
POLLER = Path("tests/support/poll.py")
SERVER = Path("tests/support/servers.py")

SLEEP = re.compile(r"\b(time\.sleep|asyncio\.sleep|wait_for_timeout)\(")
DEADLINE = re.compile(r"(monotonic|\.time)\(\) \+")
THREADED_SERVER = re.compile(r"\b(HTTPServer|uvicorn\.Server|uvicorn\.Config)\(")


def _test_files() -> list[Path]:
    found = []
    for top in TEST_DIRS:
        for path in (ROOT / top).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "tests" in relative.parts[:-1] and ".venv" not in relative.parts:
                found.append(relative)
    return sorted(found)


def _lines(relative: Path) -> list[str]:
    return (ROOT / relative).read_text().splitlines()


def test_the_scan_sees_the_tests() -> None:
    files = _test_files()
    assert POLLER in files and SERVER in files
    assert Path("services/disputes/tests/test_cases_service.py") in files


def test_every_sleep_left_in_the_tests_says_why() -> None:
    silent = []
    for relative in _test_files():
        if relative == POLLER:
            continue
        lines = _lines(relative)
        for n, line in enumerate(lines):
            if SLEEP.search(line) and "#" not in line + lines[n - 1]:
                silent.append(f"{relative}:{n + 1}: {line.strip()}")
    assert silent == [], "wait for a condition (tests/support/poll.py) or say why it sleeps"


def test_no_polling_loop_is_written_by_hand() -> None:
    loops = [
        f"{relative}:{n + 1}: {line.strip()}"
        for relative in _test_files()
        if relative != POLLER
        for n, line in enumerate(_lines(relative))
        if DEADLINE.search(line) and "deadline" in line
    ]
    assert loops == [], "poll with wait_until / eventually (tests/support/poll.py)"


def test_threaded_servers_are_started_in_one_place() -> None:
    servers = [
        f"{relative}:{n + 1}: {line.strip()}"
        for relative in _test_files()
        if relative != SERVER
        for n, line in enumerate(_lines(relative))
        if THREADED_SERVER.search(line)
    ]
    assert servers == [], "serve the app with tests/support/servers.serve"
