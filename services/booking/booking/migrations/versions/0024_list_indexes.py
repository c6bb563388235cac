"""Indexes for the callers' lists (GET /v1/bookings, /v1/host/requests, /v1/checkout-groups):
each keyset page reads its order straight from an index, whatever the history.

Bookings are listed newest first per guest, per host and (staff) overall by
`(created_at, booking_id)`; the guest index replaces the one on `(guest_id, created_at)`,
whose every use it covers. A host's inbox is the few `awaiting_host` rows by
`(respond_by, booking_id)`: a partial index. A guest's groups by `(created_at, group_id)`
replace the index on `guest_id` alone. Invites keep theirs (`(guest_id, created_at)`,
`(host_id, created_at)`): the id only breaks ties."""

from alembic import op

revision, down_revision = "0024", "0023"

S = "booking"


def upgrade() -> None:
    op.execute(f"DROP INDEX {S}.ix_bookings_guest")
    op.execute(
        f"CREATE INDEX ix_bookings_guest_listed ON {S}.bookings (guest_id, created_at, booking_id)"
    )
    op.execute(
        f"CREATE INDEX ix_bookings_host_listed ON {S}.bookings (host_id, created_at, booking_id)"
    )
    op.execute(f"CREATE INDEX ix_bookings_listed ON {S}.bookings (created_at, booking_id)")
    op.execute(
        f"CREATE INDEX ix_bookings_host_inbox ON {S}.bookings (host_id, respond_by, booking_id) "
        "WHERE status = 'awaiting_host'"
    )
    op.execute(f"DROP INDEX {S}.ix_checkout_groups_guest")
    op.execute(
        f"CREATE INDEX ix_checkout_groups_guest_listed ON {S}.checkout_groups "
        "(guest_id, created_at, group_id)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {S}.ix_checkout_groups_guest_listed")
    op.execute(f"CREATE INDEX ix_checkout_groups_guest ON {S}.checkout_groups (guest_id)")
    op.execute(f"DROP INDEX {S}.ix_bookings_host_inbox")
    op.execute(f"DROP INDEX {S}.ix_bookings_listed")
    op.execute(f"DROP INDEX {S}.ix_bookings_host_listed")
    op.execute(f"DROP INDEX {S}.ix_bookings_guest_listed")
    op.execute(f"CREATE INDEX ix_bookings_guest ON {S}.bookings (guest_id, created_at)")
