"""`orbat import` and `orbat template` from the command line, against a real SQLite database."""

from __future__ import annotations

import json

import openpyxl
import pytest

from orbat.sightings import COLUMNS


def test_import_mali(cli, mali_csv, db_url, stored):
    result = cli("import", mali_csv, "--db", db_url)
    assert result.exit_code == 0, result.output
    assert f"imported {mali_csv}: 2 sightings added, 0 updated, 0 unchanged, 0 rejected (0 rows)" in result.stdout
    frame = stored(db_url)
    assert len(frame) == 18 and int(frame.groupby("equipment_id")["count"].max().sum()) == 112
    again = cli("import", mali_csv, "--db", db_url)
    assert again.exit_code == 0, again.output
    assert "0 sightings added, 0 updated, 2 unchanged" in again.stdout


def test_invalid_file_exits_1_lists_every_problem_and_imports_nothing(cli, mali_csv, db_url, tmp_path, stored):
    assert cli("import", mali_csv, "--db", db_url).exit_code == 0
    before = stored(db_url)
    lines = mali_csv.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",BTR,8,10,", ",BTR,eight,10,")  # row 4
    lines[6] = lines[6].replace("armoured truck", "flying saucer")  # row 7
    lines[17] = lines[17].replace(",BMP-3,4,", ",BMP-3,4000000000,")  # row 18
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("import", bad, "--db", db_url)
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert "nothing was imported" in err and "Traceback" not in result.output
    assert f"{bad}, row 4, column count: expected a whole number >= 0, got 'eight'" in err
    assert f"{bad}, row 7, column equipment: not in the equipment catalog, got 'flying saucer'" in err
    assert f"{bad}, row 18, column count: expected at most 10,000" in err
    assert stored(db_url).equals(before)


def test_skip_invalid_imports_the_rest_and_writes_rejects(cli, mali_csv, db_url, tmp_path, stored):
    lines = mali_csv.read_text(encoding="utf-8").splitlines()
    lines[17] = lines[17].replace(",BMP-3,4,", ",BMP-3,four,")  # social-photo-02 is refused whole
    path = tmp_path / "mali.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("import", path, "--skip-invalid", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "1 sightings added, 0 updated, 0 unchanged, 1 rejected (3 rows)" in result.stdout
    rejects = tmp_path / "mali.rejects.csv"
    assert rejects.exists()
    text = rejects.read_text(encoding="utf-8-sig").splitlines()
    assert text[0].startswith("row,sighting_id,") and text[0].endswith(",reason")
    assert [line.split(",")[0] for line in text[1:]] == ["17", "18", "19"]
    assert "expected a whole number" in text[2]
    assert stored(db_url)["sighting_id"].unique().tolist() == ["capmali-video-01"]


def test_unknown_column_is_an_error_with_a_suggestion(cli, db_url, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sighting_id,observed_at,equipement,count\na,2025-01-17,T-72B3,1\n", encoding="utf-8")
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 1
    assert "row 1, column equipement: unknown column (did you mean equipment?)" in result.stderr


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"sighting_id,observed_at,equipment,count\n", "no rows"),
    (b"\x00\x01\x02garbage", "binary"),
])
def test_unreadable_files_are_one_line_errors(cli, db_url, tmp_path, content, words):
    path = tmp_path / "s.csv"
    path.write_bytes(content)
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 1
    assert words in result.stderr and "Traceback" not in result.output


def test_text_named_xlsx_is_refused(cli, db_url, tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_text("sighting_id\n")
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 1 and "not a zip" in result.stderr


def test_cp1252_prints_a_note(cli, db_url, tmp_path, stored):
    path = tmp_path / "s.csv"
    path.write_bytes("sighting_id,observed_at,place,equipment,count\na,2025-01-17,Ségou,T-72B3,1\n".encode("cp1252"))
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Windows-1252" in result.stderr
    assert stored(db_url)["place"].tolist() == ["Ségou"]


def test_import_nested_json_from_the_store(cli, mali_csv, db_url, tmp_path):
    from orbat.catalog import load_catalog
    from orbat.sightings import frame_to_nested, read_sightings

    path = tmp_path / "mali.json"
    path.write_text(json.dumps(frame_to_nested(read_sightings(mali_csv, load_catalog()))), encoding="utf-8")
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "2 sightings added" in result.stdout
    assert cli("import", mali_csv, "--db", db_url).stdout.count("2 unchanged") == 1


def test_template_command_writes_dropdowns_and_refuses_to_overwrite(cli, db_url, tmp_path):
    out = tmp_path / "entry.xlsx"
    result = cli("template", out, "--db", db_url)
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out)["Sightings"]
    assert [c.value for c in ws[1]] == list(COLUMNS)
    kinds = sorted(dv.type for dv in ws.data_validations.dataValidation)
    assert kinds.count("list") >= 5 and "date" in kinds and "whole" in kinds and "decimal" in kinds
    again = cli("template", out, "--db", db_url)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert cli("template", out, "--force", "--db", db_url).exit_code == 0


def test_filled_template_imports_from_the_cli(cli, db_url, tmp_path, stored):
    out = tmp_path / "entry.xlsx"
    assert cli("template", out, "--db", db_url).exit_code == 0
    wb = openpyxl.load_workbook(out)
    ws = wb["Sightings"]
    import datetime as dt

    for c, value in enumerate(["t1", None, dt.datetime(2025, 1, 17), "Bamako", None, None, "Africa Corps",
                               "T-72", 6, 7], start=1):
        ws.cell(row=2, column=c, value=value)
    wb.save(out)
    result = cli("import", out, "--db", db_url)
    assert result.exit_code == 0, result.output
    frame = stored(db_url)
    assert frame["sighting_id"].tolist() == ["t1"] and frame["count_max"].tolist() == [7]


def test_import_help_ends_with_an_example(cli):
    for command in ("import", "add", "template"):
        result = cli(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Example: orbat " + command in " ".join(result.output.split())
