"""orbat/schema.py: a fresh database made in one step is the database the migrations make."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from alembic import command

from orbat.schema import HEAD_REVISION, create_head_schema
from orbat.store import _alembic_config, _engine, latest_revision, open_store


def schema_of(url: str) -> dict:
    """Everything SQLAlchemy's inspection says about a database's tables, in a comparable form."""
    engine, _ = _engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            out = {}
            for table in sorted(inspector.get_table_names()):
                out[table] = {
                    "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                                for c in inspector.get_columns(table)],
                    "primary key": inspector.get_pk_constraint(table),
                    "foreign keys": sorted(inspector.get_foreign_keys(table), key=repr),
                    "indexes": sorted(inspector.get_indexes(table), key=lambda i: i["name"]),
                    "unique": sorted(inspector.get_unique_constraints(table), key=repr),
                    "checks": sorted(inspector.get_check_constraints(table), key=repr),
                }
            out["alembic_version rows"] = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
            return out
    finally:
        engine.dispose()


def _migrate(url: str, revision: str = "head", down: bool = False) -> None:
    engine, _ = _engine(url)
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic_config(conn), revision)
    engine.dispose()


def _second_database(url: str) -> str:
    """Another fresh database beside ``url`` (a second file, or a second PostgreSQL schema-less database)."""
    if url.startswith("sqlite"):
        return url.replace("orbat.db", "migrated.db")
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_m{uuid.uuid4().hex[:6]}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


def test_the_head_schema_is_the_newest_migration():
    assert HEAD_REVISION == latest_revision(), (
        "a migration was added: bring orbat/schema.py to it (fresh databases are migrated until then)")


def test_a_fresh_database_is_what_the_migrations_make(store_url):
    with open_store(store_url) as store:  # fresh: created from orbat/schema.py
        assert store.revision() == HEAD_REVISION
    migrated = _second_database(store_url)
    _migrate(migrated)
    assert schema_of(store_url) == schema_of(migrated)
    assert schema_of(store_url)["alembic_version rows"] == [(HEAD_REVISION,)]


def test_migrations_apply_to_a_database_made_from_the_schema(store_url, mali_csv, cli):
    assert cli("import", mali_csv, "--db", store_url).exit_code == 0
    made = schema_of(store_url)
    _migrate(store_url, "0003", down=True)
    assert schema_of(store_url)["alembic_version rows"] == [("0003",)]
    with open_store(store_url) as store:  # upgraded again by migration
        assert store.revision() == HEAD_REVISION
        assert store.counts()["sightings"] > 0
    assert schema_of(store_url) == made


def test_create_head_schema_writes_the_revision_alembic_reads(tmp_path):
    from alembic.runtime.migration import MigrationContext

    engine, _ = _engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        assert create_head_schema(conn) == HEAD_REVISION
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
    engine.dispose()


def test_a_fresh_database_opens_without_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = ("import sys\nfrom orbat.store import open_store\n"
            f"with open_store({url!r}) as store:\n    print(store.revision())\n"
            "print(sorted(m for m in ('alembic', 'mako') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [HEAD_REVISION, "[]"]


def test_a_bulk_first_import_keeps_the_schema(store_url, mali_csv, cli, monkeypatch):
    """SQLite's secondary indexes are set aside during a big first import: they come back, whole."""
    import orbat.bulkload

    monkeypatch.setattr(orbat.bulkload, "BULK_INDEX_ROWS", 1)
    with open_store(store_url):
        pass
    before = schema_of(store_url)
    assert cli("import", mali_csv, "--db", store_url).exit_code == 0
    assert schema_of(store_url) == before
    if store_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store_url.split(":///", 1)[1]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            plan = conn.execute("EXPLAIN QUERY PLAN SELECT * FROM entries WHERE actor = 'x'").fetchall()
            assert "ix_entries_actor" in str(plan)
