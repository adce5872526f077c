"""A SQLite database file through the ``sqlite3`` module alone, for the bulk loader.

``orbat import FILE`` into a SQLite file is mostly start-up at a thousand
rows, and SQLAlchemy's import was about a fifth of it. This module opens
such a file as :func:`orbat.store.open_store` does (the same pragmas, the
same ``BEGIN IMMEDIATE`` writer lock, the same busy timeout and retries),
makes a new file's schema from :data:`orbat.schema.SQLITE_DDL` and stamps
it, and gives :mod:`orbat.bulkload` a link to write through.

It handles only the two plain cases: a file at the newest schema revision,
and a new, empty file. Anything else (a migration to run, a revision this
orbat does not know, a file that is not an orbat database or not a database
at all, a URL with options) is left to the store, which upgrades it or says
what is wrong: :func:`open_current` returns None, having changed nothing
but what the store's own connection would change (the file created, WAL on).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from orbat.bulkload import DatabaseBusy, _test_pause, retrying, upsert_sql
from orbat.errors import DatabaseError
from orbat.schema import HEAD_REVISION, create_sqlite_head_schema, scanned_revisions

#: As the store's engine: seconds a connection waits for another writer's lock.
SQLITE_BUSY_TIMEOUT_S = 30


def lean_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///FILE`` URL, or None when the store should parse the URL."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):]
    if not path or path == ":memory:" or path.startswith(("file:", "~")) or any(c in path for c in "?%#@"):
        return None
    return path


class _Link:
    """The bulk loader's view of a ``sqlite3`` connection (see :mod:`orbat.bulkload`)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def rows(self, sql: str, params: Any = None) -> list[tuple]:
        return self.conn.execute(sql, params or ()).fetchall()

    def rows_in(self, sql: str, ids: list) -> list[tuple]:
        return self.conn.execute(sql.replace(":ids", "(" + ", ".join("?" * len(ids)) + ")"), ids).fetchall()

    def run(self, sql: str, params: Any = None) -> None:
        if isinstance(params, list):
            self.conn.executemany(sql, params)
        else:
            self.conn.execute(sql, params or ())

    def upsert(self, table: str, columns: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...],
               rows: list[tuple]) -> None:
        if rows:
            self.conn.executemany(upsert_sql(table, columns, key, update), rows)


class SqliteFile:
    """An open SQLite file at the newest schema revision. Use :func:`open_current` to get one."""

    def __init__(self, conn: sqlite3.Connection, where: str):
        self.conn = conn
        self.where = where

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def _transaction(self, work: Callable[[_Link], Any]) -> Any:
        """``work`` in one write transaction (``BEGIN IMMEDIATE``), rolled back if it raises."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(_Link(self.conn))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise
        return result

    def write(self, work: Callable[[_Link], Any]) -> Any:
        """``work`` in one write transaction, retried while the file is locked (as the store retries)."""
        return retrying(lambda: self._transaction(work), self.where, (sqlite3.Error,))


def _connect(path: str) -> sqlite3.Connection:
    # What the store's engine does on connect (orbat.store._sqlite_engine): orbat issues BEGIN itself.
    conn = sqlite3.connect(os.path.abspath(path), timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against process crashes
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _made_current(link: _Link, head: str) -> bool:
    """Whether the file is at ``head``, after making an empty file's schema; False: the store decides."""
    names = {name for (name,) in link.rows("SELECT name FROM sqlite_master")}
    if "alembic_version" in names:
        return link.rows("SELECT version_num FROM alembic_version") == [(head,)]
    if names or HEAD_REVISION != head:
        return False
    create_sqlite_head_schema(link.conn)
    _test_pause("migrated")
    return True


def open_current(url: str) -> SqliteFile | None:
    """The SQLite file of ``url`` at the newest schema (a new file made so), or None: use the store.

    None for a server URL, a URL the store must parse, a missing folder, a
    file that needs a migration or that the store would refuse, and any
    error of the driver's (the store opens the file again and reports it).
    """
    path = lean_path(url)
    scanned = scanned_revisions()
    if path is None or scanned is None or not Path(path).expanduser().resolve().parent.is_dir():
        return None
    head = scanned[1]
    try:
        conn = _connect(path)
    except sqlite3.Error:
        return None
    file = SqliteFile(conn, path)
    try:
        current = file.write(lambda link: _made_current(link, head))
    except DatabaseBusy:  # locked for the whole retry period: the store would wait as long again
        file.close()
        raise
    except DatabaseError:  # any other error of the driver's: the store reports it
        file.close()
        return None
    if not current:
        file.close()
        return None
    return file
