"""Bounded, defused .xlsx reading."""

from __future__ import annotations

import datetime as dt
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from orbat.errors import InputFileError
from orbat.excel.reader import check_zip, read_xlsx_table
from orbat.sightings import COLUMNS, read_sightings

TODAY = dt.date(2025, 6, 1)


def workbook(path: Path, rows, *, title="Sightings", header=COLUMNS, extra_first_sheet=False) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if extra_first_sheet:
        ws.title = "Notes"
        ws["A1"] = "not the data"
        ws = wb.create_sheet(title)
    else:
        ws.title = title
    ws.append(list(header))
    for r in rows:
        ws.append([r.get(c) for c in header])
    wb.save(path)
    return path


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_excel_dates_and_serial_numbers_become_iso(tmp_path, cat):
    path = workbook(tmp_path / "s.xlsx", [
        {"sighting_id": "a", "observed_at": dt.datetime(2025, 1, 17), "equipment": "T-72B3", "count": 6},
        {"sighting_id": "b", "observed_at": 45674, "equipment": "T-72B3", "count": 6.0},
        {"sighting_id": "c", "observed_at": dt.datetime(2025, 1, 17, 10, 29, 59, 999_800), "equipment": "BMP-3",
         "count": 1, "lat": 12.545009, "lon": -8.120543, "credibility": 2},
    ])
    header, rows, _parts = read_xlsx_table(path)
    assert header == list(COLUMNS)
    frame = read_sightings(path, cat, today=TODAY)
    assert frame["observed_at"].tolist() == ["2025-01-17", "2025-01-17", "2025-01-17T10:30:00"]
    assert frame["count"].tolist() == [6, 6, 1]
    assert frame["lat"].tolist()[2] == 12.545009 and frame["credibility"].tolist()[2] == 2


def test_sightings_sheet_is_preferred(tmp_path, cat):
    path = workbook(tmp_path / "s.xlsx", [{"sighting_id": "a", "observed_at": "2025-01-17", "equipment": "T-72B3",
                                           "count": 2}], extra_first_sheet=True)
    assert read_sightings(path, cat, today=TODAY)["count"].tolist() == [2]


def test_row_numbers_are_sheet_rows(tmp_path, cat):
    path = tmp_path / "s.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    ws.append(["a", None, "2025-01-17", None, None, None, None, "T-72B3", 1])
    ws.cell(row=9, column=1, value="b")
    ws.cell(row=9, column=3, value="2025-01-17")
    ws.cell(row=9, column=8, value="T-72B3")
    ws.cell(row=9, column=9, value="lots")
    wb.save(path)
    from orbat.errors import InvalidSightings

    with pytest.raises(InvalidSightings) as info:
        read_sightings(path, cat, today=TODAY)
    (problem,) = info.value.problems
    assert (problem.row, problem.column) == (9, "count")


def test_text_file_named_xlsx(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_text("sighting_id,observed_at\n")
    with pytest.raises(InputFileError, match="not a zip"):
        read_xlsx_table(path)


def test_random_bytes_named_xlsx(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputFileError):
        read_xlsx_table(path)


def test_truncated_xlsx(tmp_path):
    good = workbook(tmp_path / "good.xlsx", [{"sighting_id": "a"}])
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputFileError, match="cut.xlsx"):
        read_xlsx_table(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "s.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InputFileError, match="not an Excel"):
        read_xlsx_table(path)


def test_old_xls_is_named(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(InputFileError, match=r"\.xls"):
        read_xlsx_table(path)


def test_zip_bomb_is_refused_quickly(tmp_path):
    good = workbook(tmp_path / "good.xlsx", [{"sighting_id": "a"}])
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                continue
            dst.writestr(info, src.read(info.filename))
        with dst.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b" " * (1 << 20)
            for _ in range(64):  # 64 MiB of spaces: compresses about 1000 to 1
                sheet.write(chunk)
    assert bomb.stat().st_size < 1_000_000
    started = time.monotonic()
    with pytest.raises(InputFileError, match="zip bomb"):
        read_xlsx_table(bomb)
    assert time.monotonic() - started < 5  # refused from the directory, not by inflating


def test_declared_size_limit(tmp_path):
    good = workbook(tmp_path / "good.xlsx", [{"sighting_id": "a"}])
    with pytest.raises(InputFileError, match="inflate"):
        check_zip(good, max_uncompressed=100)


def test_row_limit(tmp_path):
    path = workbook(tmp_path / "s.xlsx", [{"sighting_id": str(i)} for i in range(10)])
    with pytest.raises(InputFileError, match="more than 5 rows"):
        read_xlsx_table(path, max_rows=5)


def test_empty_sheet(tmp_path):
    path = tmp_path / "s.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(InputFileError, match="empty"):
        read_xlsx_table(path)


def test_a_continued_table_is_read_in_sheet_order_and_its_cells_count_together(tmp_path):
    wb = openpyxl.Workbook()
    for n, title in enumerate(["Sightings", "Notes", "Sightings (3)", "Sightings (2)"]):
        ws = wb.active if n == 0 else wb.create_sheet(title)
        ws.title = title
        ws.append(["sighting_id", "count"])
        if title != "Notes":
            ws.append([f"{title}-a", 1])
            ws.append([f"{title}-b", 2])
    ws = wb.create_sheet("Sightings (5)")  # (4) is missing: (5) is not a continuation
    ws.append(["sighting_id", "count"])
    ws.append(["stray", 9])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    header, rows, parts = read_xlsx_table(path)
    assert header == ["sighting_id", "count"]
    assert [r[0] for r in rows] == ["Sightings-a", "Sightings-b", "Sightings (2)-a", "Sightings (2)-b",
                                    "Sightings (3)-a", "Sightings (3)-b"]
    assert parts == [("Sightings", 2), ("Sightings (2)", 2), ("Sightings (3)", 2)]
    assert len(read_xlsx_table(path, continued=False)[1]) == 2  # the first sheet alone
    with pytest.raises(InputFileError, match=r"the sheets up to 'Sightings \(3\)' have more than 10 cells"):
        read_xlsx_table(path, max_cells=10)
