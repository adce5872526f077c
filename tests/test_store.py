"""orbat.store: import, read back, history, archive, and the SQLite set-up."""

from __future__ import annotations

import itertools
import sqlite3

import numpy as np
import pandas as pd
import pytest
from _frames import dump, mali_frame, make_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.errors import DatabaseError, SightingNotFound, UsageError
from orbat.sightings import CANONICAL_COLUMNS
from orbat.store import ImportSummary, latest_revision, open_store


@pytest.fixture
def store(store_url):
    with open_store(store_url) as s:
        yield s


def without_imports_log(content: dict) -> dict:
    return {k: v for k, v in content.items() if k != "imports"}


def test_fresh_database_is_created_at_the_latest_revision_by_migration(store_url):
    with open_store(store_url) as store:
        assert store.revision() == latest_revision()
        assert store.counts() == {"sightings": 0, "archived sightings": 0, "entries": 0,
                                  "old versions": 0, "imports": 0}
    assert dump(store_url)["alembic_version"] == [(latest_revision(),)]


def test_mali_round_trip_gives_back_the_same_frame(store):
    frame = mali_frame()
    summary = store.import_frame(frame, source="sightings.csv")
    assert summary == ImportSummary(added=2, updated=0, unchanged=0, rows=18)
    back = store.sightings_frame()
    assert list(back.columns) == list(CANONICAL_COLUMNS)
    pd.testing.assert_frame_equal(back, frame)
    # the founding case: max-merged per type, the convoy has 112 vehicles
    assert int(back.groupby("equipment_id")["count"].max().sum()) == 112


def test_importing_the_same_frame_twice_changes_nothing(store, store_url):
    frame = mali_frame()
    store.import_frame(frame, source="sightings.csv")
    before = dump(store_url)
    summary = store.import_frame(frame, source="sightings.csv")
    assert summary == ImportSummary(added=0, updated=0, unchanged=2, rows=18)
    after = dump(store_url)
    assert without_imports_log(after) == without_imports_log(before)
    assert [i["unchanged"] for i in store.imports()] == [0, 2]


def test_a_changed_row_updates_and_keeps_the_old_version(store):
    frame = mali_frame()
    store.import_frame(frame, source="first.csv")
    changed = frame.copy()
    changed.loc[0, "count"] = 7  # capmali-video-01, T-72: 6 -> 7
    summary = store.import_frame(changed, source="second.csv")
    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 1)

    current = store.get_sighting("capmali-video-01")
    assert current["entries"][0]["count"] == 7
    assert current["imported_from"] == "second.csv"
    history = store.history("capmali-video-01")
    assert len(history) == 1
    old = history[0]
    assert old["version"] == 1
    assert old["imported_from"] == "first.csv" and old["replaced_by"] == "second.csv"
    assert old["valid_from"] <= old["replaced_at"]
    assert old["sighting"]["entries"][0]["equipment"] == "T-72"
    assert old["sighting"]["entries"][0]["count"] == 6
    assert len(old["sighting"]["entries"]) == 15
    assert store.history("social-photo-02") == []


def test_a_changed_sighting_field_is_an_update(store):
    frame = mali_frame()
    store.import_frame(frame)
    moved = frame.copy()
    moved.loc[moved["sighting_id"] == "social-photo-02", "place"] = "Bamako, route de Guinée"
    assert store.import_frame(moved).updated == 1
    assert store.get_sighting("social-photo-02")["place"] == "Bamako, route de Guinée"
    assert store.history("social-photo-02")[0]["sighting"]["place"] == "Bamako"


def test_imports_never_delete_entries_a_file_no_longer_lists(store):
    frame = mali_frame()
    store.import_frame(frame)
    fewer = frame[frame["equipment_id"] != "ambulance"].reset_index(drop=True)
    summary = store.import_frame(fewer)
    assert (summary.updated, summary.unchanged) == (0, 2)
    assert (store.sightings_frame()["equipment_id"] == "ambulance").sum() == 2


def test_a_new_entry_for_a_known_sighting_is_an_update_and_is_added(store):
    store.import_frame(mali_frame())
    extra = make_frame([{"sighting_id": "social-photo-02", "convoy": "bamako-2025-01-17",
                         "observed_at": "2025-01-17", "place": "Bamako", "lat": 12.6, "lon": -8.0,
                         "actor": "Africa Corps", "source": "photo shared on social media the same day",
                         "reliability": "C", "credibility": 3, "equipment": "Tigr", "count": 2}])
    assert store.import_frame(extra).updated == 1
    entries = store.get_sighting("social-photo-02")["entries"]
    assert [e["equipment_id"] for e in entries] == ["t-72", "bmp-3", "ambulance", "tigr"]


def test_filters(store):
    store.import_frame(mali_frame())
    store.import_frame(make_frame([
        {"sighting_id": "kyiv-1", "observed_at": "2022-03-01T10:00:00", "actor": "Russia",
         "equipment": "T-80", "count": 1, "event": "destroyed"},
        {"sighting_id": "kyiv-2", "observed_at": "2022-03-02", "actor": "Russia", "convoy": "c2",
         "equipment": "T-80", "count": 2},
    ]))
    ids = lambda frame: list(dict.fromkeys(frame["sighting_id"]))  # noqa: E731
    assert ids(store.sightings_frame()) == ["kyiv-1", "kyiv-2", "capmali-video-01", "social-photo-02"]
    assert ids(store.sightings_frame(convoy="c2")) == ["kyiv-2"]
    assert ids(store.sightings_frame(actor="africa corps")) == ["capmali-video-01", "social-photo-02"]
    assert ids(store.sightings_frame(since="2022-03-02")) == ["kyiv-2", "capmali-video-01", "social-photo-02"]
    assert ids(store.sightings_frame(until="2022-03-01")) == ["kyiv-1"]
    assert ids(store.sightings_frame(since="2022-03-01T12:00:00", until="2022-03-02")) == ["kyiv-2"]
    assert ids(store.sightings_frame(sighting_ids=["social-photo-02", "nope"])) == ["social-photo-02"]
    assert len(store.sightings_frame(convoy="nope")) == 0
    assert list(store.sightings_frame(convoy="nope").columns) == list(CANONICAL_COLUMNS)
    with pytest.raises(UsageError, match="--since '17/01/2025'"):
        store.sightings_frame(since="17/01/2025")


def test_delete_archives_and_restore_brings_back(store):
    store.import_frame(mali_frame())
    archived_at = store.delete_sighting("social-photo-02")
    assert store.delete_sighting("social-photo-02") == archived_at  # idempotent
    assert [s["sighting_id"] for s in store.list_sightings()] == ["capmali-video-01"]
    everything = store.list_sightings(include_archived=True)
    assert [s["archived_at"] for s in everything] == [None, archived_at]
    assert store.get_sighting("social-photo-02")["archived_at"] == archived_at
    assert store.counts()["archived sightings"] == 1
    assert store.restore_sighting("social-photo-02") is True
    assert store.restore_sighting("social-photo-02") is False
    assert len(store.list_sightings()) == 2


def test_reimport_does_not_resurrect_an_archived_sighting(store):
    store.import_frame(mali_frame())
    store.delete_sighting("social-photo-02")
    store.import_frame(mali_frame())
    assert [s["sighting_id"] for s in store.list_sightings()] == ["capmali-video-01"]


@pytest.mark.parametrize("method", ["get_sighting", "delete_sighting", "restore_sighting", "history"])
def test_unknown_id_raises_sighting_not_found(store, method):
    with pytest.raises(SightingNotFound, match="'no-such-id'"):
        getattr(store, method)("no-such-id")


def test_nested_form(store):
    store.import_frame(mali_frame())
    item = store.list_sightings(sighting_ids=["social-photo-02"])[0]
    assert item == {
        "sighting_id": "social-photo-02", "convoy": "bamako-2025-01-17", "observed_at": "2025-01-17",
        "place": "Bamako", "lat": 12.6, "lon": -8.0, "actor": "Africa Corps",
        "source": "photo shared on social media the same day", "reliability": "C", "credibility": 3,
        "archived_at": None,
        "entries": [
            {"equipment": "T-72", "equipment_id": "t-72", "count": 6, "count_max": None, "mode": "driven",
             "notes": "same column, tanks only partly visible", "event": "sighting", "captor": None,
             "actor": "Africa Corps", "unit": None, "tags": None, "markings": None},
            {"equipment": "BMP-3", "equipment_id": "bmp-3", "count": 4, "count_max": None, "mode": "driven",
             "notes": None, "event": "sighting", "captor": None,
             "actor": "Africa Corps", "unit": None, "tags": None, "markings": None},
            {"equipment": "ambulance", "equipment_id": "ambulance", "count": 1, "count_max": None,
             "mode": "driven", "notes": None, "event": "sighting", "captor": None,
             "actor": "Africa Corps", "unit": None, "tags": None, "markings": None},
        ],
    }


def test_a_failed_import_changes_nothing(store, store_url):
    store.import_frame(mali_frame())
    before = dump(store_url)
    bad = make_frame([
        {"sighting_id": "new-1", "observed_at": "2025-02-01", "equipment": "T-72", "count": 1},
        {"sighting_id": "new-2", "observed_at": "2025-02-01", "equipment": "T-72", "count": 1},
    ])
    bad["mode"] = pd.Series(["driven", None], dtype="str")  # NOT NULL fails on the second entry
    with pytest.raises(DatabaseError):
        store.import_frame(bad)
    assert dump(store_url) == before


def test_an_entry_key_twice_in_one_frame_is_refused(store, store_url):
    """The readers add such rows up (orbat.sightings.add_up); a frame built by hand must not repeat a key."""
    frame = make_frame([
        {"sighting_id": "s", "observed_at": "2025-02-01", "equipment": "T-72", "count": 1},
        {"sighting_id": "s", "observed_at": "2025-02-01", "equipment": "T-72", "count": 2},
    ])
    with pytest.raises(UsageError, match="row 3: sighting 's' lists 't-72' twice"):
        store.import_frame(frame)
    assert store.counts()["sightings"] == 0


def test_progress_reports_up_to_the_total(store):
    calls = []
    store.import_frame(mali_frame(), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (18, 18)
    assert all(t == 18 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_frame_lacking_columns_is_refused(store):
    with pytest.raises(UsageError, match="lacks the columns equipment_id"):
        store.import_frame(mali_frame().drop(columns=["equipment_id"]))


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with open_store(url) as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseError, match="notes.db: cannot open the database: file is not a database"):
        open_store(f"sqlite:///{bogus}")
    assert bogus.read_text().startswith("these are my notes")


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="folder .* does not exist"):
        open_store(f"sqlite:///{tmp_path / 'nope' / 'orbat.db'}")


def test_an_unreachable_server_is_a_clear_error():
    pytest.importorskip("psycopg")
    with pytest.raises(DatabaseError, match="cannot open the database"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2")


def test_a_bad_url_is_a_clear_error():
    with pytest.raises(DatabaseError, match="not a database URL"):
        open_store("::::")
    with pytest.raises(DatabaseError, match="unsupported database 'mysql'"):
        open_store("mysql://u@h/d")


def test_a_foreign_sightings_table_is_not_taken_over(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sightings (x)")
    with pytest.raises(DatabaseError, match="not made by orbat"):
        open_store(f"sqlite:///{path}")


# --------------------------------------------------------------------------- invariants

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
maybe_text = st.none() | text
counter = itertools.count()


@st.composite
def sightings(draw):
    prefix = f"h{next(counter)}-"
    records = []
    for n in range(draw(st.integers(1, 4))):
        shared = {
            "sighting_id": prefix + str(n),
            "convoy": draw(maybe_text),
            "observed_at": draw(st.dates().map(str)),
            "place": draw(maybe_text),
            "lat": draw(st.none() | st.floats(-90, 90)),
            "lon": draw(st.none() | st.floats(-180, 180)),
            "source": draw(maybe_text),
            "reliability": draw(st.none() | st.sampled_from("ABCDEF")),
            "credibility": draw(st.none() | st.integers(1, 6)),
        }
        # the entry key: type, mode, event and actor ("" is no actor to the store, so never drawn)
        keys = draw(st.lists(st.tuples(st.sampled_from(["t-72", "bmp-3", "btr-82a", "tigr", "ural"]),
                                       st.sampled_from(["driven", "carried"]),
                                       st.sampled_from(["sighting", "arrival", "destroyed", "captured"]),
                                       st.none() | st.sampled_from(["FAMa", "Wagner"]) | text.filter(bool)),
                             min_size=1, max_size=5, unique=True))
        for equipment_id, mode, event, actor in keys:
            count = draw(st.integers(0, 10_000))
            records.append({
                **shared,
                "equipment": draw(text.filter(bool)),
                "equipment_id": equipment_id,
                "count": count,
                "count_max": draw(st.none() | st.integers(count, count + 50)),
                "mode": mode,
                "notes": draw(maybe_text),
                "event": event,
                "captor": draw(maybe_text),
                "actor": actor,
                "unit": draw(maybe_text),
                "tags": draw(maybe_text),
            })
    return make_frame(records)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=sightings())
def test_write_then_read_gives_the_same_frame_and_reimport_is_a_no_op(store, frame):
    ids = list(dict.fromkeys(frame["sighting_id"]))
    first = store.import_frame(frame)
    assert first.added == len(ids) and first.rows == len(frame)
    back = store.sightings_frame(sighting_ids=ids)
    expected = frame.sort_values(["observed_at", "sighting_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)
    again = store.import_frame(frame)
    assert again.unchanged == len(ids) and again.added == again.updated == 0
    pd.testing.assert_frame_equal(store.sightings_frame(sighting_ids=ids), expected)


def test_what_the_reader_gives_comes_back_unchanged(store, mali_csv, catalog):
    from orbat.sightings import read_sightings

    frame = read_sightings(mali_csv, catalog)
    store.import_frame(frame, source=str(mali_csv))
    pd.testing.assert_frame_equal(store.sightings_frame(), frame.reset_index(drop=True))


def test_a_corrected_status_replaces_the_entry_of_its_type_and_keeps_the_old_in_history(store):
    """Oryx turns 'damaged' into 'destroyed' for the same photo: one vehicle, not two."""
    row = {"sighting_id": "oryx-photo", "observed_at": "2024-03-01", "actor": "Russia",
           "equipment": "T-72B3", "count": 1, "event": "damaged"}
    other = {**row, "equipment": "BMP-2", "event": "destroyed"}
    store.import_frame(make_frame([row, other]))
    summary = store.import_frame(make_frame([{**row, "event": "destroyed"}]))
    assert summary.updated == 1
    stored = store.sightings_frame()
    t72 = stored[stored["equipment_id"] == "t-72b3"]
    assert list(t72["event"]) == ["destroyed"] and int(t72["count"].sum()) == 1
    assert (stored["equipment_id"] == "bmp-2").sum() == 1  # a type the file does not list stays
    [old] = store.history("oryx-photo")
    assert {e["event"] for e in old["sighting"]["entries"] if e["equipment_id"] == "t-72b3"} == {"damaged"}


# --- the bulk import path (#16): plain values, same rows, the collector restored -----------------------


def _stored_types(store_url: str) -> set[tuple]:
    """The SQLite storage classes each column of ``entries`` holds."""
    conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
        types = ", ".join(f"typeof({c})" for c in columns)
        return {tuple(zip(columns, row)) for row in conn.execute(f"SELECT DISTINCT {types} FROM entries")}
    finally:
        conn.close()


def test_a_generated_bulk_file_reads_back_as_the_frame_imported(store, store_url, tmp_path, catalog):
    """More rows than BULK_INDEX_ROWS (indexes set aside, columns sliced): the frame comes back as it went in."""
    from benchmarks.generate import generate_csv

    from orbat.sightings import read_sightings
    from orbat.store import BULK_INDEX_ROWS

    path = generate_csv(tmp_path / "big.csv", rows=BULK_INDEX_ROWS + 3_000, seed=7)
    frame = read_sightings(path, catalog)
    assert frame["count_max"].isna().any() and frame["notes"].isna().any()  # missing values are exercised
    summary = store.import_frame(frame, source=str(path))
    assert summary.added == frame["sighting_id"].nunique() and summary.rows == len(frame)
    back = store.sightings_frame()
    key = ["sighting_id", "equipment_id", "mode", "event", "actor"]
    pd.testing.assert_frame_equal(back.sort_values(key, ignore_index=True),
                                  frame.sort_values(key, ignore_index=True))
    if store_url.startswith("sqlite"):
        # what the driver got: Python ints and floats, NULL for missing, '' for no actor (part of the key)
        for row in _stored_types(store_url):
            types = dict(row)
            assert types["count"] == "integer" and types["entry_order"] == "integer"
            assert types["count_max"] in ("integer", "null") and types["actor"] == "text"
            assert "blob" not in types.values() and "real" not in (types["count"], types["count_max"])
    # the rows the driver gets hold plain Python values (psycopg's COPY takes no numpy scalar, no 3.0 for 3)
    from orbat.store import _E_COLUMNS, _Prepared

    prepared = _Prepared.from_frame(frame)
    rows = prepared.entry_rows(np.arange(prepared.rows)) + prepared.entry_rows(np.arange(0, prepared.rows, 3))
    allowed = {"count": {int}, "count_max": {int, type(None)}, "entry_order": {int}, "actor": {str}}
    for name, values in zip(_E_COLUMNS, zip(*rows)):
        assert {type(v) for v in values} <= allowed.get(name, {str, type(None)}), name
    # and once more: nothing changes
    assert store.import_frame(frame, source=str(path)).unchanged == summary.added


def test_an_import_leaves_the_garbage_collector_as_it_found_it(store):
    import gc

    frame = mali_frame()
    assert gc.isenabled()
    store.import_frame(frame, source="a.csv")
    assert gc.isenabled()
    with pytest.raises(UsageError, match="twice"):
        store.import_frame(pd.concat([frame, frame.iloc[:1]], ignore_index=True), source="b.csv")
    assert gc.isenabled()
    gc.disable()
    try:
        store.import_frame(frame, source="a.csv")
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()
