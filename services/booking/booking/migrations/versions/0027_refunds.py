"""A cancellation's refund gets tables of its own instead of the JSON blob `bookings.refund`.

- refunds: what the cancellation decided (one per cancelled booking): who cancelled, under
  which policy, why (`basis`), the amounts in minor units and their currency;
- refund_lines: the refund per line item of the quote, in the quote's order;
- refund_requests: one per payment the refund is taken from (the checkout payment, then the
  extra charges of applied amendments), with the id payments answers with and, once it
  succeeded, in which order (`succeeded_seq`) and when.

The saga's state (`refund_status`, `refund_failure`, `refunded_amount`) stays on the booking:
it is part of the booking's view and of its version, like the cancellation itself.

Backfill: every blob becomes its rows. Blobs written before a refund could be split over
several payments have no `refund_ids` (their one request is `refund_id`, when there was one)
and no `succeeded` (it succeeded when the booking says `refunded`); a backfilled request's
`succeeded_at` is the booking's `updated_at`, since the blob kept no times."""

from alembic import op

revision, down_revision = "0027", "0026"

S = "booking"
# Frozen copies of the domain's enumerations (booking.domain.refunds) at this revision.
CANCELLERS = "'guest', 'host', 'admin'"
BASES = "'grace', 'band', 'no_band', 'started', 'host_cancelled', 'force_majeure'"
# The blob, rebuilt from the rows (downgrade); jsonb orders keys itself, as it did when stored.
BLOB = f"""
    SELECT jsonb_build_object(
        'booking_id', r.booking_id::text, 'cancelled_by', r.cancelled_by,
        'policy', r.policy, 'currency', r.currency, 'basis', r.basis,
        'refund_bps', r.refund_bps, 'amount', r.amount,
        'lines', COALESCE((SELECT jsonb_agg(jsonb_build_object('code', l.code,
            'amount', l.amount) ORDER BY l.position) FROM {S}.refund_lines l
            WHERE l.booking_id = r.booking_id), '[]'::jsonb),
        'host_amount', r.host_amount, 'platform_fee', r.platform_fee, 'tax', r.tax,
        'host_penalty', r.host_penalty, 'refund_id', r.refund_id,
        'refund_ids', COALESCE((SELECT jsonb_agg(q.refund_id ORDER BY q.position)
            FROM {S}.refund_requests q WHERE q.booking_id = r.booking_id), '[]'::jsonb),
        'succeeded', COALESCE((SELECT jsonb_agg(q.refund_id ORDER BY q.succeeded_seq)
            FROM {S}.refund_requests q WHERE q.booking_id = r.booking_id
            AND q.succeeded_seq IS NOT NULL), '[]'::jsonb))
    FROM {S}.refunds r WHERE r.booking_id = bookings.booking_id"""


def _create_tables() -> None:
    op.execute(f"""
        CREATE TABLE {S}.refunds (
            booking_id    uuid PRIMARY KEY REFERENCES {S}.bookings (booking_id),
            refund_id     text NOT NULL UNIQUE,
            cancelled_by  text NOT NULL CONSTRAINT ck_refunds_cancelled_by
                CHECK (cancelled_by IN ({CANCELLERS})),
            policy        text NOT NULL,
            basis         text NOT NULL CONSTRAINT ck_refunds_basis CHECK (basis IN ({BASES})),
            refund_bps    integer NOT NULL CONSTRAINT ck_refunds_bps
                CHECK (refund_bps BETWEEN 0 AND 10000),
            amount        bigint NOT NULL CONSTRAINT ck_refunds_amount CHECK (amount >= 0),
            currency      text NOT NULL,
            host_amount   bigint NOT NULL,
            platform_fee  bigint NOT NULL,
            tax           bigint NOT NULL,
            host_penalty  bigint NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.refund_lines (
            booking_id  uuid NOT NULL REFERENCES {S}.refunds (booking_id) ON DELETE CASCADE,
            position    integer NOT NULL,
            code        text NOT NULL,
            amount      bigint NOT NULL,
            PRIMARY KEY (booking_id, position)
        )""")
    op.execute(f"""
        CREATE TABLE {S}.refund_requests (
            booking_id     uuid NOT NULL REFERENCES {S}.refunds (booking_id) ON DELETE CASCADE,
            position       integer NOT NULL,
            refund_id      text NOT NULL UNIQUE,
            succeeded_seq  integer,
            succeeded_at   timestamptz,
            PRIMARY KEY (booking_id, position),
            CONSTRAINT uq_refund_requests_succeeded UNIQUE (booking_id, succeeded_seq),
            CONSTRAINT ck_refund_requests_succeeded
                CHECK ((succeeded_seq IS NULL) = (succeeded_at IS NULL))
        )""")


def _backfill() -> None:
    op.execute(f"""
        INSERT INTO {S}.refunds (booking_id, refund_id, cancelled_by, policy, basis, refund_bps,
            amount, currency, host_amount, platform_fee, tax, host_penalty, created_at,
            updated_at)
        SELECT booking_id, refund->>'refund_id', refund->>'cancelled_by', refund->>'policy',
            refund->>'basis', (refund->>'refund_bps')::integer, (refund->>'amount')::bigint,
            COALESCE(refund->>'currency', currency), (refund->>'host_amount')::bigint,
            (refund->>'platform_fee')::bigint, (refund->>'tax')::bigint,
            COALESCE((refund->>'host_penalty')::bigint, 0),
            COALESCE(cancelled_at, updated_at), updated_at
        FROM {S}.bookings WHERE refund IS NOT NULL""")
    op.execute(f"""
        INSERT INTO {S}.refund_lines (booking_id, position, code, amount)
        SELECT b.booking_id, l.n - 1, l.line->>'code', (l.line->>'amount')::bigint
        FROM {S}.bookings b
        CROSS JOIN LATERAL jsonb_array_elements(b.refund->'lines') WITH ORDINALITY AS l(line, n)
        WHERE b.refund IS NOT NULL""")
    op.execute(f"""
        WITH blobs AS (
            SELECT b.booking_id, b.updated_at,
                CASE WHEN b.refund ? 'refund_ids' THEN b.refund->'refund_ids'
                     WHEN b.refund_status <> 'none' THEN jsonb_build_array(b.refund->'refund_id')
                     ELSE '[]'::jsonb END AS requested,
                CASE WHEN b.refund ? 'succeeded' THEN b.refund->'succeeded'
                     WHEN b.refund_status = 'refunded' THEN jsonb_build_array(b.refund->'refund_id')
                     ELSE '[]'::jsonb END AS succeeded
            FROM {S}.bookings b WHERE b.refund IS NOT NULL
        )
        INSERT INTO {S}.refund_requests (booking_id, position, refund_id, succeeded_seq,
            succeeded_at)
        SELECT blobs.booking_id, q.n - 1, q.refund_id, s.n,
            CASE WHEN s.n IS NOT NULL THEN blobs.updated_at END
        FROM blobs
        CROSS JOIN LATERAL jsonb_array_elements_text(blobs.requested)
            WITH ORDINALITY AS q(refund_id, n)
        LEFT JOIN LATERAL jsonb_array_elements_text(blobs.succeeded)
            WITH ORDINALITY AS s(refund_id, n) ON s.refund_id = q.refund_id""")


def upgrade() -> None:
    _create_tables()
    _backfill()
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN refund")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN refund jsonb")
    op.execute(
        f"UPDATE {S}.bookings SET refund = ({BLOB}) "
        f"WHERE booking_id IN (SELECT booking_id FROM {S}.refunds)"
    )
    for table in ("refund_requests", "refund_lines", "refunds"):
        op.execute(f"DROP TABLE {S}.{table}")
