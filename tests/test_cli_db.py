"""`orbat db upgrade` and `orbat db status`."""

from __future__ import annotations

import json

import pytest
from _frames import dump, mali_frame

from orbat.store import latest_revision, open_store


def test_upgrade_creates_then_is_a_no_op(cli, store_url):
    first = cli("db", "upgrade", "--db", store_url)
    assert first.exit_code == 0, first.output
    assert f"created the schema at revision {latest_revision()}" in first.output
    again = cli("db", "upgrade", "--db", store_url)
    assert again.exit_code == 0, again.output
    assert f"already at the latest revision {latest_revision()}" in again.output
    assert dump(store_url)["alembic_version"] == [(latest_revision(),)]


def test_status_json_counts_rows(cli, store_url):
    with open_store(store_url) as store:
        store.import_frame(mali_frame(), source="sightings.csv")
        store.delete_sighting("social-photo-02")
    result = cli("db", "status", "--json", "--db", store_url)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["revision"] == info["latest"] == latest_revision()
    assert info["up_to_date"] is True
    assert info["counts"] == {"sightings": 1, "archived sightings": 1, "entries": 18,
                              "old versions": 0, "imports": 1}


def test_status_table(cli, store_url):
    cli("db", "upgrade", "--db", store_url)
    result = cli("db", "status", "--db", store_url)
    assert result.exit_code == 0, result.output
    assert f"schema revision: {latest_revision()}; latest known: {latest_revision()} (up to date)" in " ".join(result.output.split())
    assert "sightings: 0" in " ".join(result.output.split())


def test_status_of_a_missing_file(cli, tmp_path):
    result = cli("db", "status", "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 1
    assert "none.db: no such database" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_plain_path_is_a_sqlite_file(cli, tmp_path):
    result = cli("db", "upgrade", "--db", str(tmp_path / "plain.db"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plain.db").exists()


def test_not_a_database(cli, tmp_path):
    bogus = tmp_path / "x.db"
    bogus.write_bytes(b"\x00garbage" * 512)
    result = cli("db", "status", "--db", str(bogus))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {bogus}: cannot open the database: file is not a database")
    assert "Traceback" not in " ".join(result.output.split())


@pytest.mark.parametrize("command", ["upgrade", "status"])
def test_help_ends_with_an_example(cli, command):
    result = cli("db", command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example: orbat db " + command in " ".join(result.output.split())
