"""Payments' and finance's endpoints declare what they answer (eventkit.endpoint): every
operation documents its success body's schema, an answer with a field its model does not
declare fails loudly instead of reaching clients undocumented, and times keep the
`isoformat()` form these services always served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from eventkit import http_errors
from eventkit.endpoint import Endpoint, Endpoints, Instant, Shape


def _payments() -> FastAPI:
    from payments.bootstrap import build_app, build_runtime
    from payments.config import PaymentsSettings

    return build_app(build_runtime(PaymentsSettings()))


def _finance() -> FastAPI:
    from finance.bootstrap import build_app, build_runtime
    from finance.config import FinanceSettings

    return build_app(build_runtime(FinanceSettings()))


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        yield client


@pytest.mark.parametrize("build", [_payments, _finance], ids=["payments", "finance"])
async def test_every_operation_documents_the_body_it_answers(build: Any) -> None:
    async for client in _client(build()):
        document = (await client.get("/openapi.json")).json()
    operations = [
        (method, path, op)
        for path, ops in document["paths"].items()
        if path.startswith(("/v1/", "/webhooks/"))
        for method, op in ops.items()
    ]
    assert operations
    for method, path, operation in operations:
        ok = next(r for s, r in operation["responses"].items() if s.startswith("2"))
        schema = ok["content"]["application/json"]["schema"]
        assert schema and schema != {"type": "object"}, (method, path, schema)


class Stamp(Shape):
    at: Instant


def _toy(answer: dict[str, Any]) -> FastAPI:
    app = FastAPI()
    http_errors.install(app)
    public = Endpoints(None).read

    @app.get("/stamp")
    async def stamp(call: Endpoint = public) -> Stamp:
        assert call.principal is None  # a public route: nobody is admitted by a token
        return Stamp.model_validate(answer)

    return app


async def test_a_field_the_model_does_not_declare_fails_instead_of_being_served() -> None:
    at = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    async for client in _client(_toy({"at": at, "secret": "x"})):
        response = await client.get("/stamp")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret" not in response.text


async def test_times_are_served_as_isoformat_writes_them() -> None:
    at = datetime(2026, 12, 5, 14, 0, 1, 5, tzinfo=UTC)
    async for client in _client(_toy({"at": at})):
        response = await client.get("/stamp")
    assert response.json() == {"at": at.isoformat()}
    assert response.json()["at"].endswith("+00:00")
