"""Typed async clients of the staff APIs the ops back office reads and acts through: finance
(payout queue, host settings, reserve policies, reconciliation, daily closes, the books),
disputes (the queue, a case, its evidence, submit, accept, host fault) and the booking
gateway (bookings, groups, cancellation policies, claims).

Each client is an `httpx.AsyncClient` on a base URL with a token provider: a callable giving
the bearer token for the next request (sync or async, so a provider can cache and renew).
Finance and disputes admit ops's own credential (`ServiceCredential`, role `service`); every
change names the staff member it is made for (`acting_for`, sent as `X-Acting-For`), and the
service records it as `<person> via service:ops`. The gateway has no `service` role: give
`BookingApi` the signed-in staff member's own token (docs/security.md).

A refusal raises `ApiError(status, code, message)` with the service's machine-readable code
(`entry_not_found`, `illegal_transition`, `forbidden`, ...); an unreachable service raises it
with status 503 and code `service_unavailable`. Results are the services' JSON documents.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from eventkit.acting import ACTING_FOR_HEADER
from eventkit.auth import SERVICE_TOKEN_TTL_SECONDS, service_token

TokenProvider = Callable[[], str | Awaitable[str]]
Json = dict[str, Any]


class ApiError(Exception):
    """A staff API refused, in its error body's terms."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def error_of(response: httpx.Response) -> ApiError:
    """The project's error body (`{"error": {"code", "message", "details"?}}`) as an ApiError;
    anything else (a proxy's page) keeps the status with a code made from it."""
    try:
        error = response.json()["error"]
        message, details = str(error["message"]), error.get("details")
        if isinstance(details, list) and details and ":" not in message:
            # The service's field-by-field reasons, for a person reading the refusal.
            said = [
                f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg', '')}"
                for d in details[:5]
                if isinstance(d, dict)
            ]
            message = f"{message}: {'; '.join(said)}" if said else message
        return ApiError(response.status_code, str(error["code"]), message, details)
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, f"http_{response.status_code}", response.text[:500])


class ServiceCredential:
    """Ops's own token provider: a `service` token minted from the shared secret, renewed a
    while before it expires so no request goes out with a token about to lapse."""

    def __init__(
        self,
        secret: str,
        service: str = "ops",
        ttl_seconds: int = SERVICE_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
        mint: Callable[[str, str, int], str] = service_token,
    ) -> None:
        self._secret, self._service, self._ttl = secret, service, ttl_seconds
        self._clock, self._mint = clock, mint
        self._token = ""
        self._renew_at = 0.0

    def __call__(self) -> str:
        now = self._clock()
        if now >= self._renew_at:
            self._token = self._mint(self._secret, self._service, self._ttl)
            self._renew_at = now + self._ttl * 0.8
        return self._token


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


class _Api:
    """What the three clients share: auth headers, requests, error mapping."""

    service = "api"

    def __init__(
        self,
        base_url: str,
        token: TokenProvider,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _headers(self, acting_for: str | None) -> dict[str, str]:
        token = self._token()
        if inspect.isawaitable(token):
            token = await token
        headers = {"Authorization": f"Bearer {token}"}
        if acting_for is not None:
            headers[ACTING_FOR_HEADER] = acting_for
        return headers

    async def _call(
        self,
        method: str,
        path: str,
        *,
        acting_for: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **body: Any,
    ) -> httpx.Response:
        sent = await self._headers(acting_for) | dict(headers or {})
        query = {k: _plain(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, params=query, headers=sent, **body)
        except httpx.InvalidURL as exc:  # an id or filter too long for any URL
            raise ApiError(422, "validation_failed", f"an id or filter is too long: {exc}") from exc
        except httpx.HTTPError as exc:
            message = f"{self.service} did not answer {method} {path}: {exc!r}"
            raise ApiError(503, "service_unavailable", message) from exc
        if response.is_error:
            raise error_of(response)
        return response

    async def _doc(self, method: str, path: str, **kw: Any) -> Json:
        found: Json = (await self._call(method, path, **kw)).json()
        return found

    async def _list(self, method: str, path: str, **kw: Any) -> list[Json]:
        found: list[Json] = (await self._call(method, path, **kw)).json()
        return found


class FinanceApi(_Api):
    """Finance's staff API (port 8002): roles finance, admin, service."""

    service = "finance"

    async def payout_queue(
        self,
        *,
        state: str | None = None,
        host_account_id: str | None = None,
        due_before: datetime | None = None,
        currency: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Json:
        """`{"entries": [...], "next_cursor"}` in entry id order."""
        params: dict[str, Any] = {
            "state": state,
            "host_account_id": host_account_id,
            "due_before": due_before,
        }
        params |= {"currency": currency, "cursor": cursor, "limit": limit}
        return await self._doc("GET", "/v1/payouts/queue", params=params)

    async def payout_entry(self, entry_id: str) -> Json:
        """One entry with its history, reserves, releases and dispute recoveries."""
        return await self._doc("GET", f"/v1/payouts/queue/{entry_id}")

    async def _payout_action(self, action: str, entry_id: str, note: str, acting_for: str) -> Json:
        path = f"/v1/payouts/queue/{entry_id}/{action}"
        return await self._doc("POST", path, acting_for=acting_for, json={"note": note})

    async def hold(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("hold", entry_id, note, acting_for)

    async def unhold(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("unhold", entry_id, note, acting_for)

    async def release_now(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("release-now", entry_id, note, acting_for)

    async def retry(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("retry", entry_id, note, acting_for)

    async def set_host(
        self,
        host_account_id: str,
        *,
        acting_for: str,
        payout_delay_hours: float | None = None,
        risk_tier: str | None = None,
    ) -> Json:
        body: dict[str, Any] = {"payout_delay_hours": payout_delay_hours, "risk_tier": risk_tier}
        path = f"/v1/payouts/hosts/{host_account_id}"
        return await self._doc("PUT", path, acting_for=acting_for, json=body)

    async def reserve_policies(self) -> Json:
        """Every policy version and assignment."""
        return await self._doc("GET", "/v1/payouts/reserve-policies")

    async def create_reserve_policy(
        self,
        policy_id: str,
        kind: Literal["rolling_percent", "fixed", "none"],
        *,
        acting_for: str,
        percent_bps: int = 0,
        hold_days: int = 0,
        fixed_amount: int = 0,
        currency: str | None = None,
        note: str = "",
    ) -> Json:
        """A new version of `policy_id`."""
        body: dict[str, Any] = {"policy_id": policy_id, "kind": kind, "percent_bps": percent_bps}
        body |= {"hold_days": hold_days, "fixed_amount": fixed_amount, "currency": currency}
        path = "/v1/payouts/reserve-policies"
        return await self._doc("POST", path, acting_for=acting_for, json=body | {"note": note})

    async def assign_reserve_policy(
        self,
        policy_id: str,
        scope: Literal["platform", "tier", "host"],
        *,
        acting_for: str,
        scope_key: str = "",
    ) -> Json:
        body = {"policy_id": policy_id, "scope": scope, "scope_key": scope_key}
        path = "/v1/payouts/reserve-policies/assignments"
        return await self._doc("PUT", path, acting_for=acting_for, json=body)

    async def run_close(
        self, *, acting_for: str, business_date: date | None = None, currency: str | None = None
    ) -> list[Json]:
        """Close a business day (default yesterday), every currency unless one is given: the
        closes' reports. 409 `close_*` codes when the day cannot be closed yet."""
        body = {"business_date": _plain(business_date), "currency": currency}
        found = await self._doc("POST", "/v1/closes", acting_for=acting_for, json=body)
        closes: list[Json] = found["closes"]
        return closes

    async def closes(self, currency: str | None = None) -> list[Json]:
        return await self._list("GET", "/v1/closes", params={"currency": currency})

    async def close_report(self, business_date: date, currency: str) -> Json:
        return await self._doc("GET", f"/v1/closes/{business_date.isoformat()}/{currency}")

    async def close_report_csv(self, business_date: date, currency: str) -> str:
        path = f"/v1/closes/{business_date.isoformat()}/{currency}"
        return (await self._call("GET", path, params={"format": "csv"})).text

    async def acknowledge(
        self,
        business_date: date,
        currency: str,
        *,
        item: str,
        amount: int,
        note: str,
        acting_for: str,
    ) -> Json:
        """Acknowledge a known difference (`amount`, minor units) or exception (0)."""
        path = f"/v1/closes/{business_date.isoformat()}/{currency}/acknowledgements"
        body = {"item": item, "amount": amount, "note": note}
        return await self._doc("POST", path, acting_for=acting_for, json=body)

    async def run_reconciliation(self, *, acting_for: str) -> Json:
        return await self._doc("POST", "/v1/reconciliation/runs", acting_for=acting_for)

    async def reconciliation_exceptions(
        self,
        *,
        status: Literal["open", "resolved"] | None = "open",
        kind: str | None = None,
        currency: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> Json:
        """`{"items": [...], "next_after"}`, oldest first."""
        params: dict[str, Any] = {"status": status, "kind": kind, "currency": currency}
        params |= {"after": after, "limit": limit}
        return await self._doc("GET", "/v1/reconciliation/exceptions", params=params)

    async def resolve_exception(self, exception_id: int, note: str, *, acting_for: str) -> Json:
        path = f"/v1/reconciliation/exceptions/{exception_id}/resolve"
        return await self._doc("POST", path, acting_for=acting_for, json={"note": note})

    async def trial_balance(self) -> Json:
        return await self._doc("GET", "/v1/ledger/trial-balance")

    async def booking_journals(self, booking_id: str) -> list[Json]:
        return await self._list("GET", f"/v1/ledger/bookings/{booking_id}")

    async def dispute_books(self, dispute_id: str) -> Json:
        return await self._doc("GET", f"/v1/ledger/disputes/{dispute_id}")

    async def payables(self, booking_id: str) -> Json:
        params: dict[str, Any] = {"booking_id": booking_id}
        return await self._doc("GET", "/v1/payables", params=params)


class DisputesApi(_Api):
    """The disputes API (port 8003): roles trust, admin, service."""

    service = "disputes"

    async def queue(
        self,
        *,
        status: str | None = None,
        reason: str | None = None,
        host_account_id: str | None = None,
        due_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Json:
        """`{"data": [case summaries], "next_cursor"}`, soonest `due_by` first."""
        params: dict[str, Any] = {
            "status": status,
            "reason": reason,
            "host_account_id": host_account_id,
        }
        params |= {"due_before": due_before, "cursor": cursor, "limit": limit}
        return await self._doc("GET", "/v1/disputes", params=params)

    async def case(self, dispute_id: str) -> Json:
        """The case with its evidence, history, money and submissions."""
        return await self._doc("GET", f"/v1/disputes/{dispute_id}")

    async def summary_pdf(self, dispute_id: str) -> bytes:
        return (await self._call("GET", f"/v1/disputes/{dispute_id}/evidence/summary.pdf")).content

    async def edit_evidence(
        self, dispute_id: str, text: Mapping[str, str | None], *, acting_for: str
    ) -> Json:
        """Set (a string) or remove (None) evidence text fields: the case."""
        path = f"/v1/disputes/{dispute_id}/evidence"
        return await self._doc("PATCH", path, acting_for=acting_for, json={"text": dict(text)})

    async def upload_evidence(
        self,
        dispute_id: str,
        field: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        acting_for: str,
    ) -> Json:
        """A file for an evidence field (`receipt`, `service_documentation`, ...)."""
        path = f"/v1/disputes/{dispute_id}/evidence/files"
        files = {"file": (filename, content, content_type)}
        return await self._doc(
            "POST", path, acting_for=acting_for, data={"field": field}, files=files
        )

    async def submit(self, dispute_id: str, *, acting_for: str) -> Json:
        """Submit the evidence: the case `submitting`, with the request's id."""
        return await self._doc("POST", f"/v1/disputes/{dispute_id}/submit", acting_for=acting_for)

    async def accept(self, dispute_id: str, *, acting_for: str) -> Json:
        """Concede the dispute: the case `accepting`."""
        return await self._doc("POST", f"/v1/disputes/{dispute_id}/accept", acting_for=acting_for)

    async def host_fault(
        self, dispute_id: str, at_fault: bool, note: str, *, acting_for: str
    ) -> Json:
        path = f"/v1/disputes/{dispute_id}/host-fault"
        body = {"at_fault": at_fault, "note": note}
        return await self._doc("POST", path, acting_for=acting_for, json=body)

    async def charge(self, payment_id: str) -> Json:
        return await self._doc("GET", f"/v1/charges/{payment_id}")


class BookingApi(_Api):
    """The gateway (port 8000) as staff use it, with the staff member's own `admin` or
    `trust` token; a mutation may carry an `Idempotency-Key` (ops's mutation token)."""

    service = "booking"

    async def bookings(self, **filters: str | int | datetime | None) -> Json:
        """`GET /v1/bookings` with its filters (`status`, `listing_id`, `guest_id`, `host_id`,
        `from`, `to`, `cursor`, `limit`; admins see everyone's)."""
        return await self._doc("GET", "/v1/bookings", params=filters)

    async def booking(self, booking_id: str) -> Json:
        return await self._doc("GET", f"/v1/bookings/{booking_id}")

    async def group(self, group_id: str) -> Json:
        return await self._doc("GET", f"/v1/checkout-groups/{group_id}")

    async def groups(self, **filters: str | int | None) -> Json:
        """`GET /v1/checkout-groups` (`status`, `guest_id`, `cursor`, `limit`; staff see
        everyone's): `{"data": [...], "next_cursor"}`."""
        return await self._doc("GET", "/v1/checkout-groups", params=filters)

    async def cancellation_policies(self) -> list[Json]:
        """The newest version of every cancellation policy."""
        return await self._list("GET", "/v1/cancellation-policies")

    async def publish_cancellation_policy(
        self, policy: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Json:
        """A policy (`name`, `bands`, ...) or its next version (admins)."""
        headers = _idempotency(idempotency_key)
        return await self._doc(
            "POST", "/v1/cancellation-policies", headers=headers, json=dict(policy)
        )

    async def claim(self, claim_id: str) -> Json:
        return await self._doc("GET", f"/v1/claims/{claim_id}")

    async def booking_claims(self, booking_id: str) -> list[Json]:
        return await self._list("GET", f"/v1/bookings/{booking_id}/claims")

    async def decide_claim(
        self, claim_id: str, amount: int, note: str = "", *, idempotency_key: str | None = None
    ) -> Json:
        """An admin's decision on a contested or unanswered claim (0 dismisses it)."""
        path = f"/v1/claims/{claim_id}/decide"
        body = {"amount": amount, "note": note}
        return await self._doc("POST", path, headers=_idempotency(idempotency_key), json=body)


def _idempotency(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}
