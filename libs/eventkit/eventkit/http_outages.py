"""Postgres or Kafka not answering, answered 503 `unavailable` inside the app's middleware.

Starlette answers an exception that no route handled from its outermost layer, after every
middleware has seen the exception go by: the access log (`eventkit.logs`) and the request
metrics (`eventkit.metrics`) would record a 500 for a 503 the client received, the server's
log would carry a traceback, and the 5xx alert would count a database restart as a bug. This
layer sits inside them and answers the outage itself, so that each sees the 503 it is.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventkit.http_errors import outage_response
from eventkit.outages import is_outage


class OutagesAnswered:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception as exc:
            if started or not is_outage(exc):
                raise  # a bug (500, from the outermost layer), or too late to answer
            await outage_response(Request(scope), exc)(scope, receive, send)
