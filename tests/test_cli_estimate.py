"""`orbat estimate` from a file and from the database, human and JSON output, errors."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MALI_ESTIMATE = ROOT / "estimates" / "mali-2025-01-17" / "estimate.json"


def test_json_from_a_file(cli, mali_csv):
    result = cli("estimate", mali_csv, "--json")
    assert result.exit_code == 0, result.output
    [data] = json.loads(result.stdout)
    assert data["convoy"] == "bamako-2025-01-17"
    assert data["vehicles"]["total"] == 112
    best = data["best"]
    assert (best["template"], best["kind"], best["echelon"]) == ("expeditionary-btg", "combat", "battalion")
    units = {b["unit"]: b["count"] for b in best["breakdown"] if b["unit"] != "remainder"}
    assert units["tank platoon"] == 2 and units["IFV platoon"] == 2
    assert 0 < best["confidence"] <= 1
    assert best["personnel"]["min"] <= best["personnel"]["max"]


def test_human_output_names_the_unit_and_its_reasons(cli, mali_csv):
    result = cli("estimate", mali_csv)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "expeditionary battalion tactical group" in out
    assert "2 x tank platoon" in out and "2 x IFV platoon" in out
    assert "role logistics share 0.47 within" in out
    assert "alternatives" in out


def test_unknown_convoy_is_a_clear_error(cli, mali_csv):
    result = cli("estimate", mali_csv, "--convoy", "nowhere")
    assert result.exit_code == 1
    assert "Error: no sighting belongs to convoy 'nowhere'; known convoys: bamako-2025-01-17" in result.stderr
    assert "Traceback" not in result.output


def test_from_the_database(cli, mali_csv, db_url):
    imported = cli("import", mali_csv, "--db", db_url)
    assert imported.exit_code == 0, imported.output
    result = cli("estimate", "--db", db_url, "--convoy", "bamako-2025-01-17", "--json")
    assert result.exit_code == 0, result.output
    [data] = json.loads(result.stdout)
    assert data["best"]["template"] == "expeditionary-btg"
    assert data["vehicles"]["total"] == 112
    assert data["sightings"] == ["capmali-video-01", "social-photo-02"]


def test_a_doctrine_file_of_ones_own(cli, mali_csv, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "templates:\n"
        "  - id: expeditionary-btg\n"
        "    label: my Bamako column\n"
        "    kind: combat\n"
        "    echelon: regiment\n"
        "    description: an analyst's own reading\n"
        "    sources: [my notes]\n"
        "    typical: {mrap: 34, tank: 6}\n"
        "    rules:\n"
        "      - {rule: count-in-range, of: {category: mrap}, min: 30, max: 40, weight: 5}\n"
        "      - {rule: count-in-range, of: {category: tank}, min: 6, max: 7, weight: 5}\n",
        encoding="utf-8",
    )
    result = cli("estimate", mali_csv, "--doctrine", mine, "--json")
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)[0]["best"]
    # Same id: the analyst's template replaces the bundled one.
    assert (best["template"], best["label"], best["echelon"]) == ("expeditionary-btg", "my Bamako column", "regiment")


def test_a_bad_doctrine_file_is_one_clear_error(cli, mali_csv, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("templates:\n  - id: x\n    rules: [{rule: nope}]\n", encoding="utf-8")
    result = cli("estimate", mali_csv, "--doctrine", bad)
    assert result.exit_code == 1
    assert "unknown rule 'nope'" in result.stderr and "count-in-range" in result.stderr
    assert "Traceback" not in result.output


def test_an_invalid_sightings_file_names_row_and_column(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sighting_id,observed_at,equipment,count\na,2025-01-17,T-72B3,many\n", encoding="utf-8")
    result = cli("estimate", bad)
    assert result.exit_code == 1
    assert "count" in result.stderr and "2" in result.stderr
    assert "Traceback" not in result.output


def test_help_ends_with_an_example(cli):
    result = cli("estimate", "--help")
    assert result.exit_code == 0, result.output
    assert "Example: orbat estimate" in " ".join(result.output.split())


def test_the_worked_mali_estimate_is_up_to_date(cli, mali_csv):
    """estimates/mali-2025-01-17/estimate.json is what `orbat estimate ... --json` prints today."""
    result = cli("estimate", mali_csv, "--json")
    assert result.exit_code == 0, result.output
    stored = json.loads(MALI_ESTIMATE.read_text(encoding="utf-8"))
    assert stored == json.loads(result.stdout), (
        "regenerate: orbat estimate estimates/mali-2025-01-17/sightings.csv --json "
        "> estimates/mali-2025-01-17/estimate.json")


def test_markdown_assessment_of_the_bamako_convoy(cli, mali_csv):
    result = cli("estimate", mali_csv, "--markdown")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Convoy bamako-2025-01-17: expeditionary battalion tactical group")
    assert "| cargo-truck | logistics | 38 |" in text and "B2" in text


def test_markdown_and_json_are_exclusive(cli, mali_csv):
    result = cli("estimate", mali_csv, "--markdown", "--json")
    assert result.exit_code == 2
    assert "--json and --markdown" in result.stderr
