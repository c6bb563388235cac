"""Reserve policies and the split of a payable into what may be paid and what is held back
(pure).

A policy is versioned like a cancellation policy: a new version never changes what earlier
payables recorded. Kinds:
- `rolling_percent`: `percent_bps` of each payable held for `hold_days`, then released;
- `fixed`: each payable tops the host's reserve up to `fixed_amount` (in the policy's
  currency), held for `hold_days`;
- `none`: nothing held.
Which policy applies: the host's own assignment, else its risk tier's, else the platform's;
no assignment at all is `none`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ReserveKind(StrEnum):
    ROLLING_PERCENT = "rolling_percent"
    FIXED = "fixed"
    NONE = "none"


class Scope(StrEnum):
    PLATFORM = "platform"
    TIER = "tier"
    HOST = "host"


class InvalidPolicy(ValueError):
    code = "invalid_reserve_policy"


@dataclass(frozen=True, slots=True)
class ReservePolicy:
    policy_id: str
    version: int
    kind: ReserveKind
    percent_bps: int = 0
    hold_days: int = 0
    fixed_amount: int = 0
    currency: str | None = None

    def check(self) -> None:
        if self.kind is ReserveKind.ROLLING_PERCENT and not 0 < self.percent_bps <= 10_000:
            raise InvalidPolicy("rolling_percent needs 0 < percent_bps <= 10000")
        if self.kind is ReserveKind.FIXED and (self.fixed_amount <= 0 or not self.currency):
            raise InvalidPolicy("fixed needs fixed_amount > 0 and a currency")
        if self.kind is not ReserveKind.NONE and self.hold_days <= 0:
            raise InvalidPolicy(f"{self.kind} needs hold_days > 0")


NO_RESERVE = ReservePolicy("none", 0, ReserveKind.NONE)


@dataclass(frozen=True, slots=True)
class Split:
    releasable: int
    reserve: int
    release_at: datetime | None
    policy: ReservePolicy


def split(amount: int, currency: str, policy: ReservePolicy, *, held: int, now: datetime) -> Split:
    """Divide a payable of `amount` under `policy`; `held` is what the host's reserve holds
    now in this currency (a fixed reserve only tops it up)."""
    reserve = 0
    if policy.kind is ReserveKind.ROLLING_PERCENT:
        reserve = amount * policy.percent_bps // 10_000  # rounds down: the host's favour
    elif policy.kind is ReserveKind.FIXED and policy.currency == currency:
        reserve = min(amount, max(policy.fixed_amount - held, 0))
    release_at = now + timedelta(days=policy.hold_days) if reserve else None
    return Split(amount - reserve, reserve, release_at, policy)


def resolve(
    assigned: dict[tuple[Scope, str], ReservePolicy], host_account_id: str, tier: str | None
) -> ReservePolicy:
    """The host's policy, else its tier's, else the platform's, else none."""
    keys = [(Scope.HOST, host_account_id), *([(Scope.TIER, tier)] if tier else [])]
    for key in (*keys, (Scope.PLATFORM, "")):
        if key in assigned:
            return assigned[key]
    return NO_RESERVE
