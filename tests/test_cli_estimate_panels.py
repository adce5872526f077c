"""The human view of one convoy (`orbat estimate --convoy X`) and its Markdown assessment (`orbat report
convoy X`) show what the estimate rests on: the naming-level merges, the tag indicators and the
alternatives with their probabilities. Text from the input stays text (no markup, no escapes)."""

from __future__ import annotations

import pytest

CONVOY = "mixed-levels"
HEADER = "sighting_id,convoy,observed_at,place,equipment,count,count_max,mode,source,reliability,credibility,notes,tags"
ROWS = [
    # The video names the tanks at family level (T-72, 6-7) and the trucks by type; bmpd names them
    # as T-72B3 (7) and "truck" (25): 7 tanks and 25 trucks, not 13 and 45.
    "video,mixed-levels,2025-01-17,Bamako,T-72,6,7,driven,video,B,2,,\"cope cage, [bold]Z[/bold]\"",
    "video,mixed-levels,2025-01-17,Bamako,Ural-4320,20,,driven,video,B,2,,",
    "video,mixed-levels,2025-01-17,Bamako,Toyota Hilux,4,,driven,video,B,2,,decoy",
    "bmpd,mixed-levels,2025-01-17,Bamako,T-72B3,7,,driven,bmpd,C,3,,",
    "bmpd,mixed-levels,2025-01-17,Bamako,truck,25,,driven,bmpd,C,3,,",
]
TANKS = "tank 7: bmpd, T-72B3 7; video's T-72 6-7 are the same vehicles"
TRUCKS = "cargo-truck 25: bmpd, truck 25; video's Ural-4320 20 are the same vehicles"


@pytest.fixture
def sightings(tmp_path):
    path = tmp_path / "sightings.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def test_panels_say_which_sighting_set_each_figure(cli, sightings):
    result = cli("estimate", sightings, "--convoy", CONVOY)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "32-36 vehicles in 2 sightings" in out  # 7 tanks, 25 trucks and 0-4 decoy pickups
    assert TANKS in out and TRUCKS in out


def test_panels_show_tag_indicators_and_decoys_as_a_range(cli, sightings):
    out = cli("estimate", sightings, "--convoy", CONVOY).stdout
    assert "cope cage on 6 of 7 tank" in out
    assert "4 utility tagged decoy: counted as 0-4, never as sure vehicles" in out
    # A tag is input: rich markup in it is printed as written, never interpreted.
    assert "[bold]z[/bold] on 6 of 7 tank" in out


def test_panels_list_alternatives_with_probabilities(cli, sightings):
    out = cli("estimate", sightings, "--convoy", CONVOY).stdout
    lines = out.splitlines()
    [header] = [line for line in lines if "probability" in line and "same answer" in line]
    assert header.index("probability") < header.index("same answer") < header.index("score")
    [best] = [line for line in lines if "(estimate)" in line]
    assert "logistics column" in best and "0.97" in best


def test_panels_mark_alternatives_that_give_the_same_answer(cli):
    from pathlib import Path

    case = Path(__file__).parent / "cases" / "recon-platoon.csv"
    out = cli("estimate", case).stdout
    # The reconnaissance platoon's runner-up (the patrol group) is also a combat platoon: "yes".
    [patrol] = [line for line in out.splitlines() if "reconnaissance or patrol group" in line and "%" in line]
    assert " yes " in patrol


def test_control_characters_in_tags_are_shown_as_question_marks(cli, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "\na,c,2025-01-17,x,T-72B3,3,,driven,v,B,2,,\"cage\x1b[31m\"\n", encoding="utf-8")
    result = cli("estimate", path)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "cage?[31m on 3 of 3 tank" in result.stdout


def test_markdown_assessment_shows_merges_tags_and_probabilities(cli, sightings, db_url):
    imported = cli("import", sightings, "--db", db_url)
    assert imported.exit_code == 0, imported.output
    result = cli("report", "convoy", CONVOY, "--db", db_url, "--md")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Merged across sightings (the same vehicles, counted once):" in text
    assert f"- {TANKS}" in text and f"- {TRUCKS}" in text
    assert "- cope cage on 6 of 7 tank" in text
    assert "counted as 0-4, never as sure vehicles" in text
    # Markup from a tag is escaped in Markdown, not rendered.
    assert "\\[bold\\]z\\[/bold\\] on 6 of 7 tank" in text
    assert "| template | label | probability | same answer | fit | scenarios won |" in text


def test_estimate_markdown_from_a_file_is_the_same_assessment(cli, sightings):
    result = cli("estimate", sightings, "--markdown")
    assert result.exit_code == 0, result.output
    assert f"- {TANKS}" in result.stdout and "- cope cage on 6 of 7 tank" in result.stdout


def test_panels_say_when_no_template_fits(cli, tmp_path):
    # Radars and mortar carriers: every template fails a required rule, none gives the same answer.
    path = tmp_path / "radars.csv"
    path.write_text(HEADER + "\na,radars,2025-05-03,Niamey,1L260,20,,driven,tg,E,2,,\n"
                    "a,radars,2025-05-03,Niamey,M1064 mortar carrier,6,,driven,tg,E,2,,\n", encoding="utf-8")
    result = cli("estimate", path, "--convoy", "radars")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("no template fits: every one fails a required rule (score 0)" in line for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("alternatives"))
    rows = [line for line in lines[start:] if "%" in line and "│" in line]
    assert rows[0].count("(estimate)") == 1 and len(rows) > 1
    assert all(" no " in line for line in rows[1:]), rows  # ruled out (score 0): never the same answer


def test_panels_of_a_fitting_convoy_have_no_fit_note(cli, sightings):
    assert "no template" not in cli("estimate", sightings, "--convoy", CONVOY).stdout
