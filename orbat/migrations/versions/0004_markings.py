"""Identifiers seen on an entry's vehicles: ``entries.markings``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

``markings`` holds the serials, tactical numbers or codes read on the
vehicles of one entry, ``;``-separated (``TZ-03D;TZ-06D``), for the fleet
estimates of ``orbat fleet``. A nullable column added in place: existing
rows keep everything and read back with no markings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("markings", sa.Text))


def downgrade() -> None:
    # SQLite cannot drop a column in place: batch mode copies the table
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("markings")
