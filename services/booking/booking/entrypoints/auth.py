"""Bearer JWT authentication (HS256): claims `sub` and `role` (guest, host, admin, trust).

`trust` is the trust & safety staff beside `admin`: it reads any booking (with its dispute's
details), group, invite or claim, and works disputes on the disputes service, which accepts the
same tokens; it changes nothing here (every command names the roles it allows)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from booking.domain.errors import BookingError, ErrorCode


class Role(StrEnum):
    GUEST = "guest"
    HOST = "host"
    ADMIN = "admin"
    TRUST = "trust"


STAFF = (Role.ADMIN, Role.TRUST)  # see a dispute's reason and deadline


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role

    @property
    def key(self) -> str:
        return f"{self.role}:{self.sub}"


_bearer = HTTPBearer(auto_error=False, description="HS256 JWT with claims `sub` and `role`.")


def issue_token(secret: str, sub: str, role: Role, ttl_seconds: int = 24 * 3600) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "role": role.value, "iat": now, "exp": now + ttl_seconds},
        secret,
        algorithm="HS256",
    )


def decode_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
        return Principal(sub=str(claims["sub"]), role=Role(str(claims.get("role"))))
    except (jwt.PyJWTError, ValueError) as exc:
        raise BookingError(ErrorCode.UNAUTHENTICATED, f"invalid bearer token: {exc}") from None


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise BookingError(ErrorCode.UNAUTHENTICATED, "missing bearer token")
    return decode_token(request.app.state.jwt_secret, credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise BookingError(
            ErrorCode.FORBIDDEN,
            f"role {principal.role} may not do this; needs one of {list(roles)}",
        )
