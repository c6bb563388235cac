"""Who may use finance's HTTP API: finance staff, admins and services (docs/security.md).

Every route but /healthz and the OpenAPI documents takes `READER` (a router dependency); a
route that changes something takes `Actor`, the person it is recorded against, from the token
(or, for a service, its `X-Acting-For` header), never from the body."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import Field

from eventkit.acting import actor
from eventkit.auth import Role, require

ROLES = (Role.FINANCE, Role.ADMIN, Role.SERVICE)
# One instance: FastAPI caches a dependency per request by identity, so a route taking both
# the router's READER and Actor decodes the token once.
reader = require(*ROLES)
READER = [Depends(reader)]
Actor = Annotated[str, Depends(actor(reader))]
# A body's `actor`, from before the API had tokens: still accepted, so older callers keep
# working, and never used.
IgnoredActor = Annotated[
    str | None,
    Field(
        max_length=200,
        deprecated=True,
        description="Ignored: the actor is the caller's token (docs/security.md).",
    ),
]
