"""docker-compose.yml and deploy/k8s give every service the observability settings the docs
describe (JSON logs, metrics, traces over OTLP to a collector), in values the services and the
OpenTelemetry SDK accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.trace import sampling

from eventkit import logs, metrics, tracing

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("booking", "payments", "finance", "disputes", "ops")
REQUIRED = (
    "LOG_FORMAT",
    "METRICS_ENABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_SERVICE_NAME",
)


def _accepted(env: dict[str, str], service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The values as the services read them: JSON logs, metrics on, OTLP to the collector,
    a sampler the SDK builds from the standard variables."""
    assert set(REQUIRED) <= set(env), sorted(set(REQUIRED) - set(env))
    assert env["OTEL_SERVICE_NAME"] == service
    assert logs.FORMAT_ENV == "LOG_FORMAT" and env["LOG_FORMAT"] == "json"
    assert metrics.ENABLED_ENV == "METRICS_ENABLED" and env["METRICS_ENABLED"] == "1"
    assert tracing.exporter_name(env) == "otlp"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    for name, value in env.items():
        if name.startswith("OTEL_TRACES_SAMPLER"):
            monkeypatch.setenv(name, value)
    sampler = sampling._get_from_env_or_default()
    assert "TraceIdRatioBased" in sampler.get_description()
    assert f"{{{float(env['OTEL_TRACES_SAMPLER_ARG'])}}}" in sampler.get_description()


def test_compose_gives_every_service_the_observability_settings_and_a_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in SERVICES:
        env = {k: str(v) for k, v in compose["services"][service]["environment"].items()}
        _accepted(env, service, monkeypatch)
    collector = compose["services"]["otel-collector"]
    config = collector["volumes"][0].split(":")[0]
    assert (ROOT / config).resolve() == ROOT / "deploy" / "otel" / "collector.yaml"


def _kustomize_literals(name: str) -> dict[str, str]:
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    [generator] = [g for g in kustomization["configMapGenerator"] if g["name"] == name]
    return dict(literal.split("=", 1) for literal in generator["literals"])


def _container(service: str) -> dict[str, Any]:
    docs = list(yaml.safe_load_all((ROOT / f"deploy/k8s/{service}.yaml").read_text()))
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"]]
    return container


def test_k8s_gives_every_service_the_observability_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = _kustomize_literals("marketplace-observability")
    for service in SERVICES:
        container = _container(service)
        env = {ref["configMapRef"]["name"]: None for ref in container.get("envFrom", [])}
        assert "marketplace-observability" in env
        own = {e["name"]: e["value"] for e in container["env"] if "value" in e}
        _accepted(shared | own, service, monkeypatch)


def test_the_collector_receives_otlp_over_http_on_4318() -> None:
    config = yaml.safe_load((ROOT / "deploy/otel/collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
