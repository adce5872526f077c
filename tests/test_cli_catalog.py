"""`orbat catalog list/show` through typer's CliRunner."""

from __future__ import annotations

import json


def test_list_json_is_every_entry(cli, catalog):
    result = cli("catalog", "list", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert len(entries) == len(catalog)
    assert {"id", "name", "aliases", "family", "category", "role", "crew", "passengers"} <= set(entries[0])


def test_list_by_category(cli):
    result = cli("catalog", "list", "--category", "tank", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert entries and {e["category"] for e in entries} == {"tank"}


def test_list_table_is_readable(cli):
    result = cli("catalog", "list", "--category", "ifv")
    assert result.exit_code == 0, result.output
    assert "BMP-3" in result.stdout and "equipment types" in result.stdout


def test_list_unknown_category_is_a_usage_error(cli):
    result = cli("catalog", "list", "--category", "spaceship")
    assert result.exit_code == 2
    assert "unknown category 'spaceship'" in result.stderr and "tank" in result.stderr
    assert "Traceback" not in result.output


def test_show_resolves_cyrillic(cli):
    result = cli("catalog", "show", "Т-72Б3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "T-72B3"


def test_show_table(cli):
    result = cli("catalog", "show", "msta-s")
    assert result.exit_code == 0, result.output
    assert "sp-artillery" in result.stdout


def test_show_unknown_name_suggests_and_exits_nonzero(cli):
    result = cli("catalog", "show", "T-72B33")
    assert result.exit_code == 1
    assert "unknown equipment 'T-72B33'" in result.stderr
    assert "did you mean" in result.stderr and "T-72B3" in result.stderr
    assert "Traceback" not in result.output


def test_extra_catalog_option(cli, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "entries:\n  - {id: ozelot, name: Ozelot, family: Wiesel, category: sam, role: combat-support,"
        " armoured: true, crew: 3}\n",
        encoding="utf-8",
    )
    result = cli("catalog", "show", "OZELOT", "--catalog", extra, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "ozelot"
