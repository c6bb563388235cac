"""Bearer tokens for every service's HTTP API: HS256 JWTs with claims `sub`, `role`, `exp`.

One scheme for people and for services. People get `guest`, `host` (the gateway), `admin`,
`finance` and `trust` (staff); a service calling another service's API carries a token of its
own with role `service` and its name as `sub` (`ops`, ...), minted from the shared secret
(`service_token`). Each service reads the secret as `<SERVICE>_JWT_SECRET`; the development
default lives here, once, and is refused nowhere (production sets its own; docs/security.md).

A FastAPI route takes the caller with `Depends(require(...roles))`: no token answers 401
`unauthenticated`, a bad or expired one 401 too, a role the route does not admit 403
`forbidden`, all in the project's error body (eventkit.http_errors).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"
ALGORITHM = "HS256"
SERVICE_TOKEN_TTL_SECONDS = 3600


class Role(StrEnum):
    GUEST = "guest"
    HOST = "host"
    ADMIN = "admin"
    FINANCE = "finance"
    TRUST = "trust"
    SERVICE = "service"


STAFF = frozenset({Role.ADMIN, Role.FINANCE, Role.TRUST})


@dataclass(frozen=True)
class Principal:
    """Who calls: `sub` (a person's or a service's name) and its role."""

    sub: str
    role: Role

    @property
    def actor(self) -> str:
        """What audit records name: the person, or `service:<name>`."""
        return f"service:{self.sub}" if self.role is Role.SERVICE else self.sub


class AuthError(Exception):
    """A token that cannot be trusted (missing, malformed, expired, wrong signature)."""


def issue_token(secret: str, sub: str, role: Role | str, ttl_seconds: int = 24 * 3600) -> str:
    """A token for `sub`; ValueError for a subject every service would refuse (blank, or not
    one line of at most SUB_MAX_LENGTH characters). A lifetime of 0 or less makes a token
    that has expired already (tests use one)."""
    subject(sub)
    now = int(time.time())
    claims = {"sub": sub, "role": Role(role).value, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def service_token(secret: str, service: str, ttl_seconds: int = SERVICE_TOKEN_TTL_SECONDS) -> str:
    """The credential a service sends when it calls another service's API."""
    return issue_token(secret, service, Role.SERVICE, ttl_seconds)


SUB_MAX_LENGTH = 255


def subject(sub: object) -> str:
    """A token's subject as every action records it (stripped); ValueError unless it names
    someone in one line of at most SUB_MAX_LENGTH characters."""
    text = str(sub).strip()
    if not text:
        raise ValueError("its subject (sub) is blank")
    if len(text) > SUB_MAX_LENGTH or not text.isprintable():
        raise ValueError(f"its subject (sub) is not one line of 1 to {SUB_MAX_LENGTH} characters")
    return text


def decode_token(secret: str, token: str) -> Principal:
    try:
        principal, expires = _verified(secret, token)
    except (jwt.PyJWTError, ValueError) as exc:
        raise AuthError(f"invalid bearer token: {exc}") from None
    if expires <= time.time():  # PyJWT's own test: valid while now < exp (no leeway)
        raise AuthError("invalid bearer token: Signature has expired")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Principal, float]:
    """A token's principal and expiry, verified once: a client sends the same token with every
    request (a checkout's POST and its polls), and PyJWT's decode (key preparation, HMAC, JSON)
    cost a gateway GET about as much CPU as its database read. Only a successful check is
    cached (an exception is not), and `exp`, the one claim that makes a valid token invalid
    with time, is checked again on every use by `decode_token`."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    # Every action is recorded against the token's subject, and searched by it as it is.
    sub = subject(claims["sub"])
    return Principal(sub=sub, role=Role(str(claims.get("role")))), float(claims["exp"])


# RFC 6750: a 401 names the scheme it wants.
CHALLENGE = {"WWW-Authenticate": "Bearer"}
_bearer = HTTPBearer(auto_error=False, description="HS256 JWT with claims `sub` and `role`.")


def _secret(request: Request) -> str:
    """The app's secret: `app.state.jwt_secret`, set once by the service's bootstrap."""
    secret: str = request.app.state.jwt_secret
    return secret


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers with one of `roles` (none given: any valid token)."""
    admitted = frozenset(roles)

    async def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise HTTPException(
                401, {"code": "unauthenticated", "message": "missing bearer token"}, CHALLENGE
            )
        try:
            found = decode_token(_secret(request), credentials.credentials)
        except AuthError as exc:
            raise HTTPException(
                401, {"code": "unauthenticated", "message": str(exc)}, CHALLENGE
            ) from None
        if admitted and found.role not in admitted:
            raise HTTPException(
                403,
                {
                    "code": "forbidden",
                    "message": f"role {found.role} may not do this; needs one of "
                    f"{sorted(r.value for r in admitted)}",
                },
            )
        return found

    return principal
