"""Captured equipment names its captor; a log of import runs.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-24

``entries.captor`` records who captured a vehicle (event ``captured``), which
the inventory needs to move it between ledgers. ``imports`` logs every import
run (file, time, counts) for ``orbat db status`` and audit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("captor", sa.Text))
    op.create_table(
        "imports",
        sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_file", sa.Text),
        sa.Column("imported_at", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("imports")
    # SQLite cannot drop a column in place: batch mode copies the table
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("captor")
