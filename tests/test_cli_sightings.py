"""`orbat sightings list/show/delete/restore/history`."""

from __future__ import annotations

import json

import pytest
from _frames import dump, mali_frame

from orbat.store import open_store


@pytest.fixture
def mali_db(store_url):
    """The Mali case imported (as the store gets it from `orbat import`), twice with one change."""
    frame = mali_frame()
    with open_store(store_url) as store:
        store.import_frame(frame, source="sightings.csv")
        changed = frame.copy()
        changed.loc[0, "count"] = 7
        store.import_frame(changed, source="sightings-v2.csv")
    return store_url


def test_list_table(cli, mali_db):
    result = cli("sightings", "list", "--db", mali_db)
    assert result.exit_code == 0, result.output
    assert "2 sightings" in " ".join(result.output.split())
    assert "capmali-video-01" in result.output and "social-photo-02" in " ".join(result.output.split())
    assert "113-117" in result.output  # vehicles of the video: counts to count_max


def test_list_json_is_the_nested_form(cli, mali_db):
    result = cli("sightings", "list", "--json", "--actor", "africa corps", "--db", mali_db)
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [i["sighting_id"] for i in items] == ["capmali-video-01", "social-photo-02"]
    assert items[0]["entries"][0] == {
        "equipment": "T-72", "equipment_id": "t-72", "count": 7, "count_max": 7, "mode": "driven",
        "notes": "cope cage against drones fitted", "event": "sighting", "captor": None,
        "actor": "Africa Corps", "unit": None, "tags": None,
        "markings": None,
    }
    assert sum(len(i["entries"]) for i in items) == 18


def test_list_filters(cli, mali_db):
    none = cli("sightings", "list", "--json", "--since", "2025-01-18", "--db", mali_db)
    assert none.exit_code == 0, none.output
    assert json.loads(none.stdout) == []
    one = cli("sightings", "list", "--json", "--until", "2025-01-17", "--convoy", "bamako-2025-01-17",
              "--db", mali_db)
    assert len(json.loads(one.stdout)) == 2


def test_list_bad_date_is_a_usage_error(cli, mali_db):
    result = cli("sightings", "list", "--since", "yesterday", "--db", mali_db)
    assert result.exit_code == 2
    assert "--since 'yesterday': expected a date YYYY-MM-DD" in result.stderr
    assert "Traceback" not in " ".join(result.output.split())


def test_show(cli, mali_db):
    result = cli("sightings", "show", "social-photo-02", "--db", mali_db)
    assert result.exit_code == 0, result.output
    assert "3 equipment types, 11 vehicles" in " ".join(result.output.split())
    assert "photo shared on social media" in " ".join(result.output.split())
    as_json = json.loads(cli("sightings", "show", "social-photo-02", "--json", "--db", mali_db).stdout)
    assert as_json["place"] == "Bamako" and as_json["imported_from"] == "sightings.csv"  # unchanged by v2


def test_show_unknown_id(cli, mali_db):
    result = cli("sightings", "show", "nope", "--db", mali_db)
    assert result.exit_code == 1
    assert result.stderr == "Error: no sighting has the id 'nope'\n"


def test_delete_and_restore(cli, mali_db):
    deleted = cli("sightings", "delete", "social-photo-02", "--db", mali_db)
    assert deleted.exit_code == 0, deleted.output
    assert "restore it with: orbat sightings restore social-photo-02" in deleted.output
    listed = json.loads(cli("sightings", "list", "--json", "--db", mali_db).stdout)
    assert [i["sighting_id"] for i in listed] == ["capmali-video-01"]
    with_archived = cli("sightings", "list", "--archived", "--db", mali_db)
    assert "social-photo-02" in with_archived.output and "archived_at" in with_archived.output
    assert dump(mali_db)["entries"]  # archived, not dropped

    restored = cli("sightings", "restore", "social-photo-02", "--db", mali_db)
    assert restored.exit_code == 0, restored.output
    assert restored.output == "Restored sighting social-photo-02.\n"
    again = cli("sightings", "restore", "social-photo-02", "--db", mali_db)
    assert "was not archived" in again.output
    assert len(json.loads(cli("sightings", "list", "--json", "--db", mali_db).stdout)) == 2


def test_delete_unknown_id_changes_nothing(cli, mali_db):
    before = dump(mali_db)
    result = cli("sightings", "delete", "nope", "--db", mali_db)
    assert result.exit_code == 1
    assert "no sighting has the id 'nope'" in result.stderr
    assert dump(mali_db) == before


def test_history(cli, mali_db):
    result = cli("sightings", "history", "capmali-video-01", "--db", mali_db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "capmali-video-01: 1 earlier version"
    assert lines[1].startswith("version 1: imported ") and "from sightings.csv; replaced" in lines[1]
    assert lines[1].endswith("by sightings-v2.csv")
    assert lines[2] == "  t-72 count: 6 -> 7"
    assert lines[3].startswith("current: since ") and lines[3].endswith("from sightings-v2.csv")
    data = json.loads(cli("sightings", "history", "capmali-video-01", "--json", "--db", mali_db).stdout)
    assert data["versions"][0]["imported_from"] == "sightings.csv"
    assert data["versions"][0]["replaced_by"] == "sightings-v2.csv"
    assert data["versions"][0]["sighting"]["entries"][0]["count"] == 6
    assert data["current"]["entries"][0]["count"] == 7
    unchanged = cli("sightings", "history", "social-photo-02", "--db", mali_db)
    assert "has not changed since it was first imported" in unchanged.output


def test_env_var_names_the_database(cli, mali_db):
    result = cli("sightings", "list", "--json", env={"ORBAT_DB": mali_db})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2


def test_a_missing_database_file_is_not_created(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("sightings", "list")
    assert result.exit_code == 1
    assert "orbat.db: no such database; import sightings first" in result.stderr
    assert not (tmp_path / "orbat.db").exists()


@pytest.mark.parametrize("command", ["list", "show", "delete", "restore", "history"])
def test_help_ends_with_an_example(cli, command):
    result = cli("sightings", command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example: orbat sightings " + command in " ".join(result.output.split())
