"""Text from the internet printed by the CLI: rich markup in it is shown as text, never parsed."""

from __future__ import annotations

import pytest

HOSTILE = """sighting_id,convoy,observed_at,equipment,count,notes,place,actor,source
s[/x]1,c[/bold]1,2025-01-17,T-72,3,"[red]note Т-72 [/]",[/link],[bold]act,[/]src
"""


@pytest.fixture
def hostile_db(cli, tmp_path, db_url):
    path = tmp_path / "hostile.csv"
    path.write_text(HOSTILE, encoding="utf-8")
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 0, result.output
    return db_url, path


@pytest.mark.parametrize(
    "args, shown",
    [
        (("sightings", "list"), "c[/bold]1"),
        (("sightings", "show", "s[/x]1"), "[red]note Т-72 [/]"),
        (("estimate",), "c[/bold]1"),
        (("inventory",), "[bold]act"),
        (("report", "convoy", "c[/bold]1"), "[/link]"),
    ],
)
def test_markup_in_data_is_printed_as_text(cli, hostile_db, args, shown):
    db_url, _ = hostile_db
    result = cli(*args, "--db", db_url, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert shown in result.stdout


def test_estimate_from_file_with_markup(cli, hostile_db):
    _, path = hostile_db
    result = cli("estimate", path)
    assert result.exit_code == 0, result.output
    assert "c[/bold]1" in result.stdout and "tank platoon" in result.stdout
