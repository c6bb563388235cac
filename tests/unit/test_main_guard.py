"""Nothing is defined below `if __name__ == "__main__":`.

A function defined there does not exist yet when the guard runs `main()`: the module works when
a test imports it and crashes (NameError) for everyone who runs `python -m ...`. That is how
`python -m eventkit.admin dlq list` shipped broken.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {"build", "dist", "node_modules", "__pycache__"}


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    values = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def defined_below_main_guard(source: str) -> list[str]:
    """`name (line N)` of every function or class defined after the module's main guard."""
    body = ast.parse(source).body
    guards = [i for i, node in enumerate(body) if _is_main_guard(node)]
    if not guards:
        return []
    below = body[guards[0] + 1 :]
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [f"{node.name} (line {node.lineno})" for node in below if isinstance(node, kinds)]


def python_files() -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(ROOT):
        # .venv, .tools, .run, .git and build output are not ours.
        dirs[:] = [
            d
            for d in dirs
            if not (d.startswith(".") or d in SKIPPED_DIRS or d.endswith(".egg-info"))
        ]
        files += [Path(folder, name) for name in names if name.endswith(".py")]
    return files


def test_the_check_finds_a_function_defined_below_the_guard() -> None:
    source = (
        "def main():\n    return helper()\n\n"
        'if __name__ == "__main__":\n    main()\n\n'
        "def helper():\n    return 0\n\nclass Late:\n    pass\n"
    )
    assert defined_below_main_guard(source) == ["helper (line 7)", "Late (line 10)"]
    reversed_guard = source.replace('__name__ == "__main__"', '"__main__" == __name__')
    assert defined_below_main_guard(reversed_guard) == ["helper (line 7)", "Late (line 10)"]
    assert defined_below_main_guard("def main():\n    pass\n") == []


def test_no_module_in_the_repo_defines_anything_below_its_main_guard() -> None:
    files = python_files()
    # The walk reaches the packages (a wrong ROOT would find nothing and pass).
    assert ROOT / "libs" / "eventkit" / "eventkit" / "admin.py" in files
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := defined_below_main_guard(path.read_text()))
    }
    assert offenders == {}, f"defined below `if __name__ == '__main__':` {offenders}"
