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

The same tables as SQLite's DDL text (:data:`SQLITE_DDL`, the statements
``create_all`` sends to SQLite, checked by the tests) let
:mod:`orbat.sqlitefile` make a fresh SQLite file without importing
SQLAlchemy; the SQLAlchemy tables are built when first asked for
(``orbat.schema.metadata``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

#: The migration these tables are the state of.
HEAD_REVISION = "0005"

#: What :func:`create_head_schema` sends to SQLite, statement by statement: the text ``create_all``
#: sends for the tables below, in one fixed order (tests/test_bulkload.py checks it), so that a
#: new file's ``sqlite_master`` holds the same SQL whichever module made it.
SQLITE_DDL: tuple[str, ...] = (
    ("\n"
     "CREATE TABLE sightings (\n"
     "\tsighting_id TEXT NOT NULL, \n"
     "\tconvoy TEXT, \n"
     "\tobserved_at TEXT NOT NULL, \n"
     "\tplace TEXT, \n"
     "\tlat FLOAT, \n"
     "\tlon FLOAT, \n"
     "\tactor TEXT, \n"
     "\tsource TEXT, \n"
     "\treliability TEXT, \n"
     "\tcredibility INTEGER, \n"
     "\timported_from TEXT, \n"
     "\tcreated_at TEXT NOT NULL, \n"
     "\tupdated_at TEXT NOT NULL, \n"
     "\tarchived_at TEXT, \n"
     "\tPRIMARY KEY (sighting_id)\n"
     ")\n"
     "\n"),
    "CREATE INDEX ix_sightings_convoy ON sightings (convoy)",
    "CREATE INDEX ix_sightings_observed_at ON sightings (observed_at)",
    ("\n"
     "CREATE TABLE sighting_history (\n"
     "\thistory_id INTEGER NOT NULL, \n"
     "\tsighting_id TEXT NOT NULL, \n"
     "\tvalid_from TEXT NOT NULL, \n"
     "\timported_from TEXT, \n"
     "\treplaced_at TEXT NOT NULL, \n"
     "\treplaced_by TEXT, \n"
     "\tsnapshot TEXT NOT NULL, \n"
     "\tPRIMARY KEY (history_id)\n"
     ")\n"
     "\n"),
    "CREATE INDEX ix_sighting_history_sighting_id ON sighting_history (sighting_id)",
    ("\n"
     "CREATE TABLE imports (\n"
     "\timport_id INTEGER NOT NULL, \n"
     "\tsource_file TEXT, \n"
     "\timported_at TEXT NOT NULL, \n"
     "\trows INTEGER NOT NULL, \n"
     "\tadded INTEGER NOT NULL, \n"
     "\tupdated INTEGER NOT NULL, \n"
     "\tunchanged INTEGER NOT NULL, \n"
     "\tPRIMARY KEY (import_id)\n"
     ")\n"
     "\n"),
    ("\n"
     "CREATE TABLE units (\n"
     "\tunit_id TEXT NOT NULL, \n"
     "\tname TEXT NOT NULL, \n"
     "\taliases TEXT NOT NULL, \n"
     "\tactor TEXT, \n"
     "\tparent TEXT, \n"
     "\techelon TEXT, \n"
     "\tbranch TEXT, \n"
     "\tnotes TEXT, \n"
     "\tsources TEXT NOT NULL, \n"
     "\tupdated_at TEXT NOT NULL, \n"
     "\tPRIMARY KEY (unit_id)\n"
     ")\n"
     "\n"),
    ("\n"
     "CREATE TABLE unit_attachments (\n"
     "\tconvoy TEXT NOT NULL, \n"
     "\tunit_id TEXT NOT NULL, \n"
     "\tattached_at TEXT NOT NULL, \n"
     "\tPRIMARY KEY (convoy)\n"
     ")\n"
     "\n"),
    ("\n"
     "CREATE TABLE alembic_version (\n"
     "\tversion_num VARCHAR(32) NOT NULL, \n"
     "\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"
     ")\n"
     "\n"),
    ("\n"
     "CREATE TABLE entries (\n"
     "\tsighting_id TEXT NOT NULL, \n"
     "\tequipment_id TEXT NOT NULL, \n"
     "\tequipment TEXT NOT NULL, \n"
     "\tcount INTEGER NOT NULL, \n"
     "\tcount_max INTEGER, \n"
     "\tmode TEXT NOT NULL, \n"
     "\tnotes TEXT, \n"
     "\tevent TEXT NOT NULL, \n"
     "\tentry_order INTEGER NOT NULL, \n"
     "\tcaptor TEXT, \n"
     "\tactor TEXT DEFAULT '' NOT NULL, \n"
     "\tunit TEXT, \n"
     "\ttags TEXT, \n"
     "\tmarkings TEXT, \n"
     "\tCONSTRAINT pk_entries PRIMARY KEY (sighting_id, equipment_id, mode, event, actor), \n"
     "\tFOREIGN KEY(sighting_id) REFERENCES sightings (sighting_id) ON DELETE CASCADE\n"
     ")\n"
     "\n"),
    "CREATE INDEX ix_entries_actor ON entries (actor)",
)
#: The row that stamps a fresh database (``alembic_version``), in SQLite's form.
SQLITE_STAMP = "INSERT INTO alembic_version (version_num) VALUES (?)"

_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*=\s*(None|\"[^\"]+\"|'[^']+')\s*$", re.MULTILINE)


@lru_cache(maxsize=1)
def scanned_revisions() -> tuple[frozenset[str], str] | None:
    """The revisions of the migration scripts and their one head, read from the scripts' text.

    Opening an up-to-date database needs only these two facts; importing
    alembic for them (and the template engine it pulls in) was a third of
    the start-up of a command. None when a script does not read as a plain
    ``revision = "x"`` / ``down_revision = "y"`` chain: alembic decides then.
    """
    revisions: dict[str, str | None] = {}
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found:
            return None
        revisions[found["revision"][1:-1]] = None if found["down_revision"] == "None" else found["down_revision"][1:-1]
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1 or not set(filter(None, revisions.values())) <= set(revisions):
        return None
    return frozenset(revisions), heads.pop()


def create_sqlite_head_schema(conn: Any) -> str:
    """:func:`create_head_schema` on a ``sqlite3`` connection, in the caller's transaction; returns the revision."""
    for statement in SQLITE_DDL:
        conn.execute(statement)
    conn.execute(SQLITE_STAMP, (HEAD_REVISION,))
    return HEAD_REVISION


@lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    """The SQLAlchemy tables (SQLAlchemy is imported here, on first use)."""
    import sqlalchemy as sa

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
    return {"metadata": metadata, "alembic_version": alembic_version}


def __getattr__(name: str) -> Any:
    # ``orbat.schema.metadata`` and ``orbat.schema.alembic_version``, built when first asked for
    if name in ("metadata", "alembic_version"):
        return _tables()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_head_schema(conn: Any) -> str:
    """Create every table at :data:`HEAD_REVISION` on an empty database and stamp it; returns the revision.

    Runs in the caller's transaction (the one holding the database's write
    lock), so a concurrent opener sees either nothing or the whole schema.
    On SQLite the statements are :data:`SQLITE_DDL`, as :mod:`orbat.sqlitefile`
    sends them (``create_all`` emits a table's indexes in the order of a set,
    which differs from one process to the next).
    """
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(SQLITE_STAMP, (HEAD_REVISION,))
        return HEAD_REVISION
    tables = _tables()
    tables["metadata"].create_all(conn, checkfirst=False)
    conn.execute(tables["alembic_version"].insert().values(version_num=HEAD_REVISION))
    return HEAD_REVISION
