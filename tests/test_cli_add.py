"""`orbat add`: one sighting from flags or prompts, validated like an imported row."""

from __future__ import annotations

import pytest


def test_add_by_flags(cli, db_url, stored):
    result = cli("add", "--id", "v1", "--date", "2025-01-17", "--place", "Bamako", "--lat", "12.6", "--lon", "-8",
                 "--actor", "Africa Corps", "-e", "T-72=6-7", "-e", "BMP-3=4", "-e", "motorboat=2:carried",
                 "--grade", "B2", "--source", "https://example.org/v", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "added sighting v1 (3 entries, 12 vehicles)" in result.stdout
    frame = stored(db_url)
    assert frame["count"].tolist() == [6, 4, 2]
    assert frame["count_max"].tolist()[0] == 7
    assert frame["mode"].tolist() == ["driven", "driven", "carried"]
    assert frame["reliability"].unique().tolist() == ["B"] and frame["credibility"].unique().tolist() == [2]
    again = cli("add", "--id", "v1", "--date", "2025-01-17", "--place", "Bamako", "--lat", "12.6", "--lon", "-8",
                "--actor", "Africa Corps", "-e", "T-72=6-7", "-e", "BMP-3=4", "-e", "motorboat=2:carried",
                "--grade", "B2", "--source", "https://example.org/v", "--db", db_url)
    assert again.exit_code == 0 and "unchanged sighting v1" in again.stdout


def test_generated_id(cli, db_url, stored):
    result = cli("add", "--date", "2025-01-17", "-e", "T-72=1", "--db", db_url)
    assert result.exit_code == 0, result.output
    (sid,) = stored(db_url)["sighting_id"].tolist()
    assert sid.startswith("2025-01-17-") and len(sid) == len("2025-01-17-") + 8


@pytest.mark.parametrize("args, words", [
    (["-e", "T-72=six"], "--equipment 'T-72=six', column count: expected a whole number"),
    (["-e", "T-99=1"], "--equipment 'T-99=1', column equipment: not in the equipment catalog"),
    (["-e", "T-72=3-2"], "column count_max: expected a number >= count (3)"),
    (["-e", "T-72=1", "--lat", "95", "--lon", "0"], "column lat: expected a number between -90 and 90"),
    (["-e", "T-72=1", "--grade", "Z9"], "column reliability"),
    (["-e", "T-72=1", "--event", "captured", "--captor", "FAMa", "--date", "2999-01-01"], "not in the future"),
])
def test_invalid_flags_are_reported_like_file_rows(cli, db_url, args, words):
    if "--date" not in args:
        args = [*args, "--date", "2025-01-17"]
    result = cli("add", *args, "--db", db_url)
    assert result.exit_code == 1, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output


def test_malformed_equipment_spec_is_a_usage_error(cli, db_url):
    result = cli("add", "--date", "2025-01-17", "-e", "T-72", "--db", db_url)
    assert result.exit_code == 2 and "NAME=COUNT" in result.stderr


def test_missing_flags_without_a_terminal(cli, db_url):
    result = cli("add", "-e", "T-72=1", "--db", db_url)
    assert result.exit_code == 2 and "missing --date" in result.stderr


def test_prompts_when_a_terminal(cli, db_url, monkeypatch, stored):
    from orbat.cli import importing

    monkeypatch.setattr(importing, "_stdin_is_terminal", lambda: True)
    answers = "\n".join(["2025-01-17", "p1", "Bamako", "Africa Corps", "https://example.org/p", "C3",
                         "T-72=6", "Tigr=16-18", ""]) + "\n"
    result = cli("add", "--db", db_url, input=answers)
    assert result.exit_code == 0, result.output
    assert "added sighting p1 (2 entries, 22 vehicles)" in result.stdout
    frame = stored(db_url)
    assert frame["place"].unique().tolist() == ["Bamako"] and frame["reliability"].unique().tolist() == ["C"]
    assert frame["count_max"].tolist()[1] == 18


def test_prompts_ask_again_after_a_wrong_answer(cli, db_url, monkeypatch, stored):
    """A typo in a prompted date, grade or equipment name is asked again, not fatal at the end."""
    from orbat.cli import importing

    monkeypatch.setattr(importing, "_stdin_is_terminal", lambda: True)
    answers = "\n".join([
        "2025-13-45", "2099-01-01", "2025-01-17",   # not a date, in the future, then right
        "p2", "Kati", "Africa Corps", "",
        "T-72B3=2", "B2",                            # an equipment answer where the grade goes, then right
        "T-72B33=2", "T-72B3=2",                    # unknown name (suggested), then right
        "Ural-4320=4-5", "",
    ]) + "\n"
    result = cli("add", "--db", db_url, input=answers)
    assert result.exit_code == 0, result.output
    assert "expected a real calendar date" in result.output
    assert "expected a date not in the future" in result.output
    assert "expected an Admiralty grade" in result.output
    assert "did you mean" in result.output and "T-72B3" in result.output
    assert "added sighting p2 (2 entries, 6 vehicles)" in result.stdout
    frame = stored(db_url)
    assert frame["observed_at"].unique().tolist() == ["2025-01-17"]
    assert frame["reliability"].unique().tolist() == ["B"] and frame["credibility"].unique().tolist() == [2]
