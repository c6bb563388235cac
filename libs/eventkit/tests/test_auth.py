"""eventkit.auth: who may call a route, answered in the project's error body."""

from __future__ import annotations

import time
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from eventkit import http_errors
from eventkit.auth import (
    DEV_JWT_SECRET,
    AuthError,
    Principal,
    Role,
    decode_token,
    issue_token,
    require,
    service_token,
)

SECRET = DEV_JWT_SECRET


def _app() -> FastAPI:
    app = FastAPI()
    app.state.jwt_secret = SECRET
    http_errors.install(app)

    @app.get("/staff")
    async def staff(who: Annotated[Principal, Depends(require(Role.FINANCE, Role.ADMIN))]) -> dict:
        return {"actor": who.actor, "role": who.role}

    return app


def _get(token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = TestClient(_app()).get("/staff", headers=headers)
    return answer.status_code, answer.json()


def test_an_admitted_role_is_the_caller() -> None:
    status, body = _get(issue_token(SECRET, "fin@example.com", Role.FINANCE))
    assert (status, body) == (200, {"actor": "fin@example.com", "role": "finance"})


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (None, 401, "unauthenticated"),
        ("not-a-jwt", 401, "unauthenticated"),
        (
            issue_token("another-secret-of-at-least-32-chars!", "x", Role.ADMIN),
            401,
            "unauthenticated",
        ),
        (issue_token(SECRET, "x", Role.ADMIN, ttl_seconds=-10), 401, "unauthenticated"),
        (issue_token(SECRET, "trust@example.com", Role.TRUST), 403, "forbidden"),
        (issue_token(SECRET, "guest-1", Role.GUEST), 403, "forbidden"),
    ],
)
def test_anyone_else_is_refused_with_a_code(token: str | None, status: int, code: str) -> None:
    got, body = _get(token)
    assert got == status and body["error"]["code"] == code, body


def test_a_service_token_names_the_service_as_the_actor() -> None:
    who = decode_token(SECRET, service_token(SECRET, "ops"))
    assert who == Principal("ops", Role.SERVICE) and who.actor == "service:ops"


def test_an_unknown_role_is_not_a_principal() -> None:
    import jwt

    token = jwt.encode({"sub": "x", "role": "root", "exp": 2**33}, SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        decode_token(SECRET, token)


def _signed(sub: str, role: str) -> str:
    """A token signed with the secret, whatever its subject (issue_token would refuse it)."""
    import jwt

    claims = {"sub": sub, "role": role, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize("sub", ["", "   "])
def test_a_token_naming_nobody_is_refused(sub: str) -> None:
    # Every action is recorded against the subject; a blank one would act anonymously.
    with pytest.raises(AuthError):
        decode_token(SECRET, _signed(sub, "admin"))
    with pytest.raises(ValueError, match="blank"):  # and none is minted
        issue_token(SECRET, sub, Role.ADMIN)


@pytest.mark.parametrize("sub", ["a\x00b", "line\nbreak", "\ud800", "x" * 256])
def test_a_subject_that_cannot_be_recorded_is_refused(sub: str) -> None:
    # The subject is stored and searched as it is: one line, no NUL, at most 255 characters.
    with pytest.raises(AuthError):
        decode_token(SECRET, _signed(sub, "guest"))
    with pytest.raises(ValueError, match="not one line"):  # and none is minted
        issue_token(SECRET, sub, Role.GUEST)
    assert decode_token(SECRET, issue_token(SECRET, "anna.müller@example.com", "guest")).sub
