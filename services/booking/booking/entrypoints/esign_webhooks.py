"""Dropbox Sign callbacks: verify, apply the outcome, answer the text Dropbox Sign expects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from booking.adapters.esign.base import ESignError, ESignProvider, WebhookVerificationError
from booking.adapters.esign.dropbox_sign import CALLBACK_ACK
from booking.service_layer.documents import Documents


def build_dropbox_sign_router(provider: ESignProvider, documents: Documents) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post("/webhooks/dropbox-sign", summary="Dropbox Sign event callback")
    async def dropbox_sign_callback(request: Request) -> Response:
        try:
            event = await provider.parse_webhook(await request.body(), dict(request.headers))
        except WebhookVerificationError as exc:
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, 400)
        except ESignError as exc:  # could not confirm with the API: let Dropbox Sign retry
            status = 503 if exc.retryable else 400
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status)
        await documents.on_envelope_event(event)
        return PlainTextResponse(CALLBACK_ACK)

    return router
