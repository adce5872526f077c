"""Initial schema: sightings, their equipment entries, and sighting history.

Revision ID: 0001
Revises:
Create Date: 2025-01-20

Portable SQL only (TEXT, INTEGER, FLOAT): the same migration runs on SQLite
and PostgreSQL. Timestamps and observation times are ISO 8601 TEXT in UTC,
as the interchange format writes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sightings",
        sa.Column("sighting_id", sa.Text, primary_key=True),
        sa.Column("convoy", sa.Text),
        sa.Column("observed_at", sa.Text, nullable=False),
        sa.Column("place", sa.Text),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("actor", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("reliability", sa.Text),
        sa.Column("credibility", sa.Integer),
        # the file (or other origin) the current version was imported from
        sa.Column("imported_from", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        # set by `orbat sightings delete`: hidden, never dropped, restorable
        sa.Column("archived_at", sa.Text),
    )
    op.create_index("ix_sightings_convoy", "sightings", ["convoy"])
    op.create_index("ix_sightings_actor", "sightings", ["actor"])
    op.create_index("ix_sightings_observed_at", "sightings", ["observed_at"])

    op.create_table(
        "entries",
        sa.Column(
            "sighting_id",
            sa.Text,
            sa.ForeignKey("sightings.sighting_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("equipment_id", sa.Text, nullable=False),
        sa.Column("equipment", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("count_max", sa.Integer),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("event", sa.Text, nullable=False),
        # the row order of the file, so a sighting reads back as it was written
        sa.Column("entry_order", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("sighting_id", "equipment_id", name="pk_entries"),
    )

    op.create_table(
        "sighting_history",
        sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sighting_id", sa.Text, nullable=False),
        # when the old version was written, and from which file
        sa.Column("valid_from", sa.Text, nullable=False),
        sa.Column("imported_from", sa.Text),
        # when it was replaced, and by which file
        sa.Column("replaced_at", sa.Text, nullable=False),
        sa.Column("replaced_by", sa.Text),
        # the whole old version (fields + entries) as JSON in the nested form
        sa.Column("snapshot", sa.Text, nullable=False),
    )
    op.create_index("ix_sighting_history_sighting_id", "sighting_history", ["sighting_id"])


def downgrade() -> None:
    op.drop_table("sighting_history")
    op.drop_table("entries")
    op.drop_table("sightings")
