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


# --------------------------------------------------------------------------- orbat catalog resolve

def test_resolve_json_shape_and_steps(cli):
    result = cli("catalog", "resolve", "152mm 2A65 'Msta-B' howitzer", "Unknown T-72", "T-72B3", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ["2a65", "t-72", "t-72b3"]
    assert rows[0]["category"] == "towed-artillery" and rows[0]["how"][0] == "strip-calibre"
    assert rows[1]["how"] == ["unknown"]
    assert rows[2]["how"] == ["exact"]
    assert all(set(r) == {"name", "id", "category", "how", "suggestions"} for r in rows)


def test_resolve_unresolved_is_null_with_suggestions_and_exit_1(cli):
    result = cli("catalog", "resolve", "T-72B33", "--json")
    assert result.exit_code == 1
    (row,) = json.loads(result.stdout)
    assert row["id"] is None and row["category"] is None and row["how"] == []
    assert "T-72B3" in row["suggestions"]


def test_resolve_table_shows_the_path(cli):
    result = cli("catalog", "resolve", "BMP-1 or -2", "T-72B33")
    assert result.exit_code == 1
    assert "1 of 2 names resolve" in result.stdout
    assert "alternatives" in result.stdout and "did you mean" in result.stdout


def test_resolve_file_one_name_a_line(cli, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("\ufeff156 T-80BV\n\n  KamAZ 6x6 fuel tanker  \n=HYPERLINK(\"x\")\n", encoding="utf-8")
    result = cli("catalog", "resolve", "--file", names, "--json")
    assert result.exit_code == 1, result.output  # the formula-looking line does not resolve
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["156 T-80BV", "KamAZ 6x6 fuel tanker", '=HYPERLINK("x")']
    assert rows[0]["id"] == "t-80bv" and rows[0]["how"] == ["strip-counter"]
    assert rows[1]["category"] == "fuel-truck"


def test_resolve_missing_file_and_no_names_are_clear_errors(cli, tmp_path):
    result = cli("catalog", "resolve", "--file", tmp_path / "nope.txt")
    assert result.exit_code != 0 and "nope.txt" in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.output
    result = cli("catalog", "resolve")
    assert result.exit_code == 2 and "give one or more names" in result.stderr
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"T-72\xe9\n")
    result = cli("catalog", "resolve", "--file", bad)
    assert result.exit_code != 0 and "not UTF-8" in result.stderr


def test_resolve_uses_an_extra_catalog(cli, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "entries:\n  - {id: zubr-x, name: Zubr-X, family: Zubr, category: boat, role: combat,"
        " armoured: true, crew: 30}\n",
        encoding="utf-8",
    )
    result = cli("catalog", "resolve", "Zubr-X hovercraft", "--catalog", extra, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["id"] == "zubr-x"
