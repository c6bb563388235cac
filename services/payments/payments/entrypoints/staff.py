"""Payments' one endpoint dependency (eventkit.endpoint): its staff read API admits roles admin,
finance, trust and service (ops's back office calls it with its own service token), and its
Stripe webhook is public (Stripe signs the body instead). Payments has no staff commands: a
change to a payment is an event, not an HTTP call."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from eventkit.auth import Role, require
from eventkit.endpoint import Endpoint, Endpoints
from payments.service_layer.staff_views import FilterMissing, PaymentNotFound
from payments.service_layer.webhooks import WebhookRejected

reader = require(Role.ADMIN, Role.FINANCE, Role.TRUST, Role.SERVICE)
READER = [Depends(reader)]


def refuse(exc: Exception) -> HTTPException | None:
    """A domain error's status and code (docs/api.md); None: not a refusal (a 500)."""
    if isinstance(exc, PaymentNotFound):
        return HTTPException(404, {"code": "payment_not_found", "message": str(exc)})
    if isinstance(exc, FilterMissing):
        return HTTPException(422, {"code": "validation_failed", "message": str(exc)})
    if isinstance(exc, WebhookRejected):
        return HTTPException(400, {"code": exc.code, "message": exc.message})
    return None


Reader = Annotated[Endpoint, Endpoints(reader, refuse).read]
Public = Annotated[Endpoint, Endpoints(None, refuse).read]
