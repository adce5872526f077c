"""The Excel entry template: dropdowns, instructions, and a filled-in template imports."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from orbat.excel.template import write_template
from orbat.sightings import COLUMNS, read_sightings



def validations(ws) -> dict[str, object]:
    """Data validations by the column letter of the range they cover."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        first = str(dv.sqref).split(":")[0]
        out[COLUMNS[openpyxl.utils.column_index_from_string(first.rstrip("0123456789")) - 1]] = dv
    return out


def test_template_has_header_dropdowns_and_instructions(tmp_path, cat):
    path = write_template(tmp_path / "t.xlsx", cat, actors=["Africa Corps", "FAMa"])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Sightings" and "Instructions" in wb.sheetnames
    ws = wb["Sightings"]
    assert [c.value for c in ws[1]] == list(COLUMNS)
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    assert ws["H1"].comment is not None
    dvs = validations(ws)
    assert dvs["equipment"].type == "list" and dvs["equipment"].formula1.startswith("=Lists!$A$2")
    lists = wb["Lists"]
    assert lists.sheet_state == "hidden"
    names = [c.value for c in lists["A"][1:] if c.value]
    assert sorted(names, key=str.casefold) == sorted((e.name for e in cat), key=str.casefold)
    assert dvs["actor"].formula1 == "=Lists!$B$2:$B$3"
    assert dvs["mode"].formula1 == '"driven,carried"'
    assert "captured" in dvs["event"].formula1
    assert dvs["reliability"].formula1 == '"A,B,C,D,E,F"'
    assert dvs["credibility"].formula1 == '"1,2,3,4,5,6"'
    assert dvs["observed_at"].type == "date"
    assert dvs["count"].type == "whole" and dvs["count"].formula2 == "10000"
    assert dvs["count_max"].type == "whole"
    assert dvs["lat"].type == "decimal" and (dvs["lat"].formula1, dvs["lat"].formula2) == ("-90", "90")
    assert dvs["lon"].type == "decimal" and dvs["lon"].formula2 == "180"
    instructions = " ".join(str(c.value) for row in wb["Instructions"].iter_rows() for c in row if c.value)
    assert "usually reliable" in instructions and "probably true" in instructions and "count_max" in instructions


def test_filled_template_imports(tmp_path, cat):
    path = write_template(tmp_path / "t.xlsx", cat)
    wb = openpyxl.load_workbook(path)
    ws = wb["Sightings"]
    day = dt.datetime(2025, 1, 17)
    rows = [["v1", "c1", day, "Bamako", 12.5, -8.1, "Africa Corps", "T-72B3", 6, 7, "driven",
             "https://example.org/v1", "B", 2, None, None, None],
            ["v1", "c1", day, "Bamako", 12.5, -8.1, "Africa Corps", "motorboat", 2, None, "carried",
             "https://example.org/v1", "B", 2, "on trailers", None, None]]
    for r, values in enumerate(rows, start=2):  # the first formatted rows, as an analyst types them
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=value)
    wb.save(path)
    frame = read_sightings(path, cat, today=dt.date(2025, 6, 1))
    assert frame["equipment_id"].tolist() == ["test-t-72b3", "test-motorboat"]
    assert frame["observed_at"].tolist() == ["2025-01-17", "2025-01-17"]
    assert frame["mode"].tolist() == ["driven", "carried"]


def test_empty_template_is_refused_as_having_no_rows(tmp_path, cat):
    from orbat.errors import InputFileError

    path = write_template(tmp_path / "t.xlsx", cat)
    with pytest.raises(InputFileError, match="no rows"):
        read_sightings(path, cat)
