"""Extra charges of amendments and overtime, and refunds of amendments.

An extra charge (`booking.charge_requested`) is a payment of its own: `purpose` is
`charge:<charge_request_id>` and `charge_request_id` names the request it answers (one payment
per request). A refund now says what caused it: a cancellation, or an amendment that lowered
the price (`cause`); only a cancellation ends a saved card's payment."""

from alembic import op

revision, down_revision = "0005", "0004"

S = "payments"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN charge_request_id text")
    op.execute(
        f"CREATE UNIQUE INDEX uq_payments_charge_request ON {S}.payments (charge_request_id) "
        "WHERE charge_request_id IS NOT NULL"
    )
    op.execute(
        f"ALTER TABLE {S}.refunds ADD COLUMN cause text NOT NULL DEFAULT 'cancellation' "
        "CONSTRAINT ck_refunds_cause CHECK (cause IN ('cancellation', 'amendment'))"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.refunds DROP COLUMN cause")
    op.execute(f"DROP INDEX {S}.uq_payments_charge_request")
    op.execute(f"ALTER TABLE {S}.payments DROP COLUMN charge_request_id")
