"""Named units: the units register, convoys attached to units, and the row-level unit column.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``units`` holds the units an analyst has set or confirmed (`orbat units set`):
name, aliases, actor, parent, echelon, branch, notes and sources. Units only
named in sightings are not stored here: they are derived from their names on
read, so a new name never needs a write. ``unit_attachments`` ties a convoy to
a unit (`orbat units attach`). ``entries.unit`` is the unit a sighting row
names; revision 0003 adds it, so it is added here only when missing (a
database another orbat of the same release migrated may lack it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _entry_columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("entries")}


def upgrade() -> None:
    if "unit" not in _entry_columns():
        op.add_column("entries", sa.Column("unit", sa.Text))
    op.create_table(
        "units",
        sa.Column("unit_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("aliases", sa.Text, nullable=False),  # JSON list of strings
        sa.Column("actor", sa.Text),
        sa.Column("parent", sa.Text),  # a unit id; checked by orbat, not by a foreign key:
        # the parent may be a unit of a YAML file beside the database
        sa.Column("echelon", sa.Text),
        sa.Column("branch", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("sources", sa.Text, nullable=False),  # JSON list of strings
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "unit_attachments",
        sa.Column("convoy", sa.Text, primary_key=True),
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("attached_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("unit_attachments")
    op.drop_table("units")
    # entries.unit stays: it may belong to the other revision that adds it, and it holds field data
