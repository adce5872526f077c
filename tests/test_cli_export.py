"""`orbat export` and `orbat report convoy`, run as a user would."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

CONVOY = "bamako-2025-01-17"


@pytest.fixture
def loaded(cli, db_url, mali_csv):
    """A database holding the Mali case."""
    result = cli("import", mali_csv, "--db", db_url)
    assert result.exit_code == 0, result.output
    return db_url


def test_export_xlsx(cli, loaded, tmp_path):
    out = tmp_path / "report.xlsx"
    result = cli("export", out, "--db", loaded, "--convoy", CONVOY)
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}: 1 convoy(s), 2 sighting(s), 18 row(s); filters: convoy = {CONVOY}." in result.output
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Summary"
    assert wb["Summary"]["B3"].value == f"convoy = {CONVOY}"
    assert wb["Summary"]["A7"].value == CONVOY


def test_export_csv_json_and_folder(cli, loaded, tmp_path):
    result = cli("export", tmp_path / "r.csv", "--db", loaded)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r-summary.csv").exists() and (tmp_path / "r-sightings.csv").exists()
    result = cli("export", tmp_path / "r.json", "--db", loaded, "--actor", "Africa Corps", "--since", "2025-01-01")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["filters"] == {"actor": "Africa Corps", "since": "2025-01-01"}
    assert data["summary"][0]["vehicles"] == 112
    result = cli("export", f"{tmp_path / 'tables'}/", "--db", loaded)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tables" / "trace.csv").exists()


def test_export_with_no_match_is_an_error_and_writes_nothing(cli, loaded, tmp_path):
    out = tmp_path / "r.xlsx"
    result = cli("export", out, "--db", loaded, "--until", "2024-12-31")
    assert result.exit_code == 1
    assert "no sightings in" in result.stderr and "match the filters (until 2024-12-31)" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_export_unknown_suffix_is_a_usage_error(cli, loaded, tmp_path):
    result = cli("export", tmp_path / "r.docx", "--db", loaded)
    assert result.exit_code == 2
    assert "cannot tell the format from '.docx'" in result.stderr


def test_export_without_a_database_says_so(cli, tmp_path):
    result = cli("export", tmp_path / "r.xlsx", "--db", tmp_path / "none.db")
    assert result.exit_code != 0
    assert result.stderr.startswith("Error:")
    assert not (tmp_path / "none.db").exists()


def test_report_convoy_markdown(cli, loaded):
    result = cli("report", "convoy", CONVOY, "--db", loaded, "--md")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"# Convoy {CONVOY}: ")
    assert "## Decisive rules" in result.stdout and "| B2 |" in result.stdout


def test_report_convoy_to_file_and_rendered(cli, loaded, tmp_path):
    out = tmp_path / "bamako.md"
    result = cli("report", "convoy", CONVOY, "--db", loaded, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith(f"# Convoy {CONVOY}")
    result = cli("report", "convoy", CONVOY, "--db", loaded)
    assert result.exit_code == 0, result.output
    assert "Decisive rules" in result.stdout and "## " not in result.stdout  # rendered, not raw


def test_report_unknown_convoy(cli, loaded):
    result = cli("report", "convoy", "nope", "--db", loaded)
    assert result.exit_code == 1
    assert "no convoy 'nope'" in result.stderr
