"""What protects the console's pages and forms in a staff member's browser.

* **Forms are taken from the console's own pages only.** The sign-in cookie is SameSite=Strict,
  but a browser counts every port of a host (and every subdomain of a site) as the same site,
  so a page served elsewhere on that host could post a console form with the cookie. A form
  (any POST under /console) is refused with 403 `cross_site_form` when the browser says where
  it came from and that is not the console: `Sec-Fetch-Site` other than `same-origin` or
  `none`, else an `Origin` (or, without one, a `Referer`) on another host or port. A client
  that sends none of them is not a browser, and cannot hold a staff member's cookie.
* **No other site may frame a console page** (`X-Frame-Options`, CSP `frame-ancestors`), and
  **no page is kept by the browser** (`Cache-Control: no-store`): after signing out, Back shows
  no staff data, and a form brought back is rendered anew with a fresh idempotency token.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventkit.forms import foreign_source
from eventkit.http_errors import error_response

PREFIX = "/console"
CROSS_SITE_FORM = "cross_site_form"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}


class ConsoleGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers[name] = value
            await send(message)

        if scope["method"] not in SAFE_METHODS:
            source = foreign_source(Headers(scope=scope))
            if source is not None:
                refusal = error_response(
                    Request(scope),
                    403,
                    CROSS_SITE_FORM,
                    f"This form was sent from {source[:200]}, not from the console: "
                    "open the console and use its own page.",
                )
                await refusal(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)
