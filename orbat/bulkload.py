"""The bulk loader: a canonical frame into the ``sightings`` and ``entries`` tables, in one transaction.

What an import writes is decided here once, for both ways orbat reaches a
database: the store's SQLAlchemy connection (PostgreSQL, and every SQLite
database that needs the store: a migration, an error to report) and, for
the common case of ``orbat import`` into a SQLite file at the newest schema
or a new one, the ``sqlite3`` module alone (:mod:`orbat.sqlitefile`), which
spares a small import the import of SQLAlchemy (about a fifth of the
process). Both run the same diff, the same SQL and the same values in the
same order, so the database they leave is the same (``tests/test_bulkload.py``
compares ``sqlite3 .dump`` of both).

A connection reaches the loader as a *link*: an object with ``dialect``
(``"sqlite"`` or ``"postgresql"``) and four methods,

- ``rows(sql, params=None)``: a query's rows (``:name`` parameters);
- ``rows_in(sql, ids)``: a query whose ``:ids`` is a list of values;
- ``run(sql, params=None)``: a statement, once or (a list of dicts) for each;
- ``upsert(table, columns, key, update, rows)``: insert tuples, updating on a key.

This module imports neither SQLAlchemy nor typer.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbat.collector import gc_paused
from orbat.errors import DatabaseError, UsageError
from orbat.sightings import CANONICAL_COLUMNS, UNRESOLVED_PREFIX

#: Sighting-level columns as stored in ``sightings`` (besides the key).
SIGHTING_FIELDS: tuple[str, ...] = (
    "convoy", "observed_at", "place", "lat", "lon", "source", "reliability", "credibility",
)
#: Entry-level columns as stored in ``entries`` (besides ``sighting_id`` and ``equipment_id``).
ENTRY_FIELDS: tuple[str, ...] = (
    "equipment", "count", "count_max", "mode", "notes", "event", "captor", "actor", "unit", "tags", "markings",
)
#: The key of an entry: rows of a sighting differing in any of these are distinct entries.
ENTRY_KEY: tuple[str, ...] = ("sighting_id", "equipment_id", "mode", "event", "actor")
_MODE_AT, _EVENT_AT, _ACTOR_AT = (ENTRY_FIELDS.index(c) for c in ("mode", "event", "actor"))


def _entry_key(equipment_id: str, values: tuple) -> tuple:
    """An entry's key within its sighting, from its ``ENTRY_FIELDS`` values."""
    return (equipment_id, values[_MODE_AT], values[_EVENT_AT], values[_ACTOR_AT])


#: Where an import can be told to pause (``ORBAT_TEST_PAUSE_AT``), in order.
PAUSE_STAGES: tuple[str, ...] = (
    "migrated",  # schema upgraded, not yet committed
    "locked", "loaded", "history-written", "sightings-written", "entries-written", "before-commit",
)

#: How long an import keeps retrying a locked or conflicting database in total.
RETRY_FOR_S = 180.0
_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


@dataclass
class ImportSummary:
    """What one import did, counted in sightings (``rows`` counts file rows)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _test_pause(stage: str) -> None:
    """Sleep at ``stage`` when a crash test asked for it (see :mod:`orbat.store`'s docstring)."""
    if os.environ.get("ORBAT_TEST_PAUSE_AT") != stage:
        return
    signal_file = os.environ.get("ORBAT_TEST_PAUSE_SIGNAL")
    if signal_file:
        Path(signal_file).write_text(stage, encoding="utf-8")
    time.sleep(float(os.environ.get("ORBAT_TEST_PAUSE_SECONDS", "120")))


def _py(series: pd.Series) -> list:
    """Plain Python values of a column, ``None`` for every kind of missing value."""
    missing = series.isna()
    if not missing.any():
        return series.tolist()
    return series.astype(object).where(~missing, None).tolist()


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


#: From this many new rows into an empty table, SQLite's secondary indexes are built after the rows.
BULK_INDEX_ROWS = 20_000

_S_COLUMNS = ("sighting_id", *SIGHTING_FIELDS, "imported_from", "created_at", "updated_at")
_S_UPDATE = (*SIGHTING_FIELDS, "imported_from", "updated_at")
_E_COLUMNS = ("sighting_id", "equipment_id", *ENTRY_FIELDS, "entry_order")
_E_UPDATE = tuple(c for c in (*ENTRY_FIELDS, "entry_order") if c not in ENTRY_KEY)


#: Columns the driver gets as Python ints, and as floats (``None`` where missing).
_INT_COLUMNS = frozenset(("count", "count_max", "credibility"))
_FLOAT_COLUMNS = frozenset(("lat", "lon"))


def _plain_column(series: pd.Series, column: str) -> np.ndarray:
    """A frame column as an object array of plain Python values for the driver.

    ``None`` for missing (``""`` for a missing actor, part of the entry key),
    Python ints and floats for the numeric columns. Made once per column, for
    all rows: the rows written are then slices of these arrays, with no
    per-row or per-slice conversion in pandas.
    """
    missing = series.isna().to_numpy(dtype=bool)
    out = np.empty(len(series), dtype=object)
    if column in _INT_COLUMNS or column in _FLOAT_COLUMNS:
        kind = "int64" if column in _INT_COLUMNS else "float64"
        present = series[~missing] if missing.any() else series
        # tolist() gives Python numbers, which sqlite3 and psycopg take as they are
        out[~missing] = present.to_numpy(dtype=kind).tolist()
        out[missing] = None
        return out
    out[:] = series.to_numpy(dtype=object)
    if missing.any():
        out[missing] = "" if column == "actor" else None
    return out


class _Prepared:
    """A canonical frame ready to write: its sightings as plain tuples, its entries as plain columns.

    Each column is converted once (:func:`_plain_column`); entries are turned
    into rows only when written (:meth:`entry_rows`, slice by slice) or, for
    sightings the database already has, into the per-entry dicts the diff
    needs (:meth:`entries_of`).
    """

    def __init__(self, frame: pd.DataFrame, sightings: dict[str, tuple], order: np.ndarray,
                 columns: list[np.ndarray]):
        self.frame = frame
        self.rows = len(frame)
        self.sightings = sightings  # sighting_id -> SIGHTING_FIELDS values, in file order
        self.order = order  # per row: its place among its sighting's entries
        self.columns = columns  # per _E_COLUMNS but entry_order: the plain values of every row

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "_Prepared":
        frame = frame.loc[:, ["sighting_id", "equipment_id", *SIGHTING_FIELDS, *ENTRY_FIELDS]].reset_index(drop=True)
        repeated = frame.duplicated(list(ENTRY_KEY)).to_numpy()
        if repeated.any():
            duplicates = [f"row {row + 2}: sighting {sid!r} lists {eid!r} twice (same mode, event and actor)"
                          for row, sid, eid in zip(np.flatnonzero(repeated)[:50],
                                                   _py(frame["sighting_id"][repeated].iloc[:50]),
                                                   _py(frame["equipment_id"][repeated].iloc[:50]))]
            raise UsageError("each equipment type may appear once per sighting, mode, event and actor "
                             "(orbat.sightings.add_up adds such rows up):\n" + "\n".join(duplicates))
        ids = _plain_column(frame["sighting_id"], "sighting_id")
        first = np.flatnonzero(~frame["sighting_id"].duplicated().to_numpy())
        fields = zip(*(_plain_column(frame[c], c)[first].tolist() for c in SIGHTING_FIELDS))
        sightings = dict(zip(ids[first].tolist(), fields))
        order = frame.groupby("sighting_id", sort=False, dropna=False).cumcount().to_numpy()
        columns = [ids, *(_plain_column(frame[c], c) for c in ("equipment_id", *ENTRY_FIELDS))]
        return cls(frame, sightings, order, columns)

    def rows_not_in(self, stored: dict[str, Any]) -> np.ndarray:
        """Positions of the rows whose sighting is not in ``stored``."""
        if not stored:
            return np.arange(self.rows)
        known = self.frame["sighting_id"].isin(list(stored)).to_numpy()
        return np.flatnonzero(~known)

    def entry_rows(self, positions: np.ndarray) -> list[tuple]:
        """The ``entries`` rows (``_E_COLUMNS``) of these rows of the frame."""
        if len(positions) and positions[-1] - positions[0] + 1 == len(positions) and (np.diff(positions) == 1).all():
            # a run of rows (every row of a first import): slices, not copies
            where: Any = slice(int(positions[0]), int(positions[-1]) + 1)
        else:
            where = positions
        return list(zip(*(column[where].tolist() for column in self.columns), self.order[where].tolist()))

    def entries_of(self, stored: dict[str, Any]) -> dict[str, dict[str, tuple[tuple, int]]]:
        """For the sightings in ``stored``: entry key -> (ENTRY_FIELDS values, order), in file order."""
        entries: dict[str, dict[str, tuple[tuple, int]]] = {}
        if not stored:
            return entries
        known = np.flatnonzero(self.frame["sighting_id"].isin(list(stored)).to_numpy())
        for sid, eid, *values, order in self.entry_rows(known):
            entries.setdefault(sid, {})[_entry_key(eid, tuple(values))] = (tuple(values), order)
        return entries


def _as_resolved(new: dict[tuple, tuple], old: dict[tuple, tuple]) -> dict[tuple, tuple]:
    """A sighting's incoming entries, a kept name (``?NAME``) taking the id its stored entry was resolved to.

    After ``orbat catalog reresolve`` the store knows what a written name is;
    importing the list again with a catalog that does not (yet) know it must
    update that entry, not add a second, unresolved one beside it.
    """
    if not old or not any(key[0].startswith(UNRESOLVED_PREFIX) for key in new):
        return new
    resolved = {(values[0], *key[1:]): key[0] for key, (values, _order) in old.items()
                if not key[0].startswith(UNRESOLVED_PREFIX)}
    out: dict[tuple, tuple] = {}
    for key, value in new.items():
        if key[0].startswith(UNRESOLVED_PREFIX):
            eid = resolved.get((value[0][0], *key[1:]))
            if eid is not None and (eid, *key[1:]) not in new:
                key = (eid, *key[1:])
        out[key] = value
    return out


def _nested_from_stored(sid: str, fields: tuple, entries: dict[str, tuple[tuple, int]]) -> dict:
    item = {"sighting_id": sid, **dict(zip(SIGHTING_FIELDS, fields))}
    ordered = sorted(entries.items(), key=lambda kv: (kv[1][1], kv[0]))
    item["entries"] = [
        {"equipment": values[0], "equipment_id": key[0], **dict(zip(ENTRY_FIELDS[1:], values[1:]))}
        for key, (values, _order) in ordered
    ]
    for entry in item["entries"]:
        entry["actor"] = entry.get("actor") or None
    return item


# --------------------------------------------------------------------------- errors and retries


def db_message(exc: BaseException) -> str:
    """The first line of a driver's error (SQLAlchemy's wrapper unwrapped)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def is_retryable(exc: BaseException) -> bool:
    """A lock, a serialization failure or a deadlock: the same transaction may succeed later."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    text = str(orig or exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


class DatabaseBusy(DatabaseError):
    """The database stayed locked (or in conflict) for the whole of :data:`RETRY_FOR_S`."""


def retrying(work: Callable[[], Any], where: str, errors: tuple[type[BaseException], ...], doing: str = "") -> Any:
    """Run ``work`` (one whole transaction), retrying with backoff while the db is busy.

    Any other of the driver's ``errors`` becomes a :class:`DatabaseError`
    naming ``where``.
    """
    deadline = time.monotonic() + RETRY_FOR_S
    delay = 0.05
    while True:
        try:
            return work()
        except errors as exc:
            if not is_retryable(exc):
                raise DatabaseError(f"{where}: {doing}{db_message(exc)}") from None
            if time.monotonic() + delay > deadline:
                raise DatabaseBusy(
                    f"{where}: the database stayed busy for {RETRY_FOR_S:.0f} s "
                    f"({db_message(exc)}); try again later"
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)


# --------------------------------------------------------------------------- writing


def upsert_sql(table: str, columns: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...]) -> str:
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET ...`` with one ``?`` per column (SQLite's form)."""
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            + conflict_clause(key, update))


def conflict_clause(key: tuple[str, ...], update: tuple[str, ...]) -> str:
    return f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)


def check_frame(frame: pd.DataFrame) -> None:
    """:class:`UsageError` when ``frame`` lacks a canonical column."""
    missing = [c for c in CANONICAL_COLUMNS if c not in frame.columns]
    if missing:
        raise UsageError("the sightings frame lacks the columns " + ", ".join(missing))


def load_stored(link, ids: list[str]) -> tuple[dict, dict]:
    """The stored versions of these sightings and their entries, in bulk (no per-row SELECT)."""
    old_s: dict[str, dict] = {}
    old_e: dict[str, dict] = {}
    if not ids:
        return old_s, old_e
    # a fresh database (the common bulk case) needs no look-up at all
    if not link.rows("SELECT 1 FROM sightings LIMIT 1"):
        return old_s, old_e
    s_cols = ", ".join(("sighting_id", *SIGHTING_FIELDS, "imported_from", "created_at", "updated_at"))
    e_cols = ", ".join(("sighting_id", "equipment_id", *ENTRY_FIELDS, "entry_order"))
    s_sql = f"SELECT {s_cols} FROM sightings WHERE sighting_id IN :ids"
    e_sql = f"SELECT {e_cols} FROM entries WHERE sighting_id IN :ids"
    n = len(SIGHTING_FIELDS)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for row in link.rows_in(s_sql, chunk):
            old_s[row[0]] = {
                "fields": tuple(_clean(v) for v in row[1:1 + n]),
                "imported_from": row[1 + n],
                "created_at": row[2 + n],
                "updated_at": row[3 + n],
            }
        for row in link.rows_in(e_sql, chunk):
            values = tuple(_clean(v) for v in row[2:-1])
            old_e.setdefault(row[0], {})[_entry_key(row[1], values)] = (values, row[-1])
    return old_s, old_e


def _set_indexes_aside(link) -> list[str]:
    """On SQLite, drop the secondary indexes of an empty ``entries`` table; returns the SQL that makes them again.

    A first import of many rows then builds each index once, from sorted
    keys, instead of row by row (~10 % of the insert's CPU at 200k rows).
    It happens inside the import's transaction, so the indexes come back
    with the rows or not at all. The primary key stays (it checks the rows).
    """
    if link.dialect != "sqlite" or link.rows("SELECT 1 FROM entries LIMIT 1"):
        return []
    indexes = link.rows(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' AND sql IS NOT NULL"
    )
    for name, _sql in indexes:
        link.run(f'DROP INDEX "{name}"')
    return [sql for _name, sql in indexes]


def write_frame(link, new: _Prepared, source: str | None, progress) -> ImportSummary:
    """Add and update the sightings of ``new`` over ``link``, inside the caller's write transaction.

    See :meth:`orbat.store.Store.import_frame` for what is added, updated
    and kept.
    """
    now = _now()
    total = new.rows
    summary = ImportSummary(rows=total)
    _test_pause("locked")
    old_s, old_e = load_stored(link, list(new.sightings))
    _test_pause("loaded")

    # Sightings the database has are diffed entry by entry; the entries
    # of the others (the bulk of a first import) go straight from the
    # frame's columns to the table, slice by slice (no dict per row).
    stored = new.entries_of(old_s)
    write_s: list[tuple] = []
    history: list[dict] = []
    write_e: list[tuple] = []
    gone: list[tuple] = []
    for sid, fields in new.sightings.items():
        before = old_s.get(sid)
        if before is None:
            summary.added += 1
            write_s.append((sid, *fields, source, now, now))
            continue
        old_entries = old_e.get(sid, {})
        entries = _as_resolved(stored[sid], old_entries)
        # known entries keep their place; new ones go after them, in file order
        next_order = max((o for _v, o in old_entries.values()), default=-1) + 1
        changed_e = []
        for key, (values, _order) in entries.items():
            previous = old_entries.get(key)
            if previous is None:
                changed_e.append((sid, key[0], *values, next_order))
                next_order += 1
            elif previous[0] != values:
                changed_e.append((sid, key[0], *values, previous[1]))
        # for each type the file lists, its rows are the sighting's current version of that
        # type: a stored entry of the type in another mode, event or actor (a status Oryx
        # corrected, a sighting re-filed as an arrival) leaves, and stays in the history below.
        # Types the file does not list are kept: a file may add to a sighting.
        listed = {key[0] for key in entries}
        dropped = [(sid, *key) for key in old_entries if key[0] in listed and key not in entries]
        if before["fields"] == fields and not changed_e and not dropped:
            summary.unchanged += 1
            continue
        gone.extend(dropped)
        summary.updated += 1
        history.append({
            "sighting_id": sid,
            "valid_from": before["updated_at"],
            "imported_from": before["imported_from"],
            "replaced_at": now,
            "replaced_by": source,
            "snapshot": json.dumps(
                _nested_from_stored(sid, before["fields"], old_entries), ensure_ascii=False
            ),
        })
        write_s.append((sid, *fields, source, before["created_at"], now))
        write_e.extend(changed_e)

    if history:
        link.run(HISTORY_INSERT, history)
    _test_pause("history-written")
    if gone:
        link.run("DELETE FROM entries WHERE sighting_id = :s AND equipment_id = :e AND mode = :m "
                 "AND event = :v AND COALESCE(actor, '') = COALESCE(:a, '')",
                 [dict(zip("semva", key)) for key in gone])
    if write_s:
        link.upsert("sightings", _S_COLUMNS, ("sighting_id",), _S_UPDATE, write_s)
    _test_pause("sightings-written")
    added = new.rows_not_in(old_s)
    done = total - len(write_e) - len(added)  # unchanged rows count as done
    if progress:
        progress(done, total)
    step = 20_000
    chunks = (write_e[start:start + step] for start in range(0, len(write_e), step))
    slices = (new.entry_rows(added[start:start + step]) for start in range(0, len(added), step))
    rebuild = _set_indexes_aside(link) if len(added) >= BULK_INDEX_ROWS and not old_s else []
    for chunk in itertools.chain(chunks, slices):
        if chunk:
            link.upsert("entries", _E_COLUMNS, ENTRY_KEY, _E_UPDATE, chunk)
        done += len(chunk)
        if progress:
            progress(done, total)
    for sql in rebuild:
        link.run(sql)
    _test_pause("entries-written")
    link.run("INSERT INTO imports (source_file, imported_at, rows, added, updated, unchanged) "
             "VALUES (:f, :t, :r, :a, :u, :n)",
             {"f": source, "t": now, "r": total, "a": summary.added, "u": summary.updated,
              "n": summary.unchanged})
    _test_pause("before-commit")
    return summary


#: An old version of a sighting into its history (one dict per version).
HISTORY_INSERT = ("INSERT INTO sighting_history (sighting_id, valid_from, imported_from, replaced_at, replaced_by, "
                  "snapshot) VALUES (:sighting_id, :valid_from, :imported_from, :replaced_at, :replaced_by, :snapshot)")


# --------------------------------------------------------------------------- the entry point


def import_frame(url: str, frame: pd.DataFrame, *, source: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import a canonical frame into the database at ``url`` (see :meth:`orbat.store.Store.import_frame`).

    A SQLite file that is new or at the newest schema is written through
    ``sqlite3`` (:mod:`orbat.sqlitefile`); anything else (PostgreSQL, a
    database to upgrade, one written by a newer orbat, a file that is not a
    database) is opened by :func:`orbat.store.open_store`, which migrates
    it or reports what is wrong. Either way the schema is made or checked
    in a first transaction and the rows written in a second.
    """
    from orbat.sqlitefile import open_current

    lean = open_current(url)
    if lean is None:
        from orbat.store import open_store

        with open_store(url) as store:
            return store.import_frame(frame, source=source, progress=progress)
    with lean:
        check_frame(frame)
        with gc_paused():
            prepared = _Prepared.from_frame(frame)
            return lean.write(lambda link: write_frame(link, prepared, source, progress))
