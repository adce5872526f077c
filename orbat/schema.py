"""The database schema at the newest migration, as SQLAlchemy tables: a fresh database in one step.

The migrations in ``orbat/migrations`` stay the schema's history and the
only way an existing database changes. A *fresh* database is made from these
tables instead (``create_all``, then the ``alembic_version`` row alembic's
``stamp`` would write: Alembic's own recipe), which spares a new database
file the import of alembic and its template engine (a fifth of a small
``orbat import``). ``tests/test_schema.py`` checks, with SQLAlchemy's
inspection on SQLite and PostgreSQL, that these tables are exactly what the
migration chain makes, and that later migrations apply to a database made
here. When a new migration is added, :data:`HEAD_REVISION` no longer matches
the chain's head and fresh databases are migrated again until this module is
brought up to date (the test says so).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: The migration these tables are the state of.
HEAD_REVISION = "0005"

metadata = sa.MetaData()

# Column order is that of the migrated tables (columns added by later revisions come last).
sa.Table(
    "sightings", metadata,
    sa.Column("sighting_id", sa.Text, primary_key=True),
    sa.Column("convoy", sa.Text),
    sa.Column("observed_at", sa.Text, nullable=False),
    sa.Column("place", sa.Text),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("actor", sa.Text),  # emptied by 0003 (actors moved to entries), kept for downgrades
    sa.Column("source", sa.Text),
    sa.Column("reliability", sa.Text),
    sa.Column("credibility", sa.Integer),
    sa.Column("imported_from", sa.Text),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("archived_at", sa.Text),
    sa.Index("ix_sightings_convoy", "convoy"),
    sa.Index("ix_sightings_observed_at", "observed_at"),
)

sa.Table(
    "entries", metadata,
    sa.Column("sighting_id", sa.Text, sa.ForeignKey("sightings.sighting_id", ondelete="CASCADE"), nullable=False),
    sa.Column("equipment_id", sa.Text, nullable=False),
    sa.Column("equipment", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("count_max", sa.Integer),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("entry_order", sa.Integer, nullable=False),
    sa.Column("captor", sa.Text),
    sa.Column("actor", sa.Text, nullable=False, server_default=""),
    sa.Column("unit", sa.Text),
    sa.Column("tags", sa.Text),
    sa.Column("markings", sa.Text),
    sa.PrimaryKeyConstraint("sighting_id", "equipment_id", "mode", "event", "actor", name="pk_entries"),
    sa.Index("ix_entries_actor", "actor"),
)

sa.Table(
    "sighting_history", metadata,
    sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sighting_id", sa.Text, nullable=False),
    sa.Column("valid_from", sa.Text, nullable=False),
    sa.Column("imported_from", sa.Text),
    sa.Column("replaced_at", sa.Text, nullable=False),
    sa.Column("replaced_by", sa.Text),
    sa.Column("snapshot", sa.Text, nullable=False),
    sa.Index("ix_sighting_history_sighting_id", "sighting_id"),
)

sa.Table(
    "imports", metadata,
    sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_file", sa.Text),
    sa.Column("imported_at", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
)

sa.Table(
    "units", metadata,
    sa.Column("unit_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("aliases", sa.Text, nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("parent", sa.Text),
    sa.Column("echelon", sa.Text),
    sa.Column("branch", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("sources", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)

sa.Table(
    "unit_attachments", metadata,
    sa.Column("convoy", sa.Text, primary_key=True),
    sa.Column("unit_id", sa.Text, nullable=False),
    sa.Column("attached_at", sa.Text, nullable=False),
)

#: Alembic's own table, as alembic creates it (``alembic.runtime.migration``), so that
#: `orbat db upgrade` and later migrations read the revision from it as from any other.
alembic_version = sa.Table(
    "alembic_version", metadata,
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_head_schema(conn: Connection) -> str:
    """Create every table at :data:`HEAD_REVISION` on an empty database and stamp it; returns the revision.

    Runs in the caller's transaction (the one holding the database's write
    lock), so a concurrent opener sees either nothing or the whole schema.
    """
    metadata.create_all(conn, checkfirst=False)
    conn.execute(alembic_version.insert().values(version_num=HEAD_REVISION))
    return HEAD_REVISION
