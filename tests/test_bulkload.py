"""orbat/bulkload.py and orbat/sqlitefile.py: `orbat import` into SQLite through sqlite3 alone.

The lean path must leave the database the store leaves: the same schema
text, rows, history, import log and revision, on a new file, a re-import, an
import into a file holding other data, a changed file and a failed import.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _frames import mali_frame

from orbat import bulkload
from orbat.errors import DatabaseError, UsageError
from orbat.schema import HEAD_REVISION, SQLITE_DDL, SQLITE_STAMP
from orbat.store import latest_revision, open_store

WORKER = Path(__file__).resolve().parent / "_worker.py"
FIXED_NOW = "2026-01-02T03:04:05.000006Z"


def sql_dump(path: Path) -> list[str]:
    """``sqlite3 FILE .dump``, as Python's sqlite3 writes it: schema text and every row."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def generated(n: int, variant: int = 0, prefix: str = "gen") -> pd.DataFrame:
    from _worker import frame

    out = frame(prefix, n, 5, variant)
    if variant:  # a changed file: new notes, a unit, a second type for some sightings
        out.loc[out.index % 3 == 0, "notes"] = f"seen again {variant}"
        out.loc[out.index % 4 == 0, "unit"] = "1st Bn"
    return out


def store_import(url: str, frame: pd.DataFrame, source: str) -> object:
    with open_store(url) as store:
        return store.import_frame(frame, source=source)


def lean_import(url: str, frame: pd.DataFrame, source: str) -> object:
    return bulkload.import_frame(url, frame, source=source)


def run_steps(tmp_path: Path, name: str, importer, steps, monkeypatch) -> tuple[list[str], list]:
    """Apply ``steps`` (frame, source) with ``importer`` to a new file; its dump and what each step returned."""
    monkeypatch.setattr(bulkload, "_now", lambda: FIXED_NOW)  # the same time stamps on both paths
    url = f"sqlite:///{tmp_path / name}"
    results = []
    for frame, source in steps:
        try:
            results.append(importer(url, frame, source))
        except (UsageError, DatabaseError) as exc:
            results.append(f"{type(exc).__name__}: {exc.message}")
    return sql_dump(tmp_path / name), results


def duplicated_rows() -> pd.DataFrame:
    frame = mali_frame()
    return pd.concat([frame, frame.iloc[:1]], ignore_index=True)


SCENARIOS = {
    "a new file": [(generated(40), "a.csv")],
    "the same file again": [(generated(40), "a.csv"), (generated(40), "a.csv")],
    "into a file holding data": [(mali_frame(), "sightings.csv"), (generated(60), "b.csv")],
    "a changed file": [(generated(40), "a.csv"), (generated(50, variant=1), "a2.csv"),
                       (generated(30, variant=2), "a3.csv")],
    "a failed import": [(mali_frame(), "sightings.csv"), (duplicated_rows(), "bad.csv")],
    "a failed first import": [(duplicated_rows(), "bad.csv"), (mali_frame(), "sightings.csv")],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_lean_path_writes_the_database_the_store_writes(tmp_path, monkeypatch, scenario):
    steps = SCENARIOS[scenario]
    by_store, said_store = run_steps(tmp_path, "store.db", store_import, steps, monkeypatch)
    by_loader, said_loader = run_steps(tmp_path, "lean.db", lean_import, steps, monkeypatch)
    assert by_loader == by_store
    assert said_loader == said_store
    assert any(line.startswith("INSERT INTO \"entries\"") for line in by_loader)


def test_a_failed_import_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    lean_import(url, mali_frame(), "sightings.csv")
    before = sql_dump(tmp_path / "orbat.db")
    with pytest.raises(UsageError, match="twice"):
        lean_import(url, duplicated_rows(), "bad.csv")
    assert sql_dump(tmp_path / "orbat.db") == before


def test_the_sqlite_ddl_is_what_create_all_sends():
    """orbat/schema.py's SQLITE_DDL is the text create_all sends for its tables, in an order fixed once."""
    import sqlalchemy as sa

    from orbat import schema

    engine = sa.create_engine("sqlite://")
    sent: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda conn, cur, statement, *rest: sent.append(statement))
    with engine.begin() as conn:
        schema.metadata.create_all(conn, checkfirst=False)
    assert sorted(sent) == sorted(SQLITE_DDL)
    tables = [s.split("TABLE ", 1)[1].split(" ", 1)[0] for s in SQLITE_DDL if "CREATE TABLE" in s]
    assert tables == [s.split("TABLE ", 1)[1].split(" ", 1)[0] for s in sent if "CREATE TABLE" in s]
    for at, statement in enumerate(SQLITE_DDL):  # every index after its table
        if statement.startswith("CREATE INDEX"):
            table = statement.split(" ON ", 1)[1].split(" ", 1)[0]
            assert any(f"CREATE TABLE {table} " in s for s in SQLITE_DDL[:at])
    assert SQLITE_STAMP == str(schema.alembic_version.insert().compile(dialect=engine.dialect))


def test_both_paths_make_a_new_file_with_the_same_schema_text(tmp_path):
    import sqlalchemy as sa

    from orbat.schema import create_head_schema, create_sqlite_head_schema

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        assert create_head_schema(conn) == HEAD_REVISION
    engine.dispose()
    with sqlite3.connect(tmp_path / "lean.db", isolation_level=None) as conn:
        assert create_sqlite_head_schema(conn) == HEAD_REVISION
    assert sql_dump(tmp_path / "lean.db") == sql_dump(tmp_path / "store.db")


def test_orbat_import_into_sqlite_loads_no_sqlalchemy(tmp_path, mali_csv):
    db = tmp_path / "orbat.db"
    code = ("import sys\nfrom orbat.__main__ import main\n"
            f"sys.argv = ['orbat', 'import', {str(mali_csv)!r}, '--db', {str(db)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "2 sightings added" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"
    with open_store(f"sqlite:///{db}") as store:
        assert store.revision() == latest_revision()
        assert store.counts()["entries"] == 18


def test_an_old_database_is_upgraded_by_orbat_import(tmp_path, cli, mali_csv):
    from test_migrations import make_revision_1_database

    url = make_revision_1_database(tmp_path / "old.db")
    result = cli("import", mali_csv, "--db", url)
    assert result.exit_code == 0, result.output
    assert "0 sightings added" in result.output
    with open_store(url) as store:
        assert store.revision() == latest_revision()


def test_what_the_lean_path_does_not_open_the_store_reports(tmp_path, cli, mali_csv):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, but long enough to be read as one" * 20)
    result = cli("import", mali_csv, "--db", junk)
    assert result.exit_code == 1
    assert "cannot open the database: file is not a database" in result.output

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE sightings (x)")
    result = cli("import", mali_csv, "--db", foreign)
    assert result.exit_code == 1
    assert "has a sightings table but no orbat schema revision" in result.output

    result = cli("import", mali_csv, "--db", tmp_path / "no" / "such" / "folder.db")
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_a_newer_revision_is_refused_by_orbat_import(tmp_path, cli, mali_csv):
    db = tmp_path / "orbat.db"
    assert cli("import", mali_csv, "--db", db).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = sql_dump(db)
    result = cli("import", mali_csv, "--db", db)
    assert result.exit_code == 1
    assert "'9999'" in result.output and "newer orbat" in result.output
    assert sql_dump(db) == before


@pytest.mark.parametrize("url", ["sqlite:///x.db?mode=ro", "sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:x.db", "postgresql+psycopg://u@h/db", "sqlite:///a%20b.db",
                                 "sqlite:///~/x.db"])
def test_urls_the_lean_path_leaves_to_the_store(url):
    from orbat.sqlitefile import lean_path

    assert lean_path(url) is None
    assert lean_path("sqlite:///some/where/orbat.db") == "some/where/orbat.db"


def test_the_import_reaches_postgresql_through_the_store(store_url, stored):
    """The entry point `orbat import` uses: PostgreSQL (and SQLite) read back what went in."""
    frame = mali_frame()
    summary = bulkload.import_frame(store_url, frame, source="sightings.csv")
    assert (summary.added, summary.updated, summary.unchanged) == (2, 0, 0)
    again = bulkload.import_frame(store_url, frame, source="sightings.csv")
    assert (again.added, again.unchanged) == (0, 2)
    back = stored(store_url)
    assert len(back) == len(frame)
    with open_store(store_url) as store:
        assert [i["added"] for i in store.imports()] == [2, 0]


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["migrated", "locked", "history-written", "entries-written", "before-commit"])
def test_a_lean_import_killed_at_a_stage_changes_nothing(tmp_path, stage):
    from test_crash import kill, start_worker, wait_for

    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    if stage != "migrated":  # a file holding data, so that the import updates, writes history and inserts
        start = start_worker(url, ["crash", "30", "10", "0"], env={"ORBAT_TEST_WORKER_LOADER": "1"})
        assert start.wait(timeout=120) == 0, start.stderr.read()
    before = sql_dump(tmp_path / "orbat.db") if stage != "migrated" else None
    signal_file = tmp_path / "paused"
    env = {"ORBAT_TEST_WORKER_LOADER": "1", "ORBAT_TEST_PAUSE_AT": stage, "ORBAT_TEST_PAUSE_SIGNAL": str(signal_file)}
    proc = start_worker(url, ["crash", "60", "10", "1"], env=env)
    wait_for(signal_file, proc)
    kill(proc)
    with sqlite3.connect(tmp_path / "orbat.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    if before is None:  # killed while making a new file's schema: no schema, and the next import makes it
        assert sql_dump(tmp_path / "orbat.db") == ["BEGIN TRANSACTION;", "COMMIT;"]
    else:
        assert sql_dump(tmp_path / "orbat.db") == before
    rerun = start_worker(url, ["crash", "60", "10", "1"], env={"ORBAT_TEST_WORKER_LOADER": "1"})
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
    with open_store(url) as store:
        assert store.counts()["sightings"] == 70
        assert store.revision() == latest_revision()
    assert os.path.exists(tmp_path / "orbat.db")


def test_a_file_locked_for_the_whole_retry_period_says_so(tmp_path, monkeypatch):
    """The sqlite3 path waits and retries as the store does, then reports the lock (not the store's second wait)."""
    from orbat import sqlitefile

    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    lean_import(url, mali_frame(), "sightings.csv")
    monkeypatch.setattr(bulkload, "RETRY_FOR_S", 0.3)
    monkeypatch.setattr(sqlitefile, "SQLITE_BUSY_TIMEOUT_S", 1)
    holder = sqlite3.connect(tmp_path / "orbat.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(bulkload.DatabaseBusy, match="stayed busy"):
            lean_import(url, mali_frame(), "again.csv")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert lean_import(url, mali_frame(), "again.csv").unchanged == 2
