"""Bearer JWT authentication with eventkit.auth's one scheme (HS256, claims `sub`, `role`).

The gateway's people are `guest`, `host`, `admin` and `trust`; `trust` is the trust & safety
staff beside `admin`: it reads any booking (with its dispute's details), group, invite or
claim, and works disputes on the disputes service, which accepts the same tokens; it changes
nothing here (every command names the roles it allows). `python -m booking token` also mints
`finance` (finance's API) and `service` tokens (docs/security.md); no gateway command admits
them. Refusals keep booking's codes: 401 `unauthenticated`, 403 `forbidden`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from booking.domain.errors import BookingError, ErrorCode
from eventkit import auth
from eventkit.auth import Role, issue_token

__all__ = ["STAFF", "CurrentPrincipal", "Principal", "Role", "issue_token", "require_role"]

STAFF = (Role.ADMIN, Role.TRUST)  # see a dispute's reason and deadline


@dataclass(frozen=True)
class Principal(auth.Principal):
    @property
    def key(self) -> str:
        """The caller's idempotency namespace."""
        return f"{self.role}:{self.sub}"


_bearer = HTTPBearer(auto_error=False, description="HS256 JWT with claims `sub` and `role`.")


def decode_token(secret: str, token: str) -> Principal:
    try:
        found = auth.decode_token(secret, token)
    except auth.AuthError as exc:
        raise BookingError(ErrorCode.UNAUTHENTICATED, str(exc)) from None
    return Principal(sub=found.sub, role=found.role)


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
            f"role {principal.role} may not do this; needs one of {[str(r) for r in roles]}",
        )
