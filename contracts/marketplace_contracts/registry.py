"""Every (type, version) the platform knows, and decoding of envelope payloads."""

from __future__ import annotations

from marketplace_contracts.envelope import Envelope, EventModel
from marketplace_contracts.events import (
    booking,
    catalog,
    disputes,
    finance,
    finance_books,
    payments,
    payments_disputes,
)

_MODELS: tuple[type[EventModel], ...] = (
    catalog.ListingUpsertedV1,
    booking.CheckoutRequestedV1,
    booking.BookingConfirmedV1,
    booking.BookingFailedV1,
    booking.HostResponseRequestedV1,
    booking.InviteSentV1,
    booking.InviteClosedV1,
    booking.BookingCompletedV1,
    booking.PaymentRequestedV1,
    booking.PaymentRetryRequestedV1,
    booking.SignaturesRequestedV1,
    booking.GroupCheckoutRequestedV1,
    booking.GroupAwaitingHostsV1,
    booking.GroupCaptureRequestedV1,
    booking.GroupConfirmedV1,
    booking.GroupFailedV1,
    booking.DocumentsSignedV1,
    booking.LegReadyV1,
    booking.BookingCancelledV1,
    booking.AmendmentProposedV1,
    booking.ChargeRequestedV1,
    booking.AmendmentDecidedV1,
    booking.ReauthorizationRequestedV1,
    booking.DepositReleasedV1,
    booking.ClaimFiledV1,
    booking.ClaimDecidedV1,
    booking.SignaturesCompletedV1,
    payments.PaymentAuthorizedV1,
    payments.PaymentFailedV1,
    payments.PaymentCapturedV1,
    payments.PaymentCapturedV2,
    payments.RefundSucceededV1,
    payments.RefundFailedV1,
    payments.AuthorizationExpiringV1,
    payments.HostAccountUpdatedV1,
    payments.PaymentVoidedV1,
    payments.PaymentMethodSavedV1,
    payments.PaymentProcessingV1,
    payments.PaymentReturnedV1,
    payments.FundsClearedV1,
    payments.TransferCreatedV1,
    payments.TransferFailedV1,
    payments.TransferReversedV1,
    payments.PaymentReauthorizedV1,
    payments.ReauthorizationFailedV1,
    payments.PaymentActionRequiredV1,
    payments.TransferReversalFailedV1,
    payments.PlatformPayoutUpdatedV1,
    payments_disputes.DisputeOpenedV1,
    payments_disputes.DisputeUpdatedV1,
    payments_disputes.DisputeFundsWithdrawnV1,
    payments_disputes.DisputeFundsReinstatedV1,
    payments_disputes.DisputeClosedV1,
    payments_disputes.EarlyFraudWarningReceivedV1,
    payments_disputes.DisputeEvidenceSubmittedV1,
    payments_disputes.DisputeAcceptedV1,
    payments_disputes.DisputeActionFailedV1,
    finance.JournalPostedV1,
    finance.PayoutReleasedV1,
    finance.PayoutScheduledV1,
    finance.PayoutHeldV1,
    finance.PayoutTransferredV1,
    finance.PayoutFailedV1,
    finance.ReserveHeldV1,
    finance.ReserveReleasedV1,
    finance.NegativeBalanceRecordedV1,
    finance.NegativeBalanceRecoveredV1,
    finance.TransferReversalRequestedV1,
    disputes.PayoutHoldChangedV1,
    disputes.EvidenceSubmissionRequestedV1,
    disputes.DisputeAcceptanceRequestedV1,
    disputes.DeadlineApproachingV1,
    disputes.DisputeResolvedV1,
    finance_books.DayClosedV1,
    finance_books.ReconciliationExceptionRaisedV1,
)

REGISTRY: dict[tuple[str, int], type[EventModel]] = {(m.TYPE, m.VERSION): m for m in _MODELS}


class UnknownEventError(LookupError):
    """The envelope names a type/version this build of the contracts does not know."""


def model_for(event_type: str, version: int) -> type[EventModel]:
    try:
        return REGISTRY[(event_type, version)]
    except KeyError:
        raise UnknownEventError(f"unknown event {event_type} v{version}") from None


def decode_data(envelope: Envelope) -> EventModel:
    """Validate the payload against its versioned model (raises pydantic.ValidationError)."""
    return model_for(envelope.type, envelope.version).model_validate(envelope.data)
