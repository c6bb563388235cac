"""`deploy/local/lib.sh`'s `pid_of` tells a running component from one that is on its way out:
`kill -9` returns before the process is gone, and a `services.sh start` (or `make up`) right
after it must start the component again instead of finding it "already running"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.poll import wait_until

ROOT = Path(__file__).resolve().parents[2]
# A process that stays alive until it is killed (nothing waits on it to sleep).
ALIVE = [sys.executable, "-c", "import time; time.sleep(60)"]


def _pid_of(pidfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"source deploy/local/lib.sh && pid_of {pidfile}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(") ", 1)[1].split()[0]


def test_a_running_process_is_running(tmp_path: Path) -> None:
    with subprocess.Popen(ALIVE) as proc:
        try:
            (tmp_path / "c.pid").write_text(f"{proc.pid}\n")
            found = _pid_of(tmp_path / "c.pid")
            assert found.returncode == 0 and found.stdout.strip() == str(proc.pid)
        finally:
            proc.kill()


def test_a_killed_process_not_reaped_yet_is_gone(tmp_path: Path) -> None:
    proc = subprocess.Popen(ALIVE)
    (tmp_path / "c.pid").write_text(f"{proc.pid}\n")
    proc.kill()  # like `kill -9`; not waited for: it stays listed, a zombie, until reaped
    wait_until(lambda: _state(proc.pid), lambda s: s == "Z", timeout=10, interval=0.05)
    try:
        found = _pid_of(tmp_path / "c.pid")
        assert found.returncode != 0 and found.stdout == ""
    finally:
        proc.wait()
    assert _pid_of(tmp_path / "c.pid").returncode != 0  # reaped: no such process at all


def test_a_pidfile_without_a_pid_names_nothing(tmp_path: Path) -> None:
    (tmp_path / "c.pid").write_text("not a pid\n")
    assert _pid_of(tmp_path / "c.pid").returncode != 0
    assert _pid_of(tmp_path / "missing.pid").returncode != 0


SERVICES_SH = ROOT / "deploy" / "local" / "services.sh"


def test_services_sh_takes_the_components_it_is_given_and_refuses_unknown_ones() -> None:
    """`services.sh stop payments` stopped the whole stack: the name was ignored. Now the
    named components alone are acted on, and an unknown name stops the script before it
    does anything."""
    shown = subprocess.run(
        ["bash", str(SERVICES_SH), "status", "ops"], capture_output=True, text=True, timeout=60
    )
    assert [line.split(":")[0] for line in shown.stdout.splitlines()] == ["==> ops"], shown
    refused = subprocess.run(
        ["bash", str(SERVICES_SH), "stop", "paymnets"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert "unknown component 'paymnets'" in refused.stderr
    assert "stopping" not in refused.stdout + refused.stderr
