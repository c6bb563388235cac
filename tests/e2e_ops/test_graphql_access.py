"""Who may ask what: 401 without a token, 403 for non-staff, `forbidden` per field, and every
error with a code (bad input is never an internal error)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e_ops.conftest import Ops

pytestmark = pytest.mark.e2e

DEAD_LETTERS = '{ deadLetters(service: "payments") { total } }'
REPLAY = (
    'mutation { replayDeadLetter(idempotencyToken: "t", service: "payments", partition: 0, '
    "offset: 0) { state } }"
)


def test_no_token_is_401_and_a_guest_token_403_in_the_error_body(ops: Ops) -> None:
    anonymous = httpx.post(f"{ops.url}/graphql", json={"query": "{ me { sub } }"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    guest = httpx.post(
        f"{ops.url}/graphql",
        json={"query": "{ me { sub } }"},
        headers={"Authorization": f"Bearer {ops.token('guest')}"},
    )
    assert guest.status_code == 403
    assert guest.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("role", "query", "allowed"),
    [
        ("trust", DEAD_LETTERS, False),
        ("finance", DEAD_LETTERS, True),
        ("finance", REPLAY, False),
        ("trust", REPLAY, False),
        ("trust", "{ audit { action } }", False),
        ("finance", "{ audit { action } }", False),
        ("trust", '{ timeline(id: "x") { correlationId } }', True),
    ],
)
def test_each_field_admits_only_its_roles(ops: Ops, role: str, query: str, allowed: bool) -> None:
    body = ops.graphql(query, role=role)
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert ("forbidden" not in codes) is allowed, body


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ nope }", "invalid_request"),
        ("{ timeline(id: 3) { correlationId } }", "invalid_request"),
        ('{ timeline(id: "") { correlationId } }', "invalid_request"),
        ("{ stuckSagas(first: 0) { hasMore } }", "invalid_request"),
        ('{ deadLetters(service: "nobody") { total } }', "invalid_request"),
        ('{ deadLetters(service: "payments", state: "odd") { total } }', "invalid_request"),
        ("{ me { sub ", "invalid_request"),
        # values the database cannot take: the caller's mistake, not a bug
        ('{ timeline(id: "a\\u0000b") { correlationId } }', "invalid_request"),
        ('{ timeline(id: "\\ud800") { correlationId } }', "invalid_request"),
        # an id is one path segment of the service it is asked of, never a way to another route
        ('{ claim(id: "../bookings/x") { claimId } }', "validation_failed"),
        ('{ checkoutGroup(id: "a/b?c=d") { groupId } }', "validation_failed"),
        ('{ payment(id: "..") { id } }', "validation_failed"),
        (
            'mutation { skipDeadLetter(idempotencyToken: "", service: "payments", partition: 0, '
            'offset: 0, note: "x") { state } }',
            "invalid_request",
        ),
        (
            'mutation { skipDeadLetter(idempotencyToken: "k", service: "payments", partition: 9, '
            'offset: 99999, note: "x") { state } }',
            "not_found",
        ),
    ],
)
def test_bad_input_answers_an_error_with_a_code(ops: Ops, query: str, code: str) -> None:
    body = ops.graphql(query)
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body


def test_healthz_says_how_far_the_timeline_got(ops: Ops) -> None:
    health = httpx.get(f"{ops.url}/healthz").json()
    assert health["service"] == "ops"
    assert health["timeline_recorded"] >= 0 and health["timeline_refused"] == 0


def test_me_names_the_signed_in_staff_member(ops: Ops) -> None:
    assert ops.graphql("{ me { sub role } }", role="trust")["data"]["me"] == {
        "sub": "ana",
        "role": "trust",
    }


def test_a_body_nested_past_the_parser_is_refused_with_a_code(ops: Ops) -> None:
    answer = httpx.post(
        f"{ops.url}/graphql",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={
            "Authorization": f"Bearer {ops.token('admin')}",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "malformed_json"
    documented = httpx.get(f"{ops.url}/openapi.json").json()["paths"]["/graphql"]["post"]
    assert "400" in documented["responses"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'"x"', "invalid_request"),
        (b"5", "invalid_request"),
        (b"null", "invalid_request"),
        (b"true", "invalid_request"),
        (b'\xff\xfe{"query":1}', "malformed_json"),
        (b'{"query":"{me{sub}}","x":"\xff"}', "malformed_json"),
    ],
)
def test_a_json_body_that_is_no_operation_is_400_with_a_code(
    ops: Ops, body: bytes, code: str
) -> None:
    answer = httpx.post(
        f"{ops.url}/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {ops.token('admin')}",
            "Content-Type": "application/json",
        },
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code), answer.text
    still = ops.graphql("{ me { sub } }")  # the server is unharmed
    assert still["data"]["me"]["sub"]


@pytest.mark.parametrize("value", ["abc", 5, {"a": 1}, ["x"]])
def test_a_file_variable_that_is_no_file_is_invalid_request(ops: Ops, value: object) -> None:
    upload = (
        'mutation ($f: Upload!) { uploadDisputeEvidence(idempotencyToken: "t", '
        'disputeId: "dp_1", field: "receipt", file: $f) { disputeId } }'
    )
    answer = httpx.post(
        f"{ops.url}/graphql",
        json={"query": upload, "variables": {"f": value}},
        headers={"Authorization": f"Bearer {ops.token('trust')}"},
    )
    assert answer.status_code == 200
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "invalid_request"
    assert "multipart" in error["message"]


def test_several_operations_need_an_operation_name(ops: Ops) -> None:
    document = "query A { me { sub } } query B { me { role } }"
    headers = {"Authorization": f"Bearer {ops.token('admin')}"}
    unnamed = httpx.post(f"{ops.url}/graphql", json={"query": document}, headers=headers)
    body = unnamed.json()
    assert "data" not in body or body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "invalid_request"
    named = httpx.post(
        f"{ops.url}/graphql", json={"query": document, "operationName": "B"}, headers=headers
    )
    assert named.json()["data"] == {"me": {"role": "admin"}}
