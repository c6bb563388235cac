"""The Grafana dashboard (deploy/grafana/marketplace.json) and the Prometheus rules query only
metrics the services expose: every metric name in their PromQL is one the services' registries
declare, a recording rule of deploy/prometheus/recording.yml, or Prometheus' own `up`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/marketplace.json"
PROM = ROOT / "deploy/prometheus"

_CLAUSE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_STRINGS = re.compile(r'"[^"]*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, labels and keywords left out)."""
    for pattern in (_STRINGS, _CLAUSE, _MATCHERS, _RANGES):
        expr = pattern.sub(" ", expr)
    return {name for name in _NAME.findall(expr) if name not in _KEYWORDS}


def _samples_of(family: Metric) -> set[str]:
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_count", "_sum"),
        "gauge": ("",),
    }.get(family.type, ("",))
    return {family.name + suffix for suffix in suffixes}


def exposed() -> set[str]:
    # The modules that declare the services' metrics (what each /metrics serves).
    import booking.metrics  # noqa: F401
    import disputes.metrics  # noqa: F401
    import eventkit.metrics
    import eventkit.stripe_metrics  # noqa: F401
    import finance.metrics  # noqa: F401
    import payments.metrics  # noqa: F401

    names = {name for family in REGISTRY.collect() for name in _samples_of(family)}
    recorded = yaml.safe_load((PROM / "recording.yml").read_text())
    names |= {r["record"] for group in recorded["groups"] for r in group["rules"]}
    return names | {"up"}


def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_extraction_finds_names_and_skips_labels_and_functions() -> None:
    expr = 'histogram_quantile(0.95, sum by (mode, le) (rate(x_bucket{mode="a"}[5m]))) / y'
    assert metric_names(expr) == {"x_bucket", "y"}


def test_every_panel_queries_metrics_the_services_expose() -> None:
    names = exposed()
    exprs = _dashboard_exprs()
    assert len(exprs) >= 20
    unknown = {(title, n) for title, e in exprs for n in metric_names(e) if n not in names}
    assert unknown == set()


def test_every_rule_queries_metrics_the_services_expose() -> None:
    names = exposed()
    for file in ("recording.yml", "alerts.yml"):
        for group in yaml.safe_load((PROM / file).read_text())["groups"]:
            for rule in group["rules"]:
                assert metric_names(rule["expr"]) <= names, rule


def test_every_metric_the_services_declare_is_on_the_dashboard() -> None:
    """No metric is left without a panel, directly or through a recording rule."""
    exposed()  # imports the declaring modules
    recorded = yaml.safe_load((PROM / "recording.yml").read_text())
    rules = {r["record"]: r["expr"] for group in recorded["groups"] for r in group["rules"]}
    shown = set()
    for _, expr in _dashboard_exprs():
        for name in metric_names(expr):
            shown |= metric_names(rules[name]) if name in rules else {name}
    ours = re.compile(r"^(http|eventkit|stripe|booking|payments|finance|disputes)_")
    families = [f for f in REGISTRY.collect() if ours.match(f.name)]
    assert len(families) >= 20
    missing = {f.name for f in families if not _samples_of(f) & shown}
    assert missing == set()
