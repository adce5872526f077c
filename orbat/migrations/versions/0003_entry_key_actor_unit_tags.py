"""Entries keyed by type, mode, event and actor; actor, unit and tags per entry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

One sighting may show driven and carried vehicles of one type, one tank
destroyed and one captured, or two actors side by side (a mixed column), so
the key of ``entries`` grows from ``(sighting_id, equipment_id)`` to
``(sighting_id, equipment_id, mode, event, actor)``. ``actor`` moves from
the sighting to its entries (every entry takes its sighting's actor; a
sighting without one stores ``""``, as a key column cannot be NULL);
``sightings.actor`` is kept but emptied, so nothing is lost and an older
orbat's downgrade can copy it back. ``unit`` (the formation, as written) and
``tags`` (comma-separated) are new entry columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NEW_KEY = ["sighting_id", "equipment_id", "mode", "event", "actor"]
_OLD_KEY = ["sighting_id", "equipment_id"]


def _rekey(key: list[str], drop: tuple[str, ...] = ()) -> None:
    """Give ``entries`` a new primary key, keeping every row (and leaving out the columns ``drop``).

    PostgreSQL changes the constraint in place. SQLite cannot: the table is
    copied into one made from the reflected table, with every column, foreign
    key and index it has (whatever other revisions added) and the new key,
    which then takes its name.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint("pk_entries", "entries", type_="primary")
        op.create_primary_key("pk_entries", "entries", key)
        for column in drop:
            op.drop_column("entries", column)
        return
    current = sa.Table("entries", sa.MetaData(), autoload_with=bind)
    columns = []
    for column in current.columns:
        if column.name in drop:
            continue
        keys = [sa.ForeignKey(fk.target_fullname, ondelete=fk.ondelete) for fk in column.foreign_keys]
        columns.append(sa.Column(column.name, column.type, *keys, nullable=column.nullable,
                                 server_default=column.server_default))
    indexes = [ix for ix in sa.inspect(bind).get_indexes("entries") if not set(ix["column_names"]) & set(drop)]
    op.create_table("entries_rekeyed", *columns, sa.PrimaryKeyConstraint(*key, name="pk_entries"))
    names = ", ".join(c.name for c in columns)
    op.execute(f"INSERT INTO entries_rekeyed ({names}) SELECT {names} FROM entries")
    op.drop_table("entries")
    op.rename_table("entries_rekeyed", "entries")
    for ix in indexes:
        op.create_index(ix["name"], "entries", ix["column_names"], unique=bool(ix.get("unique")))


def upgrade() -> None:
    op.add_column("entries", sa.Column("actor", sa.Text, nullable=False, server_default=""))
    op.add_column("entries", sa.Column("unit", sa.Text))
    op.add_column("entries", sa.Column("tags", sa.Text))
    op.execute("UPDATE entries SET actor = COALESCE((SELECT s.actor FROM sightings s "
               "WHERE s.sighting_id = entries.sighting_id), '')")
    op.execute("UPDATE sightings SET actor = NULL")
    op.drop_index("ix_sightings_actor", table_name="sightings")
    _rekey(_NEW_KEY)
    op.create_index("ix_entries_actor", "entries", ["actor"])


def downgrade() -> None:
    # The old key cannot hold two entries of one type in a sighting: the downgrade refuses
    # rather than drop one of them.
    clash = op.get_bind().execute(sa.text(
        "SELECT sighting_id, equipment_id FROM entries GROUP BY sighting_id, equipment_id "
        "HAVING COUNT(*) > 1 LIMIT 1")).first()
    if clash is not None:
        raise RuntimeError(f"cannot downgrade below 0003: sighting {clash[0]!r} has several entries of "
                           f"{clash[1]!r} (different mode, event or actor), which the old key cannot hold")
    op.execute("UPDATE sightings SET actor = (SELECT NULLIF(MIN(e.actor), '') FROM entries e "
               "WHERE e.sighting_id = sightings.sighting_id)")
    op.drop_index("ix_entries_actor", table_name="entries")
    op.create_index("ix_sightings_actor", "sightings", ["actor"])
    _rekey(_OLD_KEY, drop=("tags", "unit", "actor"))
