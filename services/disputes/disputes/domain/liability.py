"""Who bears a lost dispute: the platform's liability policy, versioned (docs/disputes.md).

Policy `2026-12-01`, per the bank's reason:
- `fraudulent`, `unrecognized` on a payment authenticated with 3-D Secure: the platform absorbs
  it (`fraud_with_3ds`): it sold the booking on an authentication that should have shifted the
  loss to the issuer. Without 3-D Secure (`fraud_shared`): each host bears its host share of
  the disputed money and the platform its fee share, as the payment was split.
- `product_not_received`, `product_unacceptable` (not as described): the host bears all of its
  booking's disputed money when trust staff found the host at fault (`host_at_fault`), else the
  platform absorbs it (`platform_service`).
- `credit_not_processed`, `subscription_canceled`: the refund followed the policy both sides
  accepted, so the loss is split like the payment (`refund_per_policy`); the host bears it all
  when at fault.
- `duplicate`: a processing error, the platform's (`platform_processing`).
- any other reason: split like the payment (`default_shared`); all the host's when at fault.
An accepted (conceded) dispute follows the same rules. The dispute fee is always the
platform's. Shares are in minor units and sum exactly to the disputed amount: the amount is
first spread over the legs by what each leg was paid and still holds (payments names each leg
net of its refunds: a leg refunded in full bears nothing; when none holds anything the loss is
the platform's), then each leg's part between its host and the platform by the leg's split,
each time by largest remainder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

POLICY_VERSION = "2026-12-01"

FRAUD = frozenset({"fraudulent", "unrecognized"})
NOT_AS_DESCRIBED = frozenset({"product_not_received", "product_unacceptable"})
REFUNDS = frozenset({"credit_not_processed", "subscription_canceled"})
PLATFORM_ERRORS = frozenset({"duplicate"})


@dataclass(frozen=True)
class Leg:
    booking_id: str
    host_account_id: str
    amount: int
    host_amount: int


@dataclass(frozen=True)
class Share:
    party: str  # "platform" | "host"
    amount: int
    host_account_id: str | None = None
    booking_id: str | None = None


@dataclass(frozen=True)
class Decision:
    policy_version: str
    rule: str
    shares: tuple[Share, ...]


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """`total` spread over `weights` pro rata, in integers summing exactly to `total`
    (largest remainder; ties to the earlier weight). All-zero weights: all to the first."""
    if not weights:
        raise ValueError("nothing to allocate over")
    whole = sum(weights)
    if whole <= 0:
        return [total] + [0] * (len(weights) - 1)
    floors = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(floors)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        floors[i] += 1
    return floors


def rule_for(reason: str, *, three_d_secure: bool, host_at_fault: bool) -> tuple[str, int]:
    """The rule's name and the part of each leg's host share the host bears: 0 (none), 1 (its
    split of the payment) or 2 (all of the leg)."""
    if reason in FRAUD:
        return ("fraud_with_3ds", 0) if three_d_secure else ("fraud_shared", 1)
    if reason in PLATFORM_ERRORS:
        return ("platform_processing", 0)
    if host_at_fault:
        return ("host_at_fault", 2)
    if reason in NOT_AS_DESCRIBED:
        return ("platform_service", 0)
    if reason in REFUNDS:
        return ("refund_per_policy", 1)
    return ("default_shared", 1)


def decide(
    reason: str, amount: int, legs: Sequence[Leg], *, three_d_secure: bool, host_at_fault: bool
) -> Decision:
    """The shares of a lost dispute of `amount` over the payment's `legs`."""
    rule, host_part = rule_for(reason, three_d_secure=three_d_secure, host_at_fault=host_at_fault)
    if host_part == 0 or not any(leg.amount for leg in legs):
        # No leg holds money any more (each was refunded in full): no host has a share of it.
        return Decision(POLICY_VERSION, rule, (Share("platform", amount),))
    platform = 0
    shares: list[Share] = []
    for leg, part in zip(legs, allocate(amount, [leg.amount for leg in legs]), strict=True):
        if host_part == 2:
            host = part
        else:
            host, _fee = allocate(part, [leg.host_amount, leg.amount - leg.host_amount])
        platform += part - host
        if host:
            shares.append(Share("host", host, leg.host_account_id, leg.booking_id))
    if platform:
        shares.insert(0, Share("platform", platform))
    return Decision(POLICY_VERSION, rule, tuple(shares))
