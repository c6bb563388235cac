"""Run a documented command as users type it: `python -m <module> ...` in a child process."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNCLOSED = ("Unclosed client session", "Unclosed connector", "was never awaited")


def run(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The finished command (never raises on a non-zero exit: tests assert the code). A command
    that leaves a session or a connection unclosed fails here, whatever the test asserts: it
    logs an error on every exit."""
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for leak in UNCLOSED:
        assert leak not in done.stderr, f"{command}: {leak}\n{done.stderr[-2000:]}"
    return done


async def run_async(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`run` off the event loop, so consumers in the test's loop keep polling meanwhile."""
    return await asyncio.to_thread(run, command, env, timeout)


def no_traceback(done: subprocess.CompletedProcess[str]) -> bool:
    return "Traceback" not in done.stderr and "Traceback" not in done.stdout
