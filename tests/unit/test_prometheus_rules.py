"""The Prometheus config and rules are valid, and the alerts' unit tests pass (promtool, from
Debian's `prometheus` package that `make setup` installs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy/prometheus"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make setup` installs Debian's prometheus package")
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)


def test_the_config_and_its_rule_files_check() -> None:
    done = _promtool("check", "config", str(PROM / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "alerts.yml" in done.stdout and "recording.yml" in done.stdout


def test_make_rules_check_runs_promtool_on_the_config_and_the_tests() -> None:
    done = subprocess.run(
        ["make", "rules-check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout and "alerts_test.yml" in done.stdout


def test_every_alert_has_its_runbook_section() -> None:
    """The `runbook` annotation of each alert names a heading of docs/observability.md."""
    doc = (ROOT / "docs/observability.md").read_text()
    headings = {
        line.lstrip("#").strip().lower() for line in doc.splitlines() if line.startswith("#")
    }
    for group in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            runbook = rule["annotations"]["runbook"]
            assert runbook == f"docs/observability.md#{rule['alert'].lower()}"
            assert rule["alert"].lower() in headings, rule["alert"]


def test_the_alert_unit_tests_pass() -> None:
    done = _promtool("test", "rules", *map(str, sorted((PROM / "tests").glob("*.yml"))))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_rule_is_refused(tmp_path: Path) -> None:
    """The gate can fail: an expression that does not parse is reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m]\n"
    )
    done = _promtool("check", "rules", str(broken))
    assert done.returncode != 0


def test_every_alert_the_issue_lists_is_there() -> None:
    text = (PROM / "alerts.yml").read_text()
    for alert in (
        "DeadLettersPresent",
        "ConsumerLagGrowing",
        "OutboxOldestRowTooOld",
        "CheckoutP99OverTarget",
        "ChargeSuccessRatioDropping",
        "AuthorizationsAboutToLapse",
        "ReconciliationExceptionsOlderThanADay",
        "DailyCloseFailed",
        "DisputeDueWithoutEvidence",
    ):
        assert f"- alert: {alert}\n" in text, alert
