"""Charges that pay several bookings (Linked Booking Groups): one split per booking.

A group's charge has no single host account (NULL `host_account_id`); `splits` says which
booking paid what and which host it owes, so a chargeback can be traced to its legs."""

from alembic import op

revision, down_revision = "0002", "0001"

S = "disputes"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.charges ADD COLUMN group_id text")
    op.execute(f"ALTER TABLE {S}.charges ADD COLUMN transfer_group text")
    op.execute(f"ALTER TABLE {S}.charges ADD COLUMN splits jsonb")
    op.execute(f"ALTER TABLE {S}.charges ALTER COLUMN host_account_id DROP NOT NULL")
    op.execute(
        f"ALTER TABLE {S}.charges ADD CONSTRAINT ck_charges_payee CHECK "
        "(host_account_id IS NOT NULL OR splits IS NOT NULL)"
    )


def downgrade() -> None:
    # Charges of groups have no single host account: refuse rather than lose them.
    op.execute(f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM {S}.charges WHERE host_account_id IS NULL) THEN
                RAISE EXCEPTION 'charges without a host account exist: cannot downgrade below 0002';
            END IF;
        END $$""")
    op.execute(f"ALTER TABLE {S}.charges DROP CONSTRAINT ck_charges_payee")
    op.execute(f"ALTER TABLE {S}.charges ALTER COLUMN host_account_id SET NOT NULL")
    for column in ("splits", "transfer_group", "group_id"):
        op.execute(f"ALTER TABLE {S}.charges DROP COLUMN {column}")
