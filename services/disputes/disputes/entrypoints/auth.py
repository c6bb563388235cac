"""Bearer JWT (HS256) like the gateway's: claims `sub` and `role`. Trust staff (`trust`) and
admins may use the disputes API; the actor every change records is the token's `sub`."""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from disputes.domain.errors import DisputeError, ErrorCode

ROLES = frozenset({"trust", "admin"})
_bearer = HTTPBearer(auto_error=False, description="HS256 JWT with claims `sub` and `role`.")


async def staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's `sub`, when the token is valid and its role may act on disputes."""
    if credentials is None:
        raise DisputeError(ErrorCode.UNAUTHENTICATED, "missing bearer token")
    secret = request.app.state.runtime.state["settings"].jwt_secret
    try:
        claims = jwt.decode(
            credentials.credentials,
            secret,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise DisputeError(ErrorCode.UNAUTHENTICATED, f"invalid bearer token: {exc}") from None
    if claims.get("role") not in ROLES:
        raise DisputeError(
            ErrorCode.FORBIDDEN, f"role {claims.get('role')} may not act on disputes"
        )
    return str(claims["sub"])


Staff = Annotated[str, Depends(staff)]
