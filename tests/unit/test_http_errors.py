"""One error convention in every service (eventkit.http_errors), in process, no database.

Requests that are refused before any query (unknown routes, wrong methods, malformed ids and
bodies) get the `{"error": {"code", "message"}}` body; an unhandled exception is a 500
`internal_error` that leaks nothing; every operation documents the statuses it can return.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Form, HTTPException, UploadFile
from fastapi.responses import HTMLResponse

from eventkit import http_errors
from eventkit.http_errors import ErrorOut
from eventkit.routing import EventRouter
from eventkit.runtime import ServiceRuntime, create_app
from eventkit.settings import ServiceSettings
from tests.support.staff_auth import finance_staff, trust_staff


def _payments() -> FastAPI:
    from payments.bootstrap import build_app, build_runtime
    from payments.config import PaymentsSettings

    return build_app(build_runtime(PaymentsSettings()))


def _finance() -> FastAPI:
    from finance.bootstrap import build_app, build_runtime
    from finance.config import FinanceSettings

    return build_app(build_runtime(FinanceSettings()))


def _disputes() -> FastAPI:
    from disputes.bootstrap import build_app, build_runtime
    from disputes.config import DisputesSettings

    return build_app(build_runtime(DisputesSettings()))


def _booking() -> FastAPI:
    from booking.bootstrap import build_app, build_runtime
    from booking.config import BookingSettings

    return build_app(build_runtime(BookingSettings()))


def _ops() -> FastAPI:
    from ops.bootstrap import build_app, build_runtime
    from ops.config import OpsSettings

    return build_app(build_runtime(OpsSettings()))


def _toy() -> FastAPI:
    """A service with routes that fail in every way a route can."""
    app = create_app(
        ServiceRuntime(
            "toy", ServiceSettings(database_url="postgresql://unused"), EventRouter("toy")
        )
    )

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/gone")
    async def gone() -> dict[str, str]:
        raise HTTPException(410, "it went away")

    @app.get("/coded")
    async def coded() -> dict[str, str]:
        raise HTTPException(409, {"code": "charge_conflict", "message": "taken"})

    @app.get("/page/{n}", response_class=HTMLResponse)
    async def page(n: int) -> HTMLResponse:
        raise HTTPException(404, "no <b>such</b> page")

    @app.get("/restarting")
    async def restarting() -> dict[str, str]:
        raise asyncpg.CannotConnectNowError("the database system is shutting down")

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    @app.post("/upload")
    async def upload(
        file: UploadFile, field: Annotated[str, Form()], tags: Annotated[list[str], Form()]
    ) -> dict[str, Any]:
        return {"field": field, "file": file.filename, "tags": tags}

    return app


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        yield client


SERVICES: dict[str, Callable[[], FastAPI]] = {
    "booking": _booking,
    "payments": _payments,
    "finance": _finance,
    "disputes": _disputes,
    "ops": _ops,
}
MALFORMED_IDS = {
    "finance": "/v1/ledger/bookings/bk%00x",
    "disputes": "/v1/charges/" + "p" * 500,
    "booking": "/v1/receipts/rcpt%0a",
}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    ErrorOut.model_validate(body)
    assert body["error"]["code"] == code, body


@pytest.fixture(params=sorted(SERVICES))
async def service(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    async for client in _client(SERVICES[request.param]()):
        yield request.param, client


async def test_unknown_routes_and_methods_get_the_error_body(
    service: tuple[str, httpx.AsyncClient],
) -> None:
    name, client = service
    assert_error(await client.get("/v1/no-such-thing"), 404, "not_found")
    assert_error(await client.put("/healthz"), 405, "method_not_allowed")
    # A browser (it asks for text/html) that mistyped an address gets a page, not JSON.
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = await client.get("/console/no-such-page", headers=browser)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "not_found" in page.text
    if name != "ops":
        return
    # An address only a form posts to (a `%2F` in a path can lead there): a page, not JSON.
    posted_only = await client.get("/console/sign-out", headers=browser)
    assert posted_only.status_code == 405, posted_only.text
    assert posted_only.headers["content-type"].startswith("text/html")
    assert "method_not_allowed" in posted_only.text
    assert_error(await client.get("/console/sign-out"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("name", "path", "methods"),
    [
        ("booking", "/v1/bookings", "GET, HEAD, POST"),
        ("booking", "/v1/invites", "GET, HEAD, POST"),
        ("finance", "/v1/closes", "GET, HEAD, POST"),
        ("finance", "/v1/payouts/reserve-policies", "GET, HEAD, POST"),
        ("payments", "/webhooks/stripe", "POST"),
    ],
)
async def test_a_405_names_every_method_the_path_takes(name: str, path: str, methods: str) -> None:
    async for client in _client(SERVICES[name]()):
        refused = await client.delete(path)
        assert_error(refused, 405, "method_not_allowed")
        assert refused.headers["allow"] == methods


@pytest.mark.parametrize(("name", "path"), sorted(MALFORMED_IDS.items()))
async def test_malformed_ids_are_refused_before_any_query(name: str, path: str) -> None:
    async for client in _client(SERVICES[name]()):
        # booking checks the token first: a malformed id never reaches a query either way;
        # finance and disputes admit staff tokens only, then check the id
        staff = {"finance": finance_staff(), "disputes": trust_staff()}
        response = await client.get(path, headers=staff.get(name, {"Authorization": "Bearer x"}))
        expected = ("unauthenticated", 401) if name == "booking" else ("validation_failed", 422)
        assert_error(response, expected[1], expected[0])
        if name != "booking":  # and nobody without a token learns even that
            assert_error(await client.get(path), 401, "unauthenticated")


async def test_a_webhook_that_is_not_json_is_refused_with_a_code() -> None:
    async for client in _client(_payments()):
        response = await client.post("/webhooks/stripe", content=b"\x00{", headers={})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"]


async def test_every_operation_documents_its_errors_with_the_error_body(
    service: tuple[str, httpx.AsyncClient],
) -> None:
    _, client = service
    document = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            # Any request may carry a body or an unknown query parameter; any may meet an outage.
            assert {"413", "422", "500", "503"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert {"400", "422"} <= set(responses), (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)


@pytest.mark.parametrize("name", ["finance", "disputes"])
async def test_every_staff_api_route_but_health_needs_a_token(name: str) -> None:
    async for client in _client(SERVICES[name]()):
        document = (await client.get("/openapi.json")).json()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if path != "/healthz":
                    assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
                    assert {"401", "403"} <= set(operation["responses"]), (method, path)
                    if method != "get":  # a change: a service must say whom it acts for
                        assert (
                            "acting_for_required" in operation["responses"]["400"]["description"]
                        ), (method, path)
                    concrete = path.replace("{", "x").replace("}", "")
                    if concrete.endswith("/evidence/files"):
                        continue  # its size guard reads the running service first
                    refused = await client.request(method, concrete)
                    assert_error(refused, 401, "unauthenticated")


async def test_an_unhandled_exception_is_a_500_that_leaks_nothing() -> None:
    async for client in _client(_toy()):
        response = await client.get("/boom")
        assert_error(response, 500, "internal_error")
        assert "hunter2" not in response.text


async def test_a_database_restarting_is_a_503_to_retry_not_a_500() -> None:
    async for client in _client(_toy()):
        response = await client.get("/restarting")
        assert_error(response, 503, "unavailable")
        assert response.headers["retry-after"] == "2"
        assert "shutting down" not in response.text  # nothing of the internals


async def test_an_outage_is_logged_and_counted_as_the_503_it_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The client's 503 is the access log's and the metrics' too, and nothing escapes the app
    (Starlette answering from its outermost layer re-raised the exception: a 500 in the
    access log and `http_requests_total`, and a traceback)."""
    transport = httpx.ASGITransport(app=_toy(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        with caplog.at_level("INFO"):
            response = await client.get("/restarting")
        assert_error(response, 503, "unavailable")
        access = [r.getMessage() for r in caplog.records if r.name == "eventkit.http"]
        assert any(line.startswith("GET /restarting 503") for line in access), access
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
        metrics = (await client.get("/metrics")).text
        counted = [line for line in metrics.splitlines() if 'route="/restarting"' in line]
        assert any('status="503"' in line for line in counted), counted
        assert not any('status="500"' in line for line in counted), counted


async def test_a_body_over_the_limit_is_refused_with_the_error_body() -> None:
    big = b'{"a": "' + b"x" * http_errors.MAX_BODY_BYTES + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    async for client in _client(_toy()):
        assert (await client.post("/echo", json={"a": "b"})).json() == {"a": "b"}
        for body in (big, chunks()):
            refused = await client.post(
                "/echo", content=body, headers={"Content-Type": "application/json"}
            )
            assert_error(refused, 413, "payload_too_large")
            assert str(http_errors.MAX_BODY_BYTES) in refused.json()["error"]["message"]
        # A browser's form gets the refusal as a page.
        page = await client.post(
            "/echo",
            content=big,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        )
        assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
        assert "payload_too_large" in page.text


# A route of each service that takes a JSON body (ops': its GraphQL endpoint, whose body a
# middleware reads before any route does).
POSTS = {
    "booking": "/v1/quotes",
    "payments": "/webhooks/stripe",
    "finance": "/v1/closes",
    "disputes": "/v1/disputes/dp_x/host-fault",
    "ops": "/graphql",
}


@pytest.mark.parametrize("name", sorted(POSTS))
async def test_every_service_refuses_a_body_over_the_limit(name: str) -> None:
    big = b'{"query": "' + b"x" * http_errors.MAX_BODY_BYTES + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    async for client in _client(SERVICES[name]()):
        for body in (big, chunks()):
            refused = await client.post(
                POSTS[name],
                content=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            )
            assert_error(refused, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("name", "path", "headers"),
    [
        ("booking", "/v1/bookings?stauts=failed&limit=8", {"Authorization": "Bearer x"}),
        ("finance", "/v1/payouts/queue?host=acct_nobody&limit=3", finance_staff()),
        ("disputes", "/v1/disputes?state=open", trust_staff()),
        ("payments", "/healthz?verbose=1", {}),
    ],
)
async def test_a_query_parameter_the_operation_does_not_have_is_refused(
    name: str, path: str, headers: dict[str, str]
) -> None:
    """A misspelt filter would otherwise answer the whole list."""
    async for client in _client(SERVICES[name]()):
        refused = await client.get(path, headers=headers)
        assert_error(refused, 422, "validation_failed")
        [unknown] = refused.json()["error"]["details"]
        assert unknown["loc"][0] == "query" and unknown["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("name", "path", "headers", "repeated"),
    [
        (
            "booking",
            "/v1/bookings?status=confirmed&status=cancelled&limit=2&limit=5",
            {"Authorization": "Bearer x"},
            "limit",
        ),
        (
            "finance",
            "/v1/payouts/queue?host_account_id=a&host_account_id=b",
            finance_staff(),
            "host_account_id",
        ),
    ],
)
async def test_a_query_parameter_that_takes_one_value_given_twice_is_refused(
    name: str, path: str, headers: dict[str, str], repeated: str
) -> None:
    """It would otherwise be read as its last value, silently; a list (`status`) repeats."""
    async for client in _client(SERVICES[name]()):
        refused = await client.get(path, headers=headers)
        assert_error(refused, 422, "validation_failed")
        [detail] = refused.json()["error"]["details"]
        assert detail["loc"] == ["query", repeated] and detail["type"] == "repeated", detail


async def test_a_form_field_that_takes_one_value_given_twice_is_refused() -> None:
    """An upload naming two fields and two files (disputes' evidence) would otherwise file the
    last file under the last field, the first dropped without a word; a list repeats."""
    pdf = ("a.pdf", b"%PDF-1.4", "application/pdf")
    async for client in _client(_toy()):
        refused = await client.post(
            "/upload",
            data={"field": ["receipt", "customer_signature"], "tags": ["a", "b"]},
            files=[("file", pdf), ("file", pdf)],
        )
        assert_error(refused, 422, "validation_failed")
        details = refused.json()["error"]["details"]
        assert [(d["loc"], d["type"]) for d in details] == [
            (["body", "field"], "repeated"),
            (["body", "file"], "repeated"),
        ], details
        once = await client.post(
            "/upload", data={"field": "receipt", "tags": ["a", "b"]}, files=[("file", pdf)]
        )
        assert once.status_code == 200, once.text
        assert once.json() == {"field": "receipt", "file": "a.pdf", "tags": ["a", "b"]}


async def test_console_pages_read_their_forms_fields_as_they_come() -> None:
    async for client in _client(_ops()):
        page = await client.get("/console/bookings?guest=g-1&from=2026-12-01")
        assert page.status_code == 303  # to the sign-in: not refused for its fields


async def test_http_exceptions_carry_a_code() -> None:
    async for client in _client(_toy()):
        assert_error(await client.get("/gone"), 410, "bad_request")
        assert_error(await client.get("/coded"), 409, "charge_conflict")


async def test_html_routes_answer_an_escaped_html_page() -> None:
    async for client in _client(_toy()):
        response = await client.get("/page/3")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "no &lt;b&gt;such&lt;/b&gt; page" in response.text
        response = await client.get("/page/abc")
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert "validation_failed" in response.text


async def test_head_answers_wherever_get_does_without_a_body(
    service: tuple[str, httpx.AsyncClient],
) -> None:
    _, client = service
    got, head = await client.get("/healthz"), await client.head("/healthz")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == got.headers["content-type"]
    refused = await client.head("/v1/no-such-thing")
    assert (refused.status_code, refused.content) == (404, b"")
