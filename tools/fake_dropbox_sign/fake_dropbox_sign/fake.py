"""One fake's state and callback dispatcher, which its routes find on ``app.state.fake``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from fake_dropbox_sign.callbacks import CallbackDispatcher, build_event
from fake_dropbox_sign.state import FakeRequest, FakeState


@dataclass
class Fake:
    state: FakeState
    dispatcher: CallbackDispatcher

    def emit(
        self,
        request: Request,
        event_type: str,
        sr: FakeRequest | None,
        *,
        signature_id: str | None = None,
        tamper: bool = False,
    ) -> None:
        """Queue the callback of ``event_type`` about ``sr`` (signed with the API key)."""
        payload = build_event(
            self.state.api_key,
            event_type,
            sr.to_api(str(request.base_url)) if sr is not None else None,
            related_signature_id=signature_id,
            tamper=tamper,
        )
        self.dispatcher.enqueue(event_type, payload, tampered=tamper)


def fake_of(request: Request) -> Fake:
    fake: Fake = request.app.state.fake
    return fake
