"""Who may use the disputes API: trust staff, admins and services, with eventkit.auth's one
bearer-token scheme (401 `unauthenticated`, 403 `forbidden`; docs/security.md).

Every route but /healthz and the OpenAPI documents takes `READER` (a router dependency). The
actor a change records is the token's `sub`; a `service` caller (the ops console) names the
trust staff member it acts for in `X-Acting-For`, recorded as `<sub> via service:<name>`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from eventkit.acting import actor
from eventkit.auth import Role, require

ROLES = (Role.TRUST, Role.ADMIN, Role.SERVICE)
# One instance, so a route taking both READER and Staff decodes the token once per request.
reader = require(*ROLES)
READER = [Depends(reader)]
Staff = Annotated[str, Depends(actor(reader))]
