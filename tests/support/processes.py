"""The one way the tests run a service as users do: `python -m <service> serve` as a child
process of the test, its output in a log file, waited for until it answers, and stopped
(SIGTERM, then SIGKILL after 15 s) when the test is done with it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from tests.support.poll import wait_until

ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python <args>` from the repository's root, stdout and stderr appended to `log`."""
    return subprocess.Popen(
        [sys.executable, *args],
        env=dict(env),
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """A graceful stop; a kill when it does not end within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def _answers(url: str, path: str) -> bool:
    try:
        answer = httpx.get(f"{url}{path}", timeout=1)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 or not path


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, path: str = "/healthz", timeout: float = 60
) -> None:
    """Until `url + path` answers 200 (with `path` empty: answers at all); raises with the
    log's tail when the process exits first or the time runs out."""

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        return _answers(url, path)

    try:
        wait_until(ready, timeout=timeout, interval=0.2, what=f"{url}{path} to answer")
    except AssertionError as exc:
        raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from None


@contextlib.contextmanager
def serving(
    args: list[str], env: Mapping[str, str], log: Path, url: str, path: str = "/healthz"
) -> Iterator[subprocess.Popen[bytes]]:
    """A service process for the `with` block: started, ready, then stopped."""
    proc = start(args, env, log)
    try:
        wait_ready(url, proc, log, path)
        yield proc
    finally:
        stop(proc)
