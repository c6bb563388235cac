"""Bearer headers for the staff APIs in tests (finance: finance/admin/service; disputes:
trust/admin/service), minted with eventkit.auth on the development secret every service
defaults to."""

from __future__ import annotations

from eventkit.auth import DEV_JWT_SECRET, Role, issue_token, service_token


def bearer(sub: str, role: Role | str, secret: str = DEV_JWT_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(secret, sub, role)}"}


def finance_staff(sub: str = "finance-1") -> dict[str, str]:
    return bearer(sub, Role.FINANCE)


def trust_staff(sub: str = "trust-1") -> dict[str, str]:
    return bearer(sub, Role.TRUST)


def service(name: str = "ops", acting_for: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {service_token(DEV_JWT_SECRET, name)}"}
    return headers | ({"X-Acting-For": acting_for} if acting_for else {})
