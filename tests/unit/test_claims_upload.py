"""A claim's upload over HTTP, up to where the database would be used: FastAPI's Form/UploadFile
reading, the limits and their codes, and the OpenAPI document of both bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.features.claims.domain.rules import MAX_EVIDENCE_FILES
from booking.features.claims.endpoints import MAX_UPLOAD_BYTES
from eventkit.auth import DEV_JWT_SECRET, issue_token

PATH = "/v1/bookings/7b0d4a52-2f55-4f3e-9df1-0c1a3c5f2b11/claims"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
FIELDS = {"amount": "500", "description": "a broken lamp"}


class _Unreachable:
    """The database: none of these requests may get that far."""

    def acquire(self) -> Any:
        raise AssertionError("the request reached the database")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    from booking.bootstrap import build_app, build_runtime
    from booking.config import BookingSettings

    built = build_app(build_runtime(BookingSettings()))
    built.state.runtime = SimpleNamespace(db=_Unreachable())
    return built


@pytest.fixture
async def gateway(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


def _bearer(role: str = "host") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(DEV_JWT_SECRET, f'{role}-1', role)}"}


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


async def test_more_evidence_files_than_allowed_are_refused(gateway: httpx.AsyncClient) -> None:
    files = [("evidence", (f"{n}.png", PNG, "image/png")) for n in range(MAX_EVIDENCE_FILES + 1)]
    response = await gateway.post(PATH, data=FIELDS, files=files, headers=_bearer())
    _refused(response, 422, "evidence_invalid")
    assert f"at most {MAX_EVIDENCE_FILES}" in response.json()["error"]["message"]


async def test_an_upload_over_the_limit_is_refused_before_it_is_parsed(
    gateway: httpx.AsyncClient,
) -> None:
    headers = {
        **_bearer(),
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(MAX_UPLOAD_BYTES + 1),
    }
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:  # pulled only if the gateway reads the body
        read.append(b"--x--\r\n")
        yield read[-1]

    response = await gateway.post(PATH, content=body(), headers=headers)
    _refused(response, 413, "payload_too_large")
    assert str(MAX_UPLOAD_BYTES) in response.json()["error"]["message"]
    assert read == []  # refused from its Content-Length, before a byte of it was read


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"not multipart at all", "multipart/form-data"),  # no boundary
        (b"garbage", "multipart/form-data; boundary=zz"),
    ],
)
async def test_a_body_that_is_not_multipart_is_a_validation_failure(
    gateway: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    headers = {**_bearer(), "Content-Type": content_type}
    response = await gateway.post(PATH, content=content, headers=headers)
    _refused(response, 422, "validation_failed")


@pytest.mark.parametrize(
    "fields",
    [
        {**FIELDS, "colour": "red"},  # unknown fields are refused, as in JSON
        {"amount": "500"},
        {"description": "no amount"},
        {"amount": "0", "description": "nothing"},
    ],
)
async def test_malformed_or_unknown_form_fields_are_refused(
    gateway: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    files = {"evidence": ("photo.png", PNG, "image/png")}
    response = await gateway.post(PATH, data=fields, files=files, headers=_bearer())
    _refused(response, 422, "validation_failed")


@pytest.mark.parametrize(
    "body", [b"{", b'{"amount": 5}', b'{"amount": 5.5, "description": "x"}', b"[]"]
)
async def test_the_json_variant_is_validated_as_before(
    gateway: httpx.AsyncClient, body: bytes
) -> None:
    headers = {**_bearer(), "Content-Type": "application/json"}
    response = await gateway.post(PATH, content=body, headers=headers)
    _refused(response, 422, "validation_failed")


async def test_only_hosts_file_claims(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        PATH, json={"amount": 5, "description": "x"}, headers=_bearer("guest")
    )
    _refused(response, 403, "forbidden")
    response = await gateway.post(PATH, json={"amount": 5, "description": "x"})
    _refused(response, 401, "unauthenticated")


async def test_the_openapi_document_describes_both_bodies(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    body = document["paths"]["/v1/bookings/{booking_id}/claims"]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"multipart/form-data", "application/json"}
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["amount", "description"]
    name = form["$ref"].rsplit("/", 1)[-1]
    properties = document["components"]["schemas"][name]["properties"]
    assert set(properties) == {"amount", "description", "evidence"}
    evidence = properties["evidence"]["anyOf"][0]
    assert evidence["type"] == "array"
    assert evidence["items"]["type"] == "string"
    assert "10 files" in properties["evidence"]["description"]
    json_body = body["content"]["application/json"]["schema"]
    assert set(json_body["required"]) == {"amount", "description"}
    assert json_body["additionalProperties"] is False
