"""The four services as processes and a real Prometheus (`make prometheus`, Debian's package)
scraping them every second, with the repository's rules and every alert's `for:` cut to 0 so
an alert fires within seconds of its cause.

Kept cheap for CI: one system for the package, scraped and evaluated every second, gauges
refreshed every second (`METRICS_REFRESH_SECONDS`).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import KAFKA
from tests.e2e.conftest import ROOT, SERVICES, System, build_system, running
from tests.support import free_port
from tests.support.poll import wait_until

RULES = ROOT / "deploy/prometheus"


@dataclass
class Prometheus:
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        assert answer.status_code == 200, answer.text
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def value(self, expr: str) -> float:
        """The single value of `expr`, 0 when it has no series (nothing observed yet)."""
        result = self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else 0.0

    def alerts(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/alerts", timeout=5)
        alerts: list[dict[str, Any]] = answer.json()["data"]["alerts"]
        return alerts

    def wait_for(self, what: str, check: Any, timeout: float = 20) -> Any:
        return wait_until(check, timeout=timeout, interval=0.25, what=f"Prometheus showing {what}")


def _config(system: System, directory: Path) -> Path:
    """The repository's config with the test's ports and 1 s intervals; the same rules with
    `for:` removed (their expressions are what is under test, not the waiting)."""
    config = yaml.safe_load((RULES / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    rule_files = []
    for name in config["rule_files"]:
        rules = yaml.safe_load((RULES / name).read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                rule.pop("for", None)
        (directory / name).write_text(yaml.safe_dump(rules))
        rule_files.append(str(directory / name))
    config["rule_files"] = rule_files
    [job] = config["scrape_configs"]
    job["static_configs"] = [
        {"targets": [system.urls[name].removeprefix("http://")], "labels": {"service": name}}
        for name in SERVICES
    ]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _make(args: list[str]) -> None:
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="package")
def observed(
    kafka_bootstrap: str, pg_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[System, Prometheus]]:
    system = build_system(KAFKA, tmp_path_factory.mktemp("e2e-obs-logs"))
    system.env["METRICS_REFRESH_SECONDS"] = "1"
    with running(system):
        config = _config(system, tmp_path_factory.mktemp("e2e-obs-prometheus"))
        instance, port = f"e2e-prometheus-{uuid.uuid4().hex[:8]}", str(free_port())
        where = [f"PROMETHEUS_INSTANCE={instance}", f"PROMETHEUS_PORT={port}"]
        _make(["make", "prometheus", *where, f"PROMETHEUS_CONFIG={config}"])
        try:
            yield system, Prometheus(f"http://127.0.0.1:{port}")
        finally:
            _make(["make", "prometheus-stop", *where])
            shutil.rmtree(ROOT / ".run" / instance, ignore_errors=True)
