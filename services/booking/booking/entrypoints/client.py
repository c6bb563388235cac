"""Who is on the other end of a request: the client's IP address and User-Agent, kept as
evidence (a bank-debit mandate's acceptance, a signature, a checkout a dispute may question)."""

from __future__ import annotations

import ipaddress

from fastapi import Request

# A User-Agent kept as evidence is cut to this.
MAX_USER_AGENT = 512


def resolve_client_ip(peer: str | None, forwarded_for: str | None, hops: int) -> str | None:
    """The client's IP. `X-Forwarded-For` is honoured only with `hops` trusted proxies in front:
    the entry that the outermost trusted proxy appended (``hops`` from the right) is taken;
    entries further left are client-supplied and ignored."""
    if hops <= 0 or not forwarded_for:
        return peer
    entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
    if not entries:
        return peer
    candidate = entries[-hops] if len(entries) >= hops else entries[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def client_context(request: Request) -> tuple[str | None, str | None]:
    """(IP address, User-Agent) of the request's client; the IP as `resolve_client_ip` finds it
    with the app's `forwarded_for_hops` (BOOKING_FORWARDED_FOR_HOPS)."""
    hops = getattr(request.app.state, "forwarded_for_hops", 0)
    peer = request.client.host if request.client else None
    ip = resolve_client_ip(peer, request.headers.get("x-forwarded-for"), hops)
    user_agent = request.headers.get("user-agent", "")[:MAX_USER_AGENT] or None
    return ip, user_agent
