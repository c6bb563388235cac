"""Every command the docs tell users to type is run by a test as a child process.

The docs (README.md, CONVENTIONS.md, docs/**/*.md, tools/*/README.md) are read for
`python -m <module> [<subcommand>]` and `make <target>` in their code (fenced blocks and inline
code). The tests are read (by `ast`) for the command lists they run:
`[sys.executable, "-m", "<module>", "<subcommand>", ...]`, python's arguments alone
(`["-m", "<module>", ...]`, which `tests.support.processes` runs) and `["make", "<target>", ...]`.
A command documented without such a test fails here, so it cannot ship untested again
(`python -m eventkit.admin dlq list` once crashed for every user while its tests imported it).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("booking", "payments", "finance", "disputes")
# Subcommand groups: the next word is part of the command (`dlq list`, `dlq replay`).
NESTED = {("eventkit.admin", "dlq"), ("finance", "payouts"), ("finance", "reserves")}
# Documented make targets no test runs, and why.
MAKE_EXCLUDED = {
    "up": "binds the system ports (8000-8003, 9092, 12111) that belong to the running system",
    "run": "`make up` in the foreground: the same ports",
    "down": "stops the system that `make up` started",
    "test": "the test suite itself",
    "test-down": "stops the test brokers the suite runs on: .ci/run runs it after the tests",
    "lint": "ruff and mypy over the repo: CI runs it as its own step",
    "bench": "measures the running system (`make up`); prints figures, asserts nothing",
    "clean": "stops and deletes the system and the test Kafka the suite runs on; its database "
    "step is tests/integration/test_local_db_claim.py (deploy/local/claim.sh --drop)",
}

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_INLINE = re.compile(r"`([^`]+)`")
_PYTHON_M = re.compile(
    r"(?:\.venv/bin/)?python3?\s+-m\s+(<service>|[A-Za-z_][\w.]*)((?:[ \t]+[a-z][\w|-]*)*)"
)
_MAKE = re.compile(r"(?<![\w-])make\s+([a-z][\w-]*)")

Command = tuple[str, tuple[str, ...]]  # (module, subcommand words)


def doc_files() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "CONVENTIONS.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return docs + sorted(ROOT.glob("tools/*/README.md"))


def code_in(markdown: str) -> list[str]:
    """Fenced blocks and inline code spans (which may wrap lines)."""
    blocks = _FENCE.findall(markdown)
    return blocks + _INLINE.findall(_FENCE.sub("", markdown))


def commands_in(code: str) -> Iterator[Command]:
    for found in _PYTHON_M.finditer(code):
        module, words = found.group(1), found.group(2).split()
        sub = words[:1]
        if words and (module, words[0]) in NESTED:
            sub = words[:2]
        modules = SERVICES if module == "<service>" else (module,)
        # `dlq list|replay` documents both.
        for parts in product(modules, *(word.split("|") for word in sub)):
            yield parts[0], tuple(parts[1:])


def documented() -> dict[Command, set[str]]:
    """Each documented command and the files that show it."""
    found: dict[Command, set[str]] = {}
    for path in doc_files():
        for code in code_in(path.read_text()):
            for command in commands_in(" ".join(code.split())):
                found.setdefault(command, set()).add(str(path.relative_to(ROOT)))
    return found


def documented_make_targets() -> set[str]:
    targets: set[str] = set()
    for path in doc_files():
        for code in code_in(path.read_text()):
            targets.update(_MAKE.findall(code))
    return targets


def sources_of_tests() -> list[Path]:
    roots = [ROOT / "tests", *ROOT.glob("services/*/tests"), *ROOT.glob("libs/*/tests")]
    roots += ROOT.glob("tools/*/tests")
    return [p for root in roots for p in sorted(root.rglob("*.py"))]


def _is_sys_executable(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "executable"


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def commands_run_by(source: str) -> Iterator[tuple[str, list[str | None]]]:
    """(module or "*" when computed, the literal words after it) of each `-m` command list."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.List):
            continue
        items = node.elts
        if (
            len(items) >= 2 and _text(items[0]) == "-m"
        ):  # python's arguments (tests.support.processes)
            yield _text(items[1]) or "*", [_text(e) for e in items[2:]]
        for i in range(len(items) - 2):
            if _is_sys_executable(items[i]) and _text(items[i + 1]) == "-m":
                yield _text(items[i + 2]) or "*", [_text(e) for e in items[i + 3 :]]


def make_targets_run_by(source: str) -> set[str]:
    targets = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List) and len(node.elts) >= 2 and _text(node.elts[0]) == "make":
            targets.add(_text(node.elts[1]) or "")
    return targets


def covers(tested: tuple[str, list[str | None]], command: Command) -> bool:
    module, words = tested
    module_ok = module == command[0] or (module == "*" and bool(command[1]))
    n = len(command[1])
    runs = (tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return module_ok and (n == 0 or any(run == command[1] for run in runs))


def test_the_docs_are_read_for_commands() -> None:
    """The extraction finds what the README and runbooks show (not vacuously empty)."""
    found = documented()
    for command in [
        ("eventkit.admin", ("dlq", "list")),
        ("eventkit.admin", ("dlq", "replay")),
        ("eventkit.admin", ("dlq", "skip")),
        ("eventkit.admin", ("create-topics",)),
        ("payments", ("retry-refund",)),
        ("booking", ("token",)),
        ("finance", ("migrate",)),  # CONVENTIONS' `python -m <service> migrate`
        ("stripesim", ()),
    ]:
        assert command in found, command
    assert list(commands_in("python -m eventkit.admin dlq list|replay")) == [
        ("eventkit.admin", ("dlq", "list")),
        ("eventkit.admin", ("dlq", "replay")),
    ]
    assert {"help", "contracts", "docs", "up"} <= documented_make_targets()


def test_covers_matches_the_documented_words_only() -> None:
    dlq_list = ("eventkit.admin", ("dlq", "list"))
    assert covers(("eventkit.admin", ["--bootstrap", None, "dlq", "list", None]), dlq_list)
    assert not covers(("eventkit.admin", ["dlq", "replay", None]), dlq_list)
    assert covers(("*", ["migrate"]), ("disputes", ("migrate",)))
    assert not covers(("*", []), ("stripesim", ()))
    assert list(commands_run_by('start(["-m", "ops", "serve"], env, log)')) == [("ops", ["serve"])]


def test_every_documented_command_is_run_by_a_test_as_a_subprocess() -> None:
    tested = [cmd for path in sources_of_tests() for cmd in commands_run_by(path.read_text())]
    missing = {
        f"python -m {module} {' '.join(words)}".strip(): sorted(where)
        for (module, words), where in documented().items()
        if not any(covers(t, (module, words)) for t in tested)
    }
    assert missing == {}, f"documented, but no test runs them as a subprocess: {missing}"


def test_every_documented_make_target_is_tested_or_excluded_with_a_reason() -> None:
    makefile = (ROOT / "Makefile").read_text()
    defined = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    targets = documented_make_targets()
    assert targets <= defined, f"documented but not in the Makefile: {targets - defined}"
    tested = set().union(*(make_targets_run_by(p.read_text()) for p in sources_of_tests()))
    assert not tested & MAKE_EXCLUDED.keys(), "a target is both tested and excluded"
    untested = targets - tested - MAKE_EXCLUDED.keys()
    assert untested == set(), f"documented make targets no test runs: {sorted(untested)}"
