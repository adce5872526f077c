"""The schema is made and changed only by migration; newer schemas are refused."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa
from _frames import dump, mali_frame

from orbat.errors import SchemaTooNew
from orbat.store import _alembic_config, latest_revision, open_store


def make_revision_1_database(path) -> str:
    """A database as orbat's first schema revision left it, holding the Mali case."""
    from alembic import command

    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        frame = mali_frame()
        now = "2025-01-18T09:00:00.000000Z"
        for sid, group in frame.groupby("sighting_id", sort=False):
            first = group.iloc[0]
            conn.execute(sa.text(
                "INSERT INTO sightings (sighting_id, convoy, observed_at, place, lat, lon, actor, source, "
                "reliability, credibility, imported_from, created_at, updated_at) VALUES (:sid, :convoy, "
                ":observed_at, :place, :lat, :lon, :actor, :source, :reliability, :credibility, "
                "'sightings.csv', :now, :now)"),
                {"sid": sid, "now": now, **{c: (None if pd.isna(first[c]) else first[c].item()
                                                if hasattr(first[c], "item") else first[c])
                                            for c in ("convoy", "observed_at", "place", "lat", "lon", "actor",
                                                      "source", "reliability", "credibility")}})
            for order, row in enumerate(group.itertuples()):
                conn.execute(sa.text(
                    "INSERT INTO entries (sighting_id, equipment_id, equipment, count, count_max, mode, "
                    "notes, event, entry_order) VALUES (:s, :e, :name, :c, :cm, :m, :n, :ev, :o)"),
                    {"s": sid, "e": row.equipment_id, "name": row.equipment, "c": int(row.count),
                     "cm": None if pd.isna(row.count_max) else int(row.count_max), "m": row.mode,
                     "n": None if pd.isna(row.notes) else row.notes, "ev": row.event, "o": order})
    engine.dispose()
    return url


def test_revision_1_database_is_upgraded_by_migration_keeping_its_data(tmp_path):
    url = make_revision_1_database(tmp_path / "old.db")
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        inode_rows = conn.execute("SELECT rowid, sighting_id FROM sightings ORDER BY rowid").fetchall()
        assert "imports" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    with open_store(url) as store:
        assert store.revision() == latest_revision()
        pd.testing.assert_frame_equal(store.sightings_frame(), mali_frame())
        assert store.get_sighting("capmali-video-01")["created_at"] == "2025-01-18T09:00:00.000000Z"
        # the new revision's parts work on the old data
        assert store.import_frame(mali_frame(), source="again.csv").unchanged == 2
        assert len(store.imports()) == 1
    with sqlite3.connect(path) as conn:
        # the same rows, not a recreated table
        assert conn.execute("SELECT rowid, sighting_id FROM sightings ORDER BY rowid").fetchall() == inode_rows
        assert "captor" in [r[1] for r in conn.execute("PRAGMA table_info(entries)")]


def test_history_of_an_upgraded_database_names_only_real_changes(tmp_path):
    """A version written before 0003 has its actor on the sighting; that is no change of the entries."""
    url = make_revision_1_database(tmp_path / "old.db")
    with open_store(url) as store:
        store.import_frame(mali_frame(), source="again.csv")  # writes no version: nothing changed
        changed = mali_frame()
        changed.loc[0, "count"] = 7
        store.import_frame(changed, source="v2.csv")
        (version,) = store.history(changed.loc[0, "sighting_id"])
    assert version["changes"] == [f"{changed.loc[0, 'equipment_id']} count: 6 -> 7"]


def test_open_store_without_upgrade_leaves_an_old_database_alone(tmp_path, cli):
    url = make_revision_1_database(tmp_path / "old.db")
    with open_store(url, upgrade=False) as store:
        assert store.revision() == "0001"
    status = cli("db", "status", "--db", url)
    assert status.exit_code == 0, status.output
    assert f"schema revision: 0001; latest known: {latest_revision()} (run `orbat db upgrade`)" in status.output
    assert "sightings: 2" in status.output
    upgraded = cli("db", "upgrade", "--db", url)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded from revision 0001 to {latest_revision()}" in upgraded.output


def test_a_newer_schema_is_refused(store_url, cli):
    with open_store(store_url) as store:
        store.import_frame(mali_frame())
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    before = dump(store_url)
    with pytest.raises(SchemaTooNew, match="at schema revision '0099', which this orbat .* does not know"):
        open_store(store_url)
    for args in (["sightings", "list"], ["db", "upgrade"], ["db", "status"]):
        result = cli(*args, "--db", store_url)
        assert result.exit_code == 1
        assert "written by a newer orbat. Upgrade orbat" in result.stderr
        assert "Traceback" not in result.output
    assert dump(store_url) == before


def test_migrations_go_down_and_up_again(store_url):
    """Each revision's downgrade undoes its upgrade (what a developer relies on)."""
    from alembic import command

    with open_store(store_url) as store:
        store.import_frame(mali_frame())
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0001")
    with engine.connect() as conn:
        assert "imports" not in sa.inspect(conn).get_table_names()
        assert conn.execute(sa.text("SELECT COUNT(*) FROM entries")).scalar() == 18
    engine.dispose()
    with open_store(store_url) as store:
        assert store.revision() == latest_revision()
        assert len(store.sightings_frame()) == 18


def test_revision_3_database_gains_markings_keeping_every_row(tmp_path):
    """0004 adds entries.markings in place: a revision-0003 database keeps its rows, which read back unmarked."""
    from alembic import command

    path = tmp_path / "rev2.db"
    url = make_revision_1_database(path)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0003")
    engine.dispose()
    with sqlite3.connect(path) as conn:
        before = conn.execute("SELECT rowid, * FROM entries ORDER BY rowid").fetchall()
        assert "markings" not in [r[1] for r in conn.execute("PRAGMA table_info(entries)")]
    with open_store(url) as store:
        assert store.revision() == latest_revision()
        frame = store.sightings_frame()
        pd.testing.assert_frame_equal(frame, mali_frame())
        assert frame["markings"].isna().all()
        marked = mali_frame()
        marked.loc[0, "markings"] = "231;245"
        assert store.import_frame(marked, source="marked.csv").updated == 1
        assert store.sightings_frame().loc[0, "markings"] == "231;245"
        (old,) = store.history(marked.loc[0, "sighting_id"])
        assert any("markings: None -> '231;245'" in change for change in old["changes"])
    with sqlite3.connect(path) as conn:
        after = conn.execute("SELECT rowid, * FROM entries ORDER BY rowid").fetchall()
    # the same rows in place, each with the new column at the end (the marked one changed)
    assert [row[:-1] for row in after[1:]] == [row for row in before[1:]]
    assert [row[-1] for row in after] == ["231;245"] + [None] * (len(after) - 1)


def test_revision_2_database_moves_actor_to_its_entries_and_takes_the_new_key(store_url):
    """0003: each entry takes its sighting's actor ("" for none), unit and tags start empty, nothing is lost."""
    from alembic import command

    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0002")
        now = "2025-01-18T09:00:00.000000Z"
        for sid, actor in (("a", "Africa Corps"), ("b", None)):
            conn.execute(sa.text(
                "INSERT INTO sightings (sighting_id, observed_at, actor, created_at, updated_at) "
                "VALUES (:s, '2025-01-17', :a, :t, :t)"), {"s": sid, "a": actor, "t": now})
            conn.execute(sa.text(
                "INSERT INTO entries (sighting_id, equipment_id, equipment, count, mode, event, entry_order, captor) "
                "VALUES (:s, 't-72', 'T-72', 3, 'driven', 'sighting', 0, NULL)"), {"s": sid})
    engine.dispose()
    with open_store(store_url) as store:
        assert store.revision() == latest_revision()
        frame = store.sightings_frame()
        assert frame["actor"].iloc[0] == "Africa Corps" and frame["actor"].isna().tolist() == [False, True]
        assert frame["count"].tolist() == [3, 3] and frame[["unit", "tags"]].isna().all().all()
        # the new key: the same type carried, and destroyed, are entries of their own
        more = pd.concat([frame.iloc[[0]].assign(mode="carried", count=2),
                          frame.iloc[[0]].assign(event="destroyed", count=1)], ignore_index=True)
        store.import_frame(pd.concat([frame.iloc[[0]], more], ignore_index=True))
        assert sorted(store.sightings_frame(sighting_ids=["a"])["count"].tolist()) == [1, 2, 3]
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM sightings WHERE actor IS NOT NULL")).scalar() == 0
        assert sorted(r[0] for r in conn.execute(sa.text("SELECT actor FROM entries WHERE sighting_id = 'b'"))) == [""]
    engine.dispose()


def test_0003_keeps_entry_columns_and_indexes_other_revisions_added(tmp_path):
    """Revisions are re-chained when branches merge: 0003 must not drop what an earlier one added to entries."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0002")
        conn.execute(sa.text("ALTER TABLE entries ADD COLUMN markings TEXT"))
        conn.execute(sa.text("CREATE INDEX ix_entries_markings ON entries (markings)"))
        conn.execute(sa.text("INSERT INTO sightings (sighting_id, observed_at, created_at, updated_at) "
                             "VALUES ('a', '2025-01-17', 't', 't')"))
        conn.execute(sa.text("INSERT INTO entries (sighting_id, equipment_id, equipment, count, mode, event, "
                             "entry_order, markings) VALUES ('a', 't-72', 'T-72', 1, 'driven', 'sighting', 0, '211')"))
        # up to 0003 only: 0004 (after it) adds entries.markings itself
        command.upgrade(_alembic_config(conn), "0003")
    engine.dispose()
    with sqlite3.connect(tmp_path / "x.db") as conn:
        assert conn.execute("SELECT markings, actor FROM entries").fetchall() == [("211", "")]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'entries'")}
        assert {"ix_entries_markings", "ix_entries_actor"} <= names


def _at_revision(url: str, revision: str) -> None:
    from alembic import command

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    engine.dispose()


def _entry_rows(path) -> list[dict]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM entries ORDER BY sighting_id, equipment_id")]


def test_units_revision_upgrades_an_old_database_without_loss(tmp_path):
    url = make_revision_1_database(tmp_path / "old.db")
    _at_revision(url, "0002")
    before = _entry_rows(tmp_path / "old.db")
    with open_store(url) as store:
        assert store.revision() == latest_revision()
        assert store.stored_units() == [] and store.unit_attachments() == {}
        frame = store.sightings_frame()
        assert frame["unit"].isna().all()
        pd.testing.assert_frame_equal(frame.drop(columns="unit"), mali_frame().drop(columns="unit"))
        store.save_unit({"id": "x", "name": "X Brigade", "aliases": ["X Bde"], "sources": []})
        store.attach_convoy("bamako-2025-01-17", "x")
        assert store.stored_units()[0]["aliases"] == ["X Bde"]
    after = _entry_rows(tmp_path / "old.db")
    # every column the old entries had keeps its values; the unit column (0003's) starts empty
    assert [{k: row[k] for k in before[0]} for row in after] == before
    assert all(row["unit"] is None for row in after)


def test_units_revision_keeps_the_entries_unit_column_0003_added(tmp_path):
    """0003 (#14) adds entries.unit: 0005 then adds only its tables, and the units the rows name stay."""
    url = make_revision_1_database(tmp_path / "old.db")
    _at_revision(url, "0003")
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("UPDATE entries SET unit = '423rd Motor Rifle Regiment'")
    with open_store(url) as store:
        assert store.revision() == latest_revision()
        assert set(store.sightings_frame()["unit"]) == {"423rd Motor Rifle Regiment"}
        assert store.stored_units() == []
