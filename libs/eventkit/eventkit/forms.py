"""Where a browser says a form came from: one rule for every HTML form a service serves (the
ops console's, the built-in signer's page).

A browser sends `Sec-Fetch-Site`, `Origin` or `Referer` with a form it posts; a form another
site (or another port of the same host, which a browser counts as the same site) made it post
is refused. A client that sends none of them is not a browser posting on someone's behalf.

`Sec-Fetch-Site` is the browser's own word, which no page can set: when it is there it decides
(a page whose `Referrer-Policy` is `no-referrer` posts its own form with `Origin: null`, and
`same-origin` still says where it came from). Without it (older browsers) the `Origin`, else
the `Referer`, must name this server: the request's `Host`, or an address it is also reached
by (`also`: a public base URL behind a proxy that rewrites `Host`).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.datastructures import Headers

SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


def foreign_source(headers: Headers, also: Collection[str] = ()) -> str | None:
    """Where a form came from when that is not this server; None when it is, or when the
    client does not say (not a browser). `also`: base URLs that are this server too."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site in SAME_ORIGIN_FETCH:
            return None
        return headers.get("origin") or f"a {fetch_site} page"
    own = {headers.get("host", "").lower(), *(urlsplit(url).netloc.lower() for url in also)}
    origin = headers.get("origin")
    if origin is not None:
        # "null": a sandboxed frame, a data: or file: page: never this server.
        return None if urlsplit(origin).netloc.lower() in own else origin
    referer = headers.get("referer")
    if referer is not None and urlsplit(referer).netloc.lower() not in own:
        return referer
    return None
