"""The database: schema, import, history and archive of sightings.

One :class:`Store` wraps one SQLAlchemy engine on SQLite (the default, a file
``orbat.db``) or PostgreSQL (``postgresql+psycopg://...``). The schema is
upgraded only by the Alembic migrations in ``orbat/migrations``; a fresh
database is created at the newest one from :mod:`orbat.schema` (the same
tables, checked by the tests) and stamped; a database is never recreated.

Imports add and update: the key of an entry is
``sighting_id``, ``equipment_id``, ``mode``, ``event`` and ``actor`` (an
entry without an actor stores ``""``, as a key cannot hold NULL); a changed sighting keeps its previous
version in ``sighting_history``; for each type a re-imported sighting lists, the
file's rows are that type's current version (a stored entry of the type in another
mode, event or actor leaves, and stays in that history); a type the file does not
list stays (delete the sighting, or edit it, to change that).
``delete_sighting`` archives (hides) a sighting; ``restore_sighting`` brings
it back.

What an import writes is decided by :mod:`orbat.bulkload`, over the store's
connection here; ``orbat import`` into a SQLite file that is new or at the
newest revision runs the same loader over ``sqlite3`` alone
(:mod:`orbat.sqlitefile`) and leaves the same database.

Concurrency: SQLite runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so writers queue instead of
failing; PostgreSQL imports take a transaction-scoped advisory lock. Both
retry with backoff when the database still reports a lock, a serialization
failure or a deadlock.

For crash tests only, the environment variable ``ORBAT_TEST_PAUSE_AT=<stage>``
makes an import sleep at a named stage (see :data:`PAUSE_STAGES`), after
writing the stage name to the file named by ``ORBAT_TEST_PAUSE_SIGNAL``, so a
test can kill the process at a known point.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

# The bulk loader (orbat/bulkload.py) holds what an import writes; its names stay importable from here.
from orbat.bulkload import (  # noqa: F401
    _CHUNK, _E_COLUMNS, _E_UPDATE, _S_COLUMNS, _S_UPDATE, BULK_INDEX_ROWS, ENTRY_FIELDS, ENTRY_KEY, HISTORY_INSERT,
    PAUSE_STAGES, RETRY_FOR_S, SIGHTING_FIELDS, ImportSummary, _clean, _nested_from_stored, _now, _plain_column,
    _Prepared, _py, _test_pause, check_frame, conflict_clause, load_stored, retrying, upsert_sql, write_frame,
)
from orbat.bulkload import db_message as _db_message
from orbat.bulkload import is_retryable as _is_retryable  # noqa: F401
from orbat.collector import gc_paused
from orbat.errors import DatabaseError, OrbatError, SchemaTooNew, SightingNotFound, UsageError
from orbat.schema import scanned_revisions as _scanned_revisions
from orbat.sightings import CANONICAL_COLUMNS, UNRESOLVED_PREFIX
from orbat.sqlitefile import SQLITE_BUSY_TIMEOUT_S

_PG_LOCK_KEY = 0x0B0A7  # advisory lock id that serializes orbat writers on one PostgreSQL db


def _archived_at(conn: Connection, sighting_id: str) -> str | None:
    """When a sighting was archived (None if it is not); :class:`SightingNotFound` if there is none."""
    row = conn.execute(sa.text("SELECT archived_at FROM sightings WHERE sighting_id = :s"),
                       {"s": sighting_id}).first()
    if row is None:
        raise SightingNotFound(f"no sighting has the id {sighting_id!r}")
    return row[0]


class _Link:
    """The bulk loader's view of a SQLAlchemy connection (see :mod:`orbat.bulkload`)."""

    def __init__(self, conn: Connection, dialect: str):
        self.conn = conn
        self.dialect = dialect

    def rows(self, sql: str, params: Any = None) -> list:
        return self.conn.execute(sa.text(sql), params or {}).all()

    def rows_in(self, sql: str, ids: list) -> list:
        stmt = sa.text(sql).bindparams(sa.bindparam("ids", expanding=True))
        return self.conn.execute(stmt, {"ids": ids}).all()

    def run(self, sql: str, params: Any = None) -> None:
        if params is None:
            self.conn.exec_driver_sql(sql)
        else:
            self.conn.execute(sa.text(sql), params)

    def upsert(self, table: str, columns: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...],
               rows: list[tuple]) -> None:
        """Insert rows, replacing ``update`` columns where the key exists, in bulk."""
        if not rows:
            return
        if self.dialect == "postgresql":
            # COPY into a temporary table, then one INSERT ... ON CONFLICT: the
            # fast path for PostgreSQL, in the same transaction as the rest.
            col_list = ", ".join(columns)
            raw = self.conn.connection.driver_connection
            temp = f"orbat_load_{table}"
            with raw.cursor() as cur:
                # no constraints on the temporary copy: violations are reported
                # against the real table, whose name means something to the user
                cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DROP AS "
                            f"SELECT {col_list} FROM {table} WITH NO DATA")
                cur.execute(f"TRUNCATE {temp}")
                with cur.copy(f"COPY {temp} ({col_list}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {temp}"
                            + conflict_clause(key, update))
            return
        self.conn.exec_driver_sql(upsert_sql(table, columns, key, update), rows)


# --------------------------------------------------------------------------- engine


def _display(url) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _sqlite_engine(url) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise DatabaseError(f"{database}: cannot create the database: folder {parent} does not exist")
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # orbat issues BEGIN itself (below): the sqlite3 module's implicit
        # transactions would start deferred and could fail with "database is
        # locked" when upgraded to a write, which no busy timeout can fix.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against process crashes
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # writers take the write lock up front, so they queue on the busy timeout
        write = conn.get_execution_options().get("orbat_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url) -> Engine:
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    try:
        return sa.create_engine(url)
    except ModuleNotFoundError:
        raise DatabaseError(
            "PostgreSQL needs the psycopg driver: pip install \"orbat[postgres]\""
        ) from None


def _engine(url_text: str) -> tuple[Engine, str]:
    try:
        url = make_url(url_text)
    except Exception:
        raise DatabaseError(
            f"{url_text!r} is not a database URL (expected sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST:PORT/DBNAME)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url), _display(url)
    if backend == "postgresql":
        return _postgres_engine(url), _display(url)
    raise DatabaseError(f"{_display(url)}: unsupported database {backend!r}; use SQLite or PostgreSQL")


def _driver_errors() -> tuple[type[BaseException], ...]:
    """Errors the drivers raise themselves (COPY runs on the psycopg cursor, not through SQLAlchemy)."""
    import sqlite3

    errors: list[type[BaseException]] = [sa.exc.DBAPIError, sqlite3.Error]
    try:
        import psycopg
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


# --------------------------------------------------------------------------- migrations


def _alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "orbat:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


def latest_revision() -> str:
    """The newest schema revision this orbat knows."""
    scanned = _scanned_revisions()
    return scanned[1] if scanned else _script().get_current_head()


def _head_schema_is_current() -> bool:
    """Whether :mod:`orbat.schema` describes the newest migration (else fresh databases are migrated)."""
    from orbat.schema import HEAD_REVISION

    return HEAD_REVISION == latest_revision()


def _current_revision(conn: Connection) -> str | None:
    """The database's schema revision (None: no orbat schema), read as alembic stores it."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    if len(rows) <= 1:
        return rows[0][0] if rows else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _check_known(revision: str | None, where: str) -> None:
    if revision is None:
        return
    scanned = _scanned_revisions()
    known = scanned[0] if scanned else {s.revision for s in _script().walk_revisions()}
    if revision not in known:
        from orbat import __version__

        raise SchemaTooNew(
            f"{where} is at schema revision {revision!r}, which this orbat ({__version__}) does not "
            f"know (latest known: {latest_revision()!r}): it was written by a newer orbat. "
            "Upgrade orbat (pip install -U orbat) to use it."
        )


# --------------------------------------------------------------------------- the store


def open_store(url: str, *, upgrade: bool = True, must_exist: bool = False) -> "Store":
    """Open the database at ``url``, creating or upgrading its schema by migration.

    A fresh database is created at the latest schema; an older one is upgraded
    (when ``upgrade`` is true); one written by a newer orbat raises
    :class:`~orbat.errors.SchemaTooNew`. A server that cannot be reached or a
    file that is not a database raises :class:`~orbat.errors.DatabaseError`,
    and so does a missing SQLite file when ``must_exist`` (read-only commands
    should not leave an empty database behind).
    """
    if must_exist:
        from orbat.datafiles import sqlite_path_of

        path = sqlite_path_of(url)
        if path is not None and not path.exists():
            raise DatabaseError(
                f"{path}: no such database; import sightings first (orbat import FILE) "
                "or point --db / ORBAT_DB at your database"
            )
    engine, where = _engine(url)
    store = Store(engine, where)
    try:
        store._prepare(upgrade=upgrade)
    except OrbatError:
        engine.dispose()
        raise
    except _driver_errors() as exc:
        engine.dispose()
        raise DatabaseError(f"{where}: cannot open the database: {_db_message(exc)}") from None
    return store


class Store:
    """Sightings in a database. Use :func:`open_store` to get one."""

    def __init__(self, engine: Engine, where: str):
        self.engine = engine
        self.where = where
        self.dialect = engine.dialect.name
        self._revision: str | None = None

    # -- lifecycle

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.where!r}, revision={self._revision!r})"

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction holding the writer lock (SQLite: BEGIN IMMEDIATE)."""
        with self.engine.connect().execution_options(orbat_write=True) as conn:
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def _retrying(self, work: Callable[[], Any], doing: str = "") -> Any:
        """Run ``work`` (one whole transaction), retrying with backoff while the db is busy."""
        return retrying(work, self.where, _driver_errors(), doing)

    # -- schema

    def _prepare(self, *, upgrade: bool) -> None:
        def work():
            with self._write() as conn:
                current = _current_revision(conn)
                if current is None:
                    tables = set(sa.inspect(conn).get_table_names())
                    if "sightings" in tables:
                        raise DatabaseError(
                            f"{self.where} has a sightings table but no orbat schema revision; "
                            "it was not made by orbat"
                        )
                    if not upgrade:
                        return None
                _check_known(current, self.where)
                if upgrade and current != latest_revision():
                    if current is None and _head_schema_is_current():
                        # a fresh database: the tables at head, stamped, without alembic (orbat/schema.py)
                        from orbat.schema import create_head_schema

                        create_head_schema(conn)
                    else:
                        from alembic import command

                        command.upgrade(_alembic_config(conn), "head")
                    current = _current_revision(conn)
                    _test_pause("migrated")
                return current

        self._revision = self._retrying(work, doing="cannot open the database: ")

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the latest revision; returns (before, after)."""
        before = self._revision
        self._prepare(upgrade=True)
        return before, self._revision

    def revision(self) -> str | None:
        """The schema revision the database is at (None: no orbat schema yet)."""
        return self._revision

    def latest_revision(self) -> str:
        """The newest schema revision this orbat knows."""
        return latest_revision()

    def _require_current(self) -> None:
        if self._revision != latest_revision():
            raise DatabaseError(
                f"{self.where} is at schema revision {self._revision!r}, this orbat needs "
                f"{latest_revision()!r}: run `orbat db upgrade`"
            )

    def counts(self) -> dict[str, int]:
        """Rows per table (sightings split into active and archived)."""
        if self._revision is None:
            return {}
        with self._read() as conn:
            def one(sql: str) -> int:
                return int(conn.exec_driver_sql(sql).scalar_one())

            counts = {
                "sightings": one("SELECT COUNT(*) FROM sightings WHERE archived_at IS NULL"),
                "archived sightings": one("SELECT COUNT(*) FROM sightings WHERE archived_at IS NOT NULL"),
                "entries": one("SELECT COUNT(*) FROM entries"),
                "old versions": one("SELECT COUNT(*) FROM sighting_history"),
            }
            if self._revision != "0001":
                counts["imports"] = one("SELECT COUNT(*) FROM imports")
            return counts

    # -- import

    def import_frame(
        self,
        frame: pd.DataFrame,
        *,
        source: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportSummary:
        """Add and update sightings from a canonical frame, in one transaction.

        Idempotent: the key is :data:`ENTRY_KEY`, and
        importing the same frame twice leaves the same database. A sighting
        whose fields or entries changed keeps its old version in the history
        (with when, and from which file). For each type the frame lists for a
        sighting, its rows replace the stored entries of that type (another
        mode, event or actor leaves, kept in that history); types the frame
        does not list are kept: a file may add to a sighting. ``source`` names the file for history and
        the import log; ``progress(done, total)`` is called as rows are written.
        """
        self._require_current()
        check_frame(frame)
        with gc_paused():
            prepared = _Prepared.from_frame(frame)
            return self._retrying(lambda: self._import_once(prepared, source, progress))

    def _import_once(self, new: _Prepared, source: str | None, progress) -> ImportSummary:
        with self._write() as conn:
            return write_frame(_Link(conn, self.dialect), new, source, progress)

    def _load(self, conn: Connection, ids: list[str]) -> tuple[dict, dict]:
        """The stored versions of these sightings and their entries (:func:`orbat.bulkload.load_stored`)."""
        return load_stored(_Link(conn, self.dialect), ids)

    def _upsert(self, conn: Connection, table: str, columns: tuple[str, ...], key: tuple[str, ...],
                update: tuple[str, ...], rows: list[tuple]) -> None:
        """Insert rows, replacing ``update`` columns where the key exists, in bulk."""
        _Link(conn, self.dialect).upsert(table, columns, key, update, rows)

    # -- reading

    def sightings_frame(
        self,
        *,
        convoy: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        sighting_ids: Iterable[str] | None = None,
        include_archived: bool = False,
    ) -> pd.DataFrame:
        """The stored sightings as a canonical frame (as the readers give it).

        Ordered by ``observed_at``, ``sighting_id``, then the order of the
        entries in their file. ``since``/``until`` are ISO dates or times and
        include their bounds (``until`` a date: that whole day). Archived
        sightings are left out unless ``include_archived``.
        """
        self._require_current()
        since = _iso_bound(since, "--since")
        until = _iso_bound(until, "--until")
        where = []
        params: dict[str, Any] = {}
        if not include_archived:
            where.append("s.archived_at IS NULL")
        if convoy is not None:
            where.append("s.convoy = :convoy")
            params["convoy"] = convoy
        if actor is not None:
            where.append("LOWER(e.actor) = LOWER(:actor)")
            params["actor"] = actor
        columns = ["s.sighting_id", *(f"s.{c}" for c in SIGHTING_FIELDS),
                   *(f"e.{c}" for c in ("equipment_id", *ENTRY_FIELDS, "entry_order"))]
        sql = (f"SELECT {', '.join(columns)} FROM sightings s "
               "JOIN entries e ON e.sighting_id = s.sighting_id")
        ids = None if sighting_ids is None else list(dict.fromkeys(sighting_ids))
        rows: list = []
        with self._read() as conn:
            if ids is None:
                text = sql + (" WHERE " + " AND ".join(where) if where else "")
                rows = conn.execute(sa.text(text), params).all()
            else:
                text = sql + " WHERE " + " AND ".join([*where, "s.sighting_id IN :ids"])
                stmt = sa.text(text).bindparams(sa.bindparam("ids", expanding=True))
                for start in range(0, len(ids), _CHUNK):
                    rows.extend(conn.execute(stmt, {**params, "ids": ids[start:start + _CHUNK]}).all())
        names = ["sighting_id", *SIGHTING_FIELDS, "equipment_id", *ENTRY_FIELDS, "entry_order"]
        # column-wise: pandas' record path probes every Row object, ten times slower
        columns_data = list(zip(*rows)) if rows else [()] * len(names)
        raw = pd.DataFrame({n: pd.Series(list(c), dtype=object) for n, c in zip(names, columns_data)})
        raw["actor"] = raw["actor"].where(raw["actor"] != "", None)  # "" is how the key stores no actor
        if len(raw):
            observed = raw["observed_at"].astype(str)
            keep = pd.Series(True, index=raw.index)
            if since is not None:
                keep &= (observed >= since) | (observed == since[:10])
            if until is not None:
                keep &= (observed <= until) | (observed.str.slice(0, len(until)) == until)
            raw = raw[keep]
            raw = raw.sort_values(["observed_at", "sighting_id", "entry_order", "equipment_id"],
                                  kind="stable")
        return canonical_frame(raw)

    def list_sightings(self, **filters) -> list[dict]:
        """The stored sightings in the nested form (one dict per sighting, with ``entries``).

        Takes the filters of :meth:`sightings_frame`; each dict also carries
        ``archived_at`` (None unless archived).
        """
        frame = self.sightings_frame(**filters)
        nested = frame_to_nested(frame)
        archived = self._archived_at([s["sighting_id"] for s in nested])
        for item in nested:
            item["archived_at"] = archived.get(item["sighting_id"])
        return nested

    def get_sighting(self, sighting_id: str) -> dict:
        """One sighting (archived or not) in the nested form; unknown id: SightingNotFound."""
        found = self.list_sightings(sighting_ids=[sighting_id], include_archived=True)
        if not found:
            raise SightingNotFound(f"no sighting has the id {sighting_id!r}")
        item = found[0]
        with self._read() as conn:
            row = conn.execute(
                sa.text("SELECT imported_from, created_at, updated_at FROM sightings "
                        "WHERE sighting_id = :s"), {"s": sighting_id}).one()
        item["imported_from"], item["created_at"], item["updated_at"] = row
        return item

    def _archived_at(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        stmt = sa.text("SELECT sighting_id, archived_at FROM sightings WHERE archived_at IS NOT NULL "
                       "AND sighting_id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
        with self._read() as conn:
            for start in range(0, len(ids), _CHUNK):
                found.update(dict(conn.execute(stmt, {"ids": ids[start:start + _CHUNK]}).all()))
        return found

    # -- archive and history

    def delete_sighting(self, sighting_id: str) -> str:
        """Archive a sighting: hidden from lists and estimates, kept, restorable.

        Returns when it was archived (the earlier time if it already was).
        """
        self._require_current()

        def work():
            with self._write() as conn:
                archived_at = _archived_at(conn, sighting_id)
                if archived_at is not None:
                    return archived_at
                now = _now()
                conn.execute(sa.text("UPDATE sightings SET archived_at = :t WHERE sighting_id = :s"),
                             {"t": now, "s": sighting_id})
                return now

        return self._retrying(work)

    def restore_sighting(self, sighting_id: str) -> bool:
        """Bring an archived sighting back; returns False if it was not archived."""
        self._require_current()

        def work():
            with self._write() as conn:
                if _archived_at(conn, sighting_id) is None:
                    return False
                conn.execute(sa.text("UPDATE sightings SET archived_at = NULL WHERE sighting_id = :s"),
                             {"s": sighting_id})
                return True

        return self._retrying(work)

    def history(self, sighting_id: str) -> list[dict]:
        """The old versions of a sighting, oldest first.

        Each: ``version`` (1 = first imported), ``valid_from`` and
        ``imported_from`` (when and from which file that version was written),
        ``replaced_at`` and ``replaced_by`` (when and by which file it was
        replaced) and ``sighting`` (the old version in the nested form).
        """
        self._require_current()
        with self._read() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM sightings WHERE sighting_id = :s"),
                                  {"s": sighting_id}).first()
            if exists is None:
                raise SightingNotFound(f"no sighting has the id {sighting_id!r}")
            rows = conn.execute(
                sa.text("SELECT valid_from, imported_from, replaced_at, replaced_by, snapshot "
                        "FROM sighting_history WHERE sighting_id = :s ORDER BY history_id"),
                {"s": sighting_id}).all()
        versions = [
            {"version": n, "valid_from": r[0], "imported_from": r[1], "replaced_at": r[2],
             "replaced_by": r[3], "sighting": json.loads(r[4])}
            for n, r in enumerate(rows, start=1)
        ]
        if versions:
            current = self.get_sighting(sighting_id)
            for version, newer in zip(versions, [v["sighting"] for v in versions[1:]] + [current]):
                version["changes"] = describe_changes(version["sighting"], newer)
        return versions

    # -- names the catalog did not know

    def unresolved(self, suggest: Callable[[str], list[str]] | None = None) -> list[dict]:
        """The equipment names kept as written (``equipment_id`` ``?NAME``), most vehicles first.

        Each: ``name``, ``entries``, ``vehicles``, ``sightings`` and, with
        ``suggest`` (a name -> nearest catalog names), ``suggestions``.
        Archived sightings are left out.
        """
        self._require_current()
        with self._read() as conn:
            rows = conn.execute(sa.text(
                "SELECT e.equipment_id, MIN(e.equipment), COUNT(*), SUM(e.count), COUNT(DISTINCT e.sighting_id) "
                "FROM entries e JOIN sightings s ON s.sighting_id = e.sighting_id "
                "WHERE s.archived_at IS NULL AND e.equipment_id LIKE :prefix GROUP BY e.equipment_id"),
                {"prefix": UNRESOLVED_PREFIX + "%"}).all()
        out = [{"name": name, "entries": int(n), "vehicles": int(v or 0), "sightings": int(s)}
               for _eid, name, n, v, s in rows]
        out.sort(key=lambda r: (-r["vehicles"], r["name"]))
        if suggest is not None:
            for item in out:
                item["suggestions"] = list(suggest(item["name"]))
        return out

    def reresolve(self, lookup: Callable[[str], str | None], *, source: str = "orbat catalog reresolve") -> dict:
        """Resolve the stored names kept as written again, now that the catalog may know them.

        ``lookup`` gives a written name's catalog id, or None; it is called
        once per distinct name. An entry that resolves takes the id; one that
        then has the key of another entry of its sighting adds into it (as
        rows of one sighting add up on import). Each changed sighting keeps
        its previous version in its history. All in one transaction.
        Returns ``resolved`` (name -> id), ``entries``, ``sightings`` and
        ``unresolved`` (names still kept as written).
        """
        self._require_current()

        def work():
            now = _now()
            with self._write() as conn:
                kept = conn.execute(sa.text(
                    "SELECT DISTINCT equipment_id, equipment FROM entries WHERE equipment_id LIKE :prefix"),
                    {"prefix": UNRESOLVED_PREFIX + "%"}).all()
                by_name: dict[str, str | None] = {}
                for _eid, name in kept:
                    if name not in by_name:
                        by_name[name] = lookup(name)
                ids = {(eid, name): by_name[name] for eid, name in kept}
                resolved_names = {name: new for name, new in by_name.items() if new is not None}
                still = sorted({name for name, new in by_name.items() if new is None})
                if not resolved_names:
                    return {"resolved": {}, "entries": 0, "sightings": 0, "unresolved": still}
                affected_ids = sorted({eid for (eid, name), new in ids.items() if new is not None})
                stmt = sa.text("SELECT DISTINCT sighting_id FROM entries WHERE equipment_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True))
                sids: list[str] = []
                for start in range(0, len(affected_ids), _CHUNK):
                    sids.extend(r[0] for r in conn.execute(stmt, {"ids": affected_ids[start:start + _CHUNK]}))
                sids = sorted(set(sids))
                old_s, old_e = self._load(conn, sids)
                history, write_e, changed_entries = [], [], 0
                for sid in sids:
                    merged: dict[tuple, list] = {}
                    for key, (values, order) in sorted(old_e[sid].items(), key=lambda kv: kv[1][1]):
                        eid = ids.get((key[0], values[0])) or key[0]
                        changed_entries += eid != key[0]
                        new_key = (eid, *key[1:])
                        if new_key in merged:
                            merged[new_key][0] = _added(merged[new_key][0], values)
                        else:
                            merged[new_key] = [values, order]
                    before = old_s[sid]
                    history.append({
                        "sighting_id": sid, "valid_from": before["updated_at"],
                        "imported_from": before["imported_from"], "replaced_at": now, "replaced_by": source,
                        "snapshot": json.dumps(_nested_from_stored(sid, before["fields"], old_e[sid]),
                                               ensure_ascii=False),
                    })
                    write_e.extend((sid, key[0], *values, order) for key, (values, order) in merged.items())
                conn.execute(sa.text(HISTORY_INSERT), history)
                delete = sa.text("DELETE FROM entries WHERE sighting_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True))
                touch = sa.text("UPDATE sightings SET updated_at = :t, imported_from = :f "
                                "WHERE sighting_id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
                for start in range(0, len(sids), _CHUNK):
                    chunk = sids[start:start + _CHUNK]
                    conn.execute(delete, {"ids": chunk})
                    conn.execute(touch, {"ids": chunk, "t": now, "f": source})
                self._upsert(conn, "entries", _E_COLUMNS, ENTRY_KEY, _E_UPDATE, write_e)
                return {"resolved": resolved_names, "entries": changed_entries, "sightings": len(sids),
                        "unresolved": still}

        return self._retrying(work)

    def imports(self) -> list[dict]:
        """The log of import runs, oldest first: file, time and counts."""
        self._require_current()
        with self._read() as conn:
            rows = conn.execute(sa.text(
                "SELECT import_id, source_file, imported_at, rows, added, updated, unchanged "
                "FROM imports ORDER BY import_id")).mappings().all()
        return [dict(r) for r in rows]

    # -- units (the register's stored part; see orbat.units)

    def stored_units(self) -> list[dict]:
        """The units an analyst set (``orbat units set``), as dicts, by id."""
        self._require_current()
        with self._read() as conn:
            rows = conn.execute(sa.text(
                "SELECT unit_id, name, aliases, actor, parent, echelon, branch, notes, sources "
                "FROM units ORDER BY unit_id")).mappings().all()
        out = []
        for row in rows:
            item = dict(row)
            item["id"] = item.pop("unit_id")
            item["aliases"] = json.loads(item["aliases"])
            item["sources"] = json.loads(item["sources"])
            out.append(item)
        return out

    def named_units(self) -> list[tuple[str, str | None]]:
        """Every unit name the active sightings' rows give, first seen first, with the actor most of its rows name."""
        self._require_current()
        with self._read() as conn:
            rows = conn.execute(sa.text(
                "SELECT e.unit, NULLIF(e.actor, ''), COUNT(*), MIN(s.observed_at) FROM entries e "
                "JOIN sightings s ON s.sighting_id = e.sighting_id "
                "WHERE s.archived_at IS NULL AND e.unit IS NOT NULL AND e.unit <> '' "
                "GROUP BY e.unit, NULLIF(e.actor, '')")).all()
        first: dict[str, str] = {}
        best: dict[str, tuple[int, str]] = {}
        for unit, actor, n, seen in rows:
            first[unit] = min(first.get(unit, seen), seen)
            if actor is not None and (unit not in best or (-n, actor) < (-best[unit][0], best[unit][1])):
                best[unit] = (n, actor)
        order = sorted(first, key=lambda u: (first[u], u))
        return [(unit, best[unit][1] if unit in best else None) for unit in order]

    def save_unit(self, unit: dict) -> None:
        """Insert or replace one unit (keys: id, name, aliases, actor, parent, echelon, branch, notes, sources)."""
        self._require_current()
        row = {
            "unit_id": unit["id"], "name": unit["name"], "aliases": json.dumps(list(unit.get("aliases") or ()),
                                                                              ensure_ascii=False),
            "actor": unit.get("actor"), "parent": unit.get("parent"), "echelon": unit.get("echelon"),
            "branch": unit.get("branch"), "notes": unit.get("notes"),
            "sources": json.dumps(list(unit.get("sources") or ()), ensure_ascii=False), "updated_at": _now(),
        }

        def work():
            with self._write() as conn:
                self._upsert(conn, "units", tuple(row), ("unit_id",), tuple(row)[1:], [tuple(row.values())])

        self._retrying(work)

    def unit_attachments(self) -> dict[str, str]:
        """Convoy key -> unit id, for the convoys an analyst attached to a unit."""
        self._require_current()
        with self._read() as conn:
            return dict(conn.execute(sa.text("SELECT convoy, unit_id FROM unit_attachments ORDER BY convoy")).all())

    def attach_convoy(self, convoy: str, unit_id: str) -> None:
        """Attach a convoy (its key) to a unit, replacing an earlier attachment."""
        self._require_current()

        def work():
            with self._write() as conn:
                self._upsert(conn, "unit_attachments", ("convoy", "unit_id", "attached_at"), ("convoy",),
                             ("unit_id", "attached_at"), [(convoy, unit_id, _now())])

        self._retrying(work)

    def detach_convoy(self, convoy: str) -> bool:
        """Remove a convoy's attachment; False if it had none."""
        self._require_current()

        def work():
            with self._write() as conn:
                return conn.execute(sa.text("DELETE FROM unit_attachments WHERE convoy = :c"),
                                    {"c": convoy}).rowcount > 0

        return self._retrying(work)


def _added(first: tuple, other: tuple) -> tuple:
    """Two entries of one key as one (``ENTRY_FIELDS`` values): counts summed, the first's texts kept."""
    values = list(first)
    count_at, max_at, notes_at = (ENTRY_FIELDS.index(c) for c in ("count", "count_max", "notes"))
    values[count_at] = first[count_at] + other[count_at]
    if first[max_at] is not None or other[max_at] is not None:
        values[max_at] = ((first[max_at] if first[max_at] is not None else first[count_at])
                          + (other[max_at] if other[max_at] is not None else other[count_at]))
    notes = [n for n in dict.fromkeys((first[notes_at], other[notes_at])) if n]
    values[notes_at] = "; ".join(notes) if notes else None
    return tuple(values)


def _iso_bound(value: str | None, name: str) -> str | None:
    """A --since/--until bound as an ISO string (date or date and time)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name} {value!r}: expected a date YYYY-MM-DD or time YYYY-MM-DDTHH:MM:SS") from None
    if len(text) == 10:
        return parsed.strftime("%Y-%m-%d")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def canonical_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the canonical columns and dtypes (see docs/ARCHITECTURE.md)."""
    out = {}
    for column in CANONICAL_COLUMNS:
        values = frame[column] if column in frame.columns else pd.Series([None] * len(frame), dtype=object)
        values = values.reset_index(drop=True)
        if column in ("lat", "lon"):
            out[column] = pd.to_numeric(values.astype(object).where(values.notna(), None),
                                        errors="coerce").astype("float64")
        elif column == "count":
            out[column] = values.astype("int64")
        elif column in ("count_max", "credibility"):
            out[column] = values.astype(object).where(values.notna(), None).astype("Int64")
        else:
            out[column] = values.astype(object).where(values.notna(), None).astype("str")
    return pd.DataFrame(out, columns=list(CANONICAL_COLUMNS))


def _json_value(value: Any) -> Any:
    return _clean(value)


def frame_to_nested(frame: pd.DataFrame) -> list[dict]:
    """A canonical frame as nested sightings: fields once, then ``entries``.

    Uses :func:`orbat.sightings.frame_to_nested` when the sightings module
    provides it, so the store and the JSON writer agree on the form.
    """
    try:
        from orbat.sightings import frame_to_nested as shared
    except ImportError:
        shared = None
    if shared is not None:
        return shared(frame)
    result: list[dict] = []
    by_id: dict[str, dict] = {}
    entry_keys = ("actor", "equipment", "equipment_id", "count", "count_max", "mode", "notes", "event", "captor",
                  "unit", "tags", "markings")
    for record in frame.to_dict("records"):
        sid = record["sighting_id"]
        item = by_id.get(sid)
        if item is None:
            item = {"sighting_id": sid}
            item.update({f: _json_value(record[f]) for f in SIGHTING_FIELDS})
            item["entries"] = []
            by_id[sid] = item
            result.append(item)
        item["entries"].append({k: _json_value(record[k]) for k in entry_keys})
    return result


def describe_changes(old: dict, new: dict) -> list[str]:
    """What differs between two versions of a sighting (nested form), one line per change."""
    changes = [
        f"{field}: {old.get(field)!r} -> {new.get(field)!r}"
        for field in SIGHTING_FIELDS
        if old.get(field) != new.get(field)
    ]
    def key(entry: dict, sighting: dict) -> tuple:
        # a snapshot from before revision 0003 has the actor on the sighting, not its entries
        actor = entry["actor"] if "actor" in entry else sighting.get("actor")
        return (entry.get("equipment_id"), entry.get("mode"), entry.get("event"), actor or None)

    old_entries = {key(e, old): e for e in old.get("entries", [])}
    for entry in new.get("entries", []):
        before = old_entries.get(key(entry, new))
        if before is None:
            changes.append(f"added {entry['equipment_id']} ({entry['count']} {entry['equipment']})")
            continue
        for field in ENTRY_FIELDS:
            if field not in before and field in ("actor", "unit", "tags"):
                continue  # not recorded before revision 0003
            if before.get(field) != entry.get(field):
                changes.append(f"{entry['equipment_id']} {field}: {before.get(field)!r} -> {entry.get(field)!r}")
    return changes
