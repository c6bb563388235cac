"""`/metrics` and the HTTP middleware of eventkit.metrics: route templates, never raw ids."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from eventkit import http_errors, metrics


def _app(service: str) -> FastAPI:
    app = FastAPI()
    http_errors.install(app)
    metrics.install(app, service)

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise HTTPException(404, "no such thing")
        return {"id": thing_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    return app


def _count(service: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "http_requests_total",
        {"service": service, "method": "GET", "route": route, "status": status},
    )
    return value or 0.0


def test_requests_are_counted_by_route_template_and_status() -> None:
    client = TestClient(_app("unit_http"), raise_server_exceptions=False)
    for thing_id in ("a1", "b2", "c3"):
        assert client.get(f"/v1/things/{thing_id}").status_code == 200
    assert client.get("/v1/things/missing").status_code == 404
    assert client.get("/boom").status_code == 500
    assert client.get("/no/such/route/xyz").status_code == 404

    assert _count("unit_http", "/v1/things/{thing_id}", "200") == 3
    assert _count("unit_http", "/v1/things/{thing_id}", "404") == 1
    assert _count("unit_http", "/boom", "500") == 1
    assert _count("unit_http", "unmatched", "404") == 1
    latency = REGISTRY.get_sample_value(
        "http_request_duration_seconds_count",
        {"service": "unit_http", "method": "GET", "route": "/v1/things/{thing_id}"},
    )
    assert latency == 4


def test_metrics_endpoint_serves_the_text_format_without_ids() -> None:
    client = TestClient(_app("unit_http_text"))
    client.get("/v1/things/bk_0123456789")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert 'route="/v1/things/{thing_id}"' in answer.text
    assert "bk_0123456789" not in answer.text
