"""Where a browser says a form came from: one rule for every HTML form a service serves (the
ops console's, the built-in signer's page).

A browser sends `Sec-Fetch-Site`, `Origin` or `Referer` with a form it posts; a form another
site (or another port of the same host, which a browser counts as the same site) made it post
is refused. A client that sends none of them is not a browser posting on someone's behalf.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers

SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


def foreign_source(headers: Headers) -> str | None:
    """Where a form came from when that is not this origin; None when it is, or when the client
    does not say (not a browser)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCH:
        return headers.get("origin") or f"a {fetch_site} page"
    host = headers.get("host", "").lower()
    origin = headers.get("origin")
    if origin is not None:
        # "null": a sandboxed frame, a data: or file: page: never this origin.
        return None if urlsplit(origin).netloc.lower() == host else origin
    referer = headers.get("referer")
    if referer is not None and urlsplit(referer).netloc.lower() != host:
        return referer
    return None
