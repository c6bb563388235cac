"""The payout queue, reserves, host settings, booking start times and the durable timers.

- `payout_entries`: one per payable (and one per reserve released); `state` moves only by the
  domain's transition table, with compare-and-set on (`state`, `version`); `holds` keeps every
  reason; `netted` is what the entry recovered of what the host owed.
- `payout_entry_history`: the audit trail (actor, note, time) of every transition.
- `host_settings`: per host: payout delay override, risk tier, whether it can be paid. Its row
  is also the lock that serialises netting of the host's receivable.
- `booking_starts`: when each booking starts (booking's checkout facts): the due time's base.
- `reserve_policies` (versioned), `reserve_assignments` (platform / tier / host), `reserves`.
- `scheduled_jobs`: eventkit's durable timers (payout due, reserve release, transfer retry)."""

from alembic import op

from eventkit.scheduler import scheduler_table

revision, down_revision = "0004", "0003"

S = "finance"
STATES = "'scheduled', 'held', 'releasable', 'released', 'transferred', 'failed', 'reversed'"


def upgrade() -> None:
    _host_tables()
    _payout_entries()
    op.execute(f"""
        CREATE TABLE {S}.reserves (
            reserve_id      text PRIMARY KEY,
            entry_id        text NOT NULL REFERENCES {S}.payout_entries (entry_id),
            host_account_id text NOT NULL,
            currency        text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_reserves_amount CHECK (amount > 0),
            policy_id       text NOT NULL,
            policy_version  integer NOT NULL,
            release_at      timestamptz NOT NULL,
            state           text NOT NULL DEFAULT 'held' CONSTRAINT ck_reserves_state
                CHECK (state IN ('held', 'released')),
            released_at     timestamptz
        )""")
    op.execute(f"CREATE INDEX ix_reserves_host ON {S}.reserves (host_account_id, currency, state)")
    for statement in scheduler_table(S):
        op.execute(statement)


def _host_tables() -> None:
    """What finance keeps of bookings and hosts: starts, settings, reserve policies and assignments."""
    op.execute(f"ALTER TABLE {S}.payables ADD COLUMN reserved bigint NOT NULL DEFAULT 0")
    op.execute(f"ALTER TABLE {S}.payables ADD COLUMN netted bigint NOT NULL DEFAULT 0")
    op.execute(f"""
        CREATE TABLE {S}.booking_starts (
            booking_id      text PRIMARY KEY,
            group_id        text,
            host_account_id text NOT NULL,
            starts_at       timestamptz NOT NULL,
            received_at     timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.host_settings (
            host_account_id      text PRIMARY KEY,
            payout_delay_seconds integer CONSTRAINT ck_host_settings_delay
                CHECK (payout_delay_seconds >= 0),
            risk_tier            text,
            payouts_enabled      boolean NOT NULL DEFAULT true,
            updated_by           text,
            updated_at           timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.reserve_policies (
            policy_id    text NOT NULL,
            version      integer NOT NULL,
            kind         text NOT NULL CONSTRAINT ck_reserve_policies_kind
                CHECK (kind IN ('rolling_percent', 'fixed', 'none')),
            percent_bps  integer NOT NULL DEFAULT 0,
            hold_days    integer NOT NULL DEFAULT 0,
            fixed_amount bigint NOT NULL DEFAULT 0,
            currency     text,
            created_by   text NOT NULL,
            note         text NOT NULL DEFAULT '',
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (policy_id, version)
        )""")
    op.execute(f"""
        CREATE TABLE {S}.reserve_assignments (
            scope       text NOT NULL CONSTRAINT ck_reserve_assignments_scope
                CHECK (scope IN ('platform', 'tier', 'host')),
            scope_key   text NOT NULL,
            policy_id   text NOT NULL,
            assigned_by text NOT NULL,
            assigned_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, scope_key)
        )""")


def _payout_entries() -> None:
    """The payout queue's entries and their history."""
    op.execute(f"""
        CREATE TABLE {S}.payout_entries (
            entry_id        text PRIMARY KEY,
            kind            text NOT NULL DEFAULT 'payable' CONSTRAINT ck_payout_entries_kind
                CHECK (kind IN ('payable', 'reserve')),
            payment_id      text NOT NULL,
            booking_id      text NOT NULL,
            group_id        text,
            purpose         text,
            host_account_id text NOT NULL,
            currency        text NOT NULL,
            gross           bigint NOT NULL,
            reserve_amount  bigint NOT NULL DEFAULT 0,
            policy_id       text,
            policy_version  integer,
            netted          bigint NOT NULL DEFAULT 0,
            amount          bigint,
            state           text NOT NULL CONSTRAINT ck_payout_entries_state
                CHECK (state IN ({STATES})),
            holds           text[] NOT NULL DEFAULT '{{}}',
            due_at          timestamptz,
            release_id      text,
            transfer_id     text,
            failure_code    text,
            retries         integer NOT NULL DEFAULT 0,
            version         integer NOT NULL DEFAULT 0,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (payment_id, booking_id) REFERENCES {S}.payables (payment_id, booking_id)
        )""")
    op.execute(f"CREATE INDEX ix_payout_entries_state_due ON {S}.payout_entries (state, due_at)")
    op.execute(f"CREATE INDEX ix_payout_entries_host ON {S}.payout_entries (host_account_id)")
    op.execute(f"CREATE INDEX ix_payout_entries_booking ON {S}.payout_entries (booking_id)")
    op.execute(f"CREATE UNIQUE INDEX uq_payout_entries_release ON {S}.payout_entries (release_id)")
    op.execute(f"""
        CREATE TABLE {S}.payout_entry_history (
            id         bigserial PRIMARY KEY,
            entry_id   text NOT NULL REFERENCES {S}.payout_entries (entry_id),
            from_state text,
            to_state   text NOT NULL,
            trigger    text NOT NULL,
            reason     text,
            actor      text NOT NULL,
            note       text NOT NULL DEFAULT '',
            at         timestamptz NOT NULL
        )""")
    op.execute(f"CREATE INDEX ix_payout_entry_history ON {S}.payout_entry_history (entry_id, id)")


def downgrade() -> None:
    for table in (
        "scheduled_jobs",
        "reserves",
        "payout_entry_history",
        "payout_entries",
        "reserve_assignments",
        "reserve_policies",
        "host_settings",
        "booking_starts",
    ):
        op.execute(f"DROP TABLE {S}.{table}")
    op.execute(f"ALTER TABLE {S}.payables DROP COLUMN netted")
    op.execute(f"ALTER TABLE {S}.payables DROP COLUMN reserved")
