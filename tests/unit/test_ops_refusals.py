"""Bad input to the staff back office is refused with a code and a sentence, never an
internal error: variables that do not fit the schema, ids too long for a URL, a service's
field-by-field reasons, and a browser's form post refused as a page."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Form
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient
from graphql.error import GraphQLError

from eventkit import http_errors
from eventkit.auth import Principal, Role
from ops.adapters.finance_api import FinanceApi
from ops.adapters.staff_apis import ApiError, error_of
from ops.domain.errors import OpsError, forbidden
from ops.entrypoints.console import Refusal, refusal_status
from ops.entrypoints.graphql_errors import coded
from ops.entrypoints.graphql_schema import build_schema


async def _errors(query: str, **variables: Any) -> list[tuple[str, str]]:
    context = {"principal": Principal("fiona", Role.FINANCE), "token": "", "pool": None}
    result = await build_schema().execute(query, variable_values=variables, context_value=context)
    return [((e.extensions or {}).get("code", ""), e.message) for e in result.errors or ()]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('query($d: Date!) { closeReport(businessDate: $d, currency: "usd") { status } }', {"d": "2026-13-45"}),
        ('query($d: Date!) { closeReport(businessDate: $d, currency: "usd") { status } }', {"d": "garbage"}),
        ("query($n: Int!) { payoutQueue(first: $n) { hasMore } }", {"n": "abc"}),
        ("query($n: Int!) { payoutQueue(first: $n) { hasMore } }", {"n": 10**20}),
    ],
)  # fmt: skip
async def test_a_variable_that_does_not_fit_the_schema_is_an_invalid_request(
    query: str, variables: dict[str, Any]
) -> None:
    [(code, message)] = await _errors(query, **variables)
    assert code == "invalid_request", message
    assert "Variable" in message


async def test_an_id_too_long_for_a_url_is_refused_before_any_request() -> None:
    sent: list[httpx.Request] = []
    api = FinanceApi(
        "http://finance",
        lambda: "token",
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, json={})),
    )
    with pytest.raises(ApiError) as refused:
        await api.payout_entry("x" * 70_000)
    assert (refused.value.status, refused.value.code) == (422, "validation_failed")
    assert sent == []


def test_a_services_field_reasons_reach_the_sentence() -> None:
    body = {
        "error": {
            "code": "validation_failed",
            "message": "request is not valid",
            "details": [{"loc": ["body", "percent_bps"], "msg": "Input should be >= 0"}],
        }
    }
    error = error_of(httpx.Response(422, json=body))
    assert error.code == "validation_failed"
    assert error.message == "request is not valid: percent_bps: Input should be >= 0"


def test_a_refused_form_post_from_a_browser_is_a_page_and_an_api_call_json() -> None:
    app = FastAPI()
    http_errors.install(app)

    @app.post("/console/policies")
    async def publish(grace_hours: Annotated[int, Form()]) -> RedirectResponse:
        return RedirectResponse("/console/policies", status_code=303)

    client = TestClient(app)
    form = {"grace_hours": "24h"}
    page = client.post("/console/policies", data=form, headers={"Accept": "text/html"})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "grace_hours" in page.text and "valid integer" in page.text
    api = client.post("/console/policies", data=form, headers={"Accept": "application/json"})
    assert api.json()["error"]["code"] == "validation_failed"
    assert api.json()["error"]["message"].startswith("request is not valid: grace_hours:")


@pytest.mark.parametrize(
    ("how", "status", "code"),
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
        ({"content": b"query { me { sub } }", "headers": {"Content-Type": "text/plain"}}, 400, "invalid_request"),
    ],
)  # fmt: skip
def test_a_graphql_request_strawberry_cannot_read_gets_the_error_body(
    how: dict[str, Any], status: int, code: str
) -> None:
    from eventkit.auth import DEV_JWT_SECRET, issue_token
    from ops.entrypoints import graphql_app

    app = FastAPI()
    http_errors.install(app)
    app.state.jwt_secret = DEV_JWT_SECRET
    app.state.runtime = SimpleNamespace(db=None, settings=None, state={"apis": None})
    graphql_app.install(app)
    token = issue_token(DEV_JWT_SECRET, "ada", Role.ADMIN)
    headers = {"Authorization": f"Bearer {token}", **how["headers"]}
    client = TestClient(app)
    answer = client.post("/graphql", content=how["content"], headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    # POST only, as the OpenAPI document says: a GET (a query in the URL) is 405, not a 404.
    for method in ("GET", "PUT"):
        refused = client.request(method, "/graphql?query={me{sub}}", headers=headers)
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"
        assert refused.json()["error"]["code"] == "method_not_allowed"


def test_a_services_refusal_keeps_its_status_and_the_console_answers_with_it() -> None:
    def extensions(original: Exception) -> dict[str, Any]:
        return coded(GraphQLError("x", path=["f"], original_error=original)).extensions or {}

    passed_on = extensions(ApiError(422, "claim_exceeds_deposit", "more than the deposit"))
    assert passed_on == {"code": "claim_exceeds_deposit", "status": 422}
    assert extensions(OpsError("in_progress", "running")) == {"code": "in_progress"}
    # The page showing a refused form: the service's status, else the code's, else 409.
    assert refusal_status([Refusal("more than the deposit", "claim_exceeds_deposit", 422)]) == 422
    assert refusal_status([Refusal(forbidden("trust", "admin").message, "forbidden")]) == 403
    assert refusal_status([Refusal("no exception 9", "exception_not_found")]) == 404
    assert refusal_status([Refusal("running", "in_progress")]) == 409
    assert refusal_status(["The amount must be a number."]) == 422  # the form's own check


def test_ops_own_database_away_is_unavailable_not_a_bug(caplog: pytest.LogCaptureFixture) -> None:
    """A resolver whose pool cannot reach Postgres (restarting: its socket is gone) answers an
    outage code to retry, and logs no ERROR traceback; a bug is still `internal_error`."""
    from eventkit.db import DatabaseUnreachable

    def extensions(original: Exception) -> dict[str, Any]:
        return coded(GraphQLError("x", path=["f"], original_error=original)).extensions or {}

    away = DatabaseUnreachable("Postgres does not answer on its socket")
    assert extensions(away) == {"code": "unavailable", "status": 503}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert extensions(RuntimeError("a bug")) == {"code": "internal_error"}


@pytest.mark.parametrize("field", ["bookings", "checkoutGroups"])
@pytest.mark.parametrize("limit", [0, 101, 150])
async def test_a_booking_page_larger_than_booking_gives_is_refused_before_asking(
    field: str, limit: int
) -> None:
    asked: list[Any] = []
    apis = SimpleNamespace(booking_as=lambda token: asked.append(token))
    context = {"principal": Principal("tess", Role.TRUST), "token": "", "apis": apis}
    result = await build_schema().execute(
        f"{{ {field}(limit: {limit}) {{ nextCursor }} }}", context_value=context
    )
    [error] = result.errors or []
    assert (error.extensions or {}).get("code") == "invalid_request"
    assert error.message == "limit must be 1 to 100."
    assert asked == []
