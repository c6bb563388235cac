"""Dropbox Sign adapter's request map (it has no idempotency keys of its own).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from alembic import op

from booking.adapters.esign.dropbox_sign import dropbox_sign_tables, drop_dropbox_sign_tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in dropbox_sign_tables("booking"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_dropbox_sign_tables("booking"):
        op.execute(statement)
