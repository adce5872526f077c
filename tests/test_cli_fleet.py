"""`orbat fleet`: from a file or the database, table and JSON, rejected markings named by row, bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "estimates" / "mali-ledger" / "sightings.csv"
HEADER = ("sighting_id,convoy,observed_at,place,lat,lon,actor,equipment,count,count_max,mode,source,"
          "reliability,credibility,notes,event,captor,markings\n")


def ok(result):
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def serials_csv(tmp_path) -> Path:
    path = tmp_path / "tb2.csv"
    path.write_text(
        HEADER
        + "a,,2023-03-16,,,,FAMa,TB2,1,,driven,,B,2,,arrival,,TZ-19D\n"
        + "b,,2023-06-01,,,,Malian Armed Forces,Bayraktar TB2,3,,driven,,C,3,,sighting,,TZ-40D;TZ-42D;TZ-7\n"
        + "\n"
        + "c,,2024-01-04,,,,FAMa,TB2,2,,driven,,B,2,,arrival,,TZ-60D; TZ-19D\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def tactical_csv(tmp_path) -> Path:
    lines = [HEADER]
    for i in range(4):
        ids = ";".join(str(100 + j) for j in range(5 * i, 5 * i + 5))
        lines.append(f"p1-{i},,2024-03-0{i + 1},,,,Wagner,T-72B3,5,,driven,,C,3,,sighting,,{ids}\n")
    for i in range(4):
        ids = ";".join(str(110 + j) for j in range(5 * i, 5 * i + 5))
        lines.append(f"p2-{i},,2024-09-0{i + 1},,,,Wagner,T-72B3,5,,driven,,C,3,,sighting,,{ids}\n")
    path = tmp_path / "tactical.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_serials_from_a_file(cli, serials_csv):
    result = ok(cli("fleet", serials_csv))
    lines = result.stdout.splitlines()
    assert "FAMa, Bayraktar TB2: 4 distinct serials, highest 60: N = 60 + 60/4 - 1 = 74, 90% interval 60-125" in lines
    assert any(line.startswith("Assumes (serial): serials run from 1 to N") for line in lines)
    table = next(line for line in lines if "FAMa" in line and "serial" in line and "│" in line)
    assert [c.strip() for c in table.strip("│").split("│")] == [
        "FAMa", "Bayraktar TB2", "serial", "74", "60-125 (90%)", "4", "3"]
    # the marking that is not a serial: named by file and row (the blank row 4 counted, as Excel does)
    assert result.stderr == (f"Note: {serials_csv}, row 3, column markings: does not match the serial pattern "
                             "'TZ-(\\d+)D', got 'TZ-7'; not used\n")


def test_json_and_level(cli, serials_csv):
    (found,) = json.loads(ok(cli("fleet", serials_csv, "--json", "--level", "0.95")).stdout)
    assert {k: found[k] for k in ("actor", "equipment", "method", "estimate", "low", "high", "distinct",
                                  "evidence")} == {
        "actor": "FAMa", "equipment": "bayraktar-tb2", "method": "serial", "estimate": 74, "low": 60,
        "high": found["high"], "distinct": 4, "evidence": ["a", "b", "c"]}
    assert found["high"] > 125 and found["level"] == 0.95
    assert found["arithmetic"].endswith(f"95% interval 60-{found['high']}")


def test_capture_recapture_with_a_split_and_the_assumptions(cli, tactical_csv):
    result = ok(cli("fleet", tactical_csv, "--split", "2024-06-01", "--as-of", "2025-01-01"))
    assert ("Wagner Group, T-72B3: 20 distinct markings before 2024-06-01, 20 from 2024-06-01 on, 10 seen in both: "
            "N = (20+1)(20+1)/(10+1) - 1 = 39.1, 90% interval ") in result.stdout
    # Without --as-of, today's successions apply: Wagner's vehicles, markings and all, are Africa Corps'.
    result = ok(cli("fleet", tactical_csv, "--split", "2024-06-01"))
    assert "Africa Corps, T-72B3: 20 distinct markings before 2024-06-01" in result.stdout
    assert ("  note: includes the markings of Wagner Group (succeeded by Africa Corps on 2025-06-06): the same "
            "vehicles under their new holder") in result.stdout
    assert "Assumes (capture-recapture): the fleet is closed between the two periods" in result.stdout
    (found,) = json.loads(ok(cli("fleet", tactical_csv, "--json")).stdout)
    assert (found["n1"], found["n2"], found["m"], found["split"]) == (20, 20, 10, "2024-09-01")


def test_few_resighted_is_a_warning(cli, tactical_csv):
    result = ok(cli("fleet", tactical_csv, "--split", "2024-03-02"))  # p1-0 alone before: 100..104, none again
    assert "no interval" in result.stdout
    assert "warning: only 0 re-sighted (fewer than 3)" in result.stdout


def test_serial_options(cli, tactical_csv):
    (found,) = json.loads(ok(cli("fleet", tactical_csv, "--serials", "--json")).stdout)
    assert (found["method"], found["k"], found["m"]) == ("serial", 30, 129)
    result = cli("fleet", tactical_csv, "--serial-pattern", r"(1\d)\d", "--json")
    (found,) = json.loads(ok(result).stdout)
    assert (found["k"], found["m"]) == (3, 12)
    assert "Note: " not in result.stderr


def test_from_the_database_after_add_with_markings(cli, db_url):
    ok(cli("import", LEDGER, "--db", db_url))
    ok(cli("add", "--db", db_url, "--id", "new-serial", "--date", "2024-06-01", "--actor", "FAMa",
           "-e", "TB2=1", "--marking", "TZ-21D"))
    (found,) = json.loads(ok(cli("fleet", "--db", db_url, "--json", "--equipment", "TB2")).stdout)
    assert found["identifiers"] == ["TZ-06D", "TZ-17D", "TZ-21D"]
    assert found["evidence"] == ["fama-ceremony-2023-03-16", "fama-ceremony-2024-01-04", "new-serial"]
    earlier = json.loads(ok(cli("fleet", "--db", db_url, "--json", "--as-of", "2024-01-31")).stdout)
    assert [(e["distinct"], e["estimate"]) for e in earlier] == [(2, 24.5)]
    assert json.loads(ok(cli("fleet", "--db", db_url, "--json", "--actor", "Wagner")).stdout) == []
    shown = ok(cli("sightings", "show", "new-serial", "--db", db_url)).stdout
    assert "markings" in shown and "TZ-21D" in shown
    assert "markings" not in ok(cli("sightings", "show", "csp-tinzaouaten-2024-07-27", "--db", db_url)).stdout


def test_a_marked_row_of_the_database_is_named_by_its_sighting(cli, db_url):
    ok(cli("add", "--db", db_url, "--id", "s1", "--date", "2024-06-01", "-e", "TB2=2", "--marking", "TZ-3D;X1"))
    result = ok(cli("fleet", "--db", db_url))
    assert result.stderr == ("Note: sighting 's1' (bayraktar-tb2), column markings: does not match the serial "
                             "pattern 'TZ-(\\d+)D', got 'X1'; not used\n")


def test_ledger_inventory_shows_the_fleet_beside_the_lower_bound(cli):
    result = ok(cli("inventory", LEDGER, "--actor", "FAMa", "--as-of", "2025-06-30"))
    assert ("  Bayraktar TB2: holdings 9-12 are a lower bound; fleet estimate 24.5, 90% interval 17-74 "
            "(serial, `orbat fleet`)") in result.stdout.splitlines()
    got = json.loads(ok(cli("inventory", LEDGER, "--actor", "FAMa", "--json")).stdout)
    tb2 = next(h for h in got if h["equipment"] == "bayraktar-tb2")
    assert (tb2["holdings"], tb2["holdings_max"]) == (9, 12)
    assert tb2["fleet"] == {"method": "serial", "estimate": 24.5, "low": 17, "high": 74, "level": 0.9, "distinct": 2}
    assert all("fleet" not in h for h in got if h["equipment"] != "bayraktar-tb2")


def test_nothing_to_estimate(cli, tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(HEADER + "a,,2024-01-01,,,,FAMa,TB2,2,,driven,,,,,,,\n", encoding="utf-8")
    result = ok(cli("fleet", path))
    assert result.stdout == "No fleet estimates: no sightings with usable markings match (see the markings column).\n"


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--level", "1.2"], 2, "--level 1.2: expected a confidence level from 0.5 to below 1"),
    (["--serial-pattern", "TZ-("], 2, "--serial-pattern 'TZ-(': not a regular expression"),
    (["--split", "17/01/2025"], 2, "--split '17/01/2025': expected a date YYYY-MM-DD"),
    (["--equipment", "Zorblax 9000"], 1, "unknown equipment 'Zorblax 9000'"),
])
def test_bad_options_are_one_line_errors(cli, serials_csv, args, code, message):
    result = cli("fleet", serials_csv, *args)
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("Error: " + message)
    assert "Traceback" not in result.output


def test_an_invalid_file_is_reported_by_row(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "a,,2024-01-01,,,,FAMa,TB2,1,,driven,,,,,,,TZ-1D;TZ-2D\n", encoding="utf-8")
    result = cli("fleet", path)
    assert result.exit_code == 1
    assert (f"{path}, row 2, column markings: expected at most 1 identifiers (the row's vehicles), found 2, "
            "got 'TZ-1D;TZ-2D'") in result.stderr


def test_export_has_a_fleet_sheet_and_the_sightings_sheet_reimports_the_markings(cli, db_url, tmp_path, stored):
    import openpyxl

    ok(cli("import", LEDGER, "--db", db_url))
    out = tmp_path / "report.xlsx"
    ok(cli("export", out, "--db", db_url))
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[-1] == "Fleet"
    rows = list(wb["Fleet"].iter_rows(values_only=True))
    assert rows[0][:9] == ("actor", "equipment", "name", "method", "estimate", "low", "high", "level", "distinct")
    assert rows[1][:9] == ("FAMa", "bayraktar-tb2", "Bayraktar TB2", "serial", 24.5, 17, 74, 0.9, 2)
    inventory = list(wb["Inventory"].iter_rows(values_only=True))
    header = list(inventory[0])
    tb2 = next(r for r in inventory if r[1] == "bayraktar-tb2")
    assert header[header.index("holdings max") + 1:header.index("holdings max") + 5] == [
        "fleet estimate", "fleet low", "fleet high", "fleet method"]
    assert tb2[header.index("fleet estimate")] == 24.5
    again = tmp_path / "again.db"
    ok(cli("import", out, "--db", f"sqlite:///{again}"))
    assert stored(f"sqlite:///{again}")["markings"].dropna().tolist() == ["TZ-06D", "TZ-17D"]
    csv_out = tmp_path / "report.csv"
    ok(cli("export", csv_out, "--db", db_url))
    assert (tmp_path / "report-fleet.csv").read_text(encoding="utf-8").splitlines()[1].startswith(
        "FAMa,bayraktar-tb2,Bayraktar TB2,serial,24.5,17,74,0.9,2,")


@pytest.mark.libreoffice
@pytest.mark.slow
def test_fleet_sheet_reads_back_in_libreoffice(tmp_path, catalog):
    from test_libreoffice import convert

    from orbat.excel.report import write_workbook
    from orbat.report import build_report
    from orbat.sightings import read_sightings

    hostile = tmp_path / "hostile.csv"
    hostile.write_text(HEADER + "a,,2024-01-01,,,,=HYPERLINK(\"x\"),T-72B3,2,,driven,,,,,,,=1+1;-2\n"
                       + "b,,2024-06-01,,,,=HYPERLINK(\"x\"),T-72B3,1,,driven,,,,,,,-2\n", encoding="utf-8")
    report = build_report(read_sightings(hostile, catalog), catalog)
    sheets = convert(tmp_path, write_workbook(report, tmp_path / "fleet.xlsx"))
    fleet = sheets["Fleet"]
    assert fleet[0][:4] == ["actor", "equipment", "name", "method"]
    assert fleet[1][0] == '=HYPERLINK("x")' and fleet[1][3] == "capture-recapture"
    assert fleet[0][12] == "identifiers" and fleet[1][12] == "=1+1; -2"  # as written, never evaluated
    sightings = sheets["Sightings"]
    assert [r[-1] for r in sightings[1:]] == ["=1+1;-2", "-2"]


def test_the_entry_template_has_a_markings_column_that_imports(cli, tmp_path, db_url):
    import openpyxl

    path = tmp_path / "entry.xlsx"
    ok(cli("template", path))
    wb = openpyxl.load_workbook(path)
    ws = wb["Sightings"]
    header = [c.value for c in ws[1]]
    assert header[-1] == "markings" and "separated by ;" in ws.cell(row=1, column=len(header)).comment.text
    assert any("markings" in str(c.value) for row in wb["Instructions"].iter_rows() for c in row)
    values = {"sighting_id": "v1", "observed_at": "2024-01-04", "actor": "FAMa", "equipment": "Bayraktar TB2",
              "count": 2, "markings": "TZ-16D; TZ-17D"}
    for name, value in values.items():
        ws.cell(row=2, column=header.index(name) + 1, value=value)
    # a number typed into the markings cell is a marking too
    values.update(sighting_id="v2", observed_at="2024-02-01", equipment="T-72B3", markings=231)
    for name, value in values.items():
        ws.cell(row=3, column=header.index(name) + 1, value=value)
    wb.save(path)
    ok(cli("import", path, "--db", db_url))
    found = {e["equipment"]: e for e in json.loads(ok(cli("fleet", "--db", db_url, "--json", "--serials")).stdout)}
    assert found["bayraktar-tb2"]["identifiers"] == ["TZ-16D", "TZ-17D"]
    assert found["t-72b3"]["identifiers"] == ["231"]
