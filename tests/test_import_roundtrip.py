"""Round trips: valid sightings written as CSV, XLSX and JSON read back to the same canonical frame,
and import to the same database content, whatever the order and however often."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.sightings import (
    COLUMNS, escape_formula_text, frame_to_nested, frame_to_records, raw_from_records, read_sightings,
    validate_frame,
)

TODAY = dt.date(2025, 6, 1)
NAMES = ["T-72B3", "Т-72", "BMP-3", "btr-82a", "Tigr", "Урал-4320", "motorboat", "ambulance"]


text = st.text(alphabet="abcXYZ019 =+-@'\",;éБ", min_size=1, max_size=12).map(str.strip).filter(bool)
maybe = st.none() | text


def markings(most: int):
    """A canonical markings value: up to ``most`` distinct identifiers (spacing and case aside), or None."""
    one = st.text(alphabet="abcXYZ019 -=+@'\"é", min_size=1, max_size=8).map(lambda t: " ".join(t.split())).filter(bool)
    return st.lists(one, max_size=most, unique_by=str.upper).map(lambda ids: ";".join(ids) or None)


@st.composite
def sightings(draw):
    """Records (interchange columns) of 1-4 valid sightings."""
    records = []
    for n in range(draw(st.integers(1, 4))):
        day = draw(st.dates(dt.date(2000, 1, 1), TODAY))
        when = day.isoformat() if draw(st.booleans()) else f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:15:00"
        has_coords = draw(st.booleans())
        shared = {
            "sighting_id": f"{draw(text)}-{n}", "convoy": draw(maybe), "observed_at": when, "place": draw(maybe),
            "lat": round(draw(st.floats(-90, 90)), 6) if has_coords else None,
            "lon": round(draw(st.floats(-180, 180)), 6) if has_coords else None,
            "actor": draw(maybe), "source": draw(maybe),
            "reliability": draw(st.none() | st.sampled_from("ABCDEF")),
            "credibility": draw(st.none() | st.integers(1, 6)),
        }
        for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True)):
            count = draw(st.integers(0, 10_000))
            event = draw(st.sampled_from(["sighting", "arrival", "destroyed", "captured"]))
            records.append({**shared, "equipment": name, "count": count,
                            "count_max": draw(st.none() | st.integers(count, 10_000)),
                            "mode": draw(st.sampled_from(["driven", "carried"])), "notes": draw(maybe),
                            "event": event, "captor": draw(maybe) if event == "captured" else None,
                            "markings": draw(markings(min(count, 3)))})
    return records


def canonical(records, cat) -> pd.DataFrame:
    frame, problems = validate_frame(raw_from_records(records), cat, source="records", first_row=1, today=TODAY)
    assert not problems, [str(p) for p in problems]
    return frame


def write_csv(path: Path, frame: pd.DataFrame, delimiter=",") -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(COLUMNS)
        for record in frame_to_records(frame):
            writer.writerow(["" if record[c] is None else escape_formula_text(_text(record[c])) for c in COLUMNS])


def _text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def write_xlsx(path: Path, frame: pd.DataFrame) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sightings"
    ws.append(list(COLUMNS))
    for record in frame_to_records(frame):
        values = []
        for c in COLUMNS:
            value = record[c]
            if c == "observed_at":
                value = dt.datetime.fromisoformat(value)  # a real Excel date, as analysts type it
            values.append(escape_formula_text(value))
        ws.append(values)
    wb.save(path)


_settings = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(records=sightings())
@_settings
def test_csv_xlsx_json_read_back_the_same(tmp_path, cat, records):
    frame = canonical(records, cat)
    paths = {"csv": tmp_path / "s.csv", "tsv": tmp_path / "s.tsv", "xlsx": tmp_path / "s.xlsx",
             "json": tmp_path / "s.json", "nested": tmp_path / "n.json"}
    write_csv(paths["csv"], frame)
    write_csv(paths["tsv"], frame, delimiter="\t")
    write_xlsx(paths["xlsx"], frame)
    paths["json"].write_text(json.dumps(frame_to_records(frame), ensure_ascii=False), encoding="utf-8")
    paths["nested"].write_text(json.dumps(frame_to_nested(frame), ensure_ascii=False), encoding="utf-8")
    for kind, path in paths.items():
        back = read_sightings(path, cat, today=TODAY)
        pd.testing.assert_frame_equal(back, frame, obj=kind)


def stored(url):
    from orbat.store import open_store

    store = open_store(url)
    try:
        got = store.sightings_frame()
    finally:
        store.close()
    return got.sort_values(["sighting_id", "equipment_id"]).reset_index(drop=True)


def import_file(url, path, cat):
    from orbat.store import open_store

    store = open_store(url)
    try:
        return store.import_frame(read_sightings(path, cat, today=TODAY), source=str(path))
    finally:
        store.close()


@given(records=sightings(), order=st.randoms(use_true_random=False))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_import_order_and_repetition_do_not_matter(tmp_path_factory, cat, records, order):
    tmp = tmp_path_factory.mktemp("rt")
    frame = canonical(records, cat)
    shuffled = frame.sample(frac=1, random_state=order.randint(0, 2**31)).reset_index(drop=True)
    write_csv(tmp / "a.csv", frame)
    write_xlsx(tmp / "b.xlsx", shuffled)
    first, second = f"sqlite:///{tmp / 'a.db'}", f"sqlite:///{tmp / 'b.db'}"
    summary = import_file(first, tmp / "a.csv", cat)
    assert summary.added == frame["sighting_id"].nunique()
    import_file(second, tmp / "b.xlsx", cat)
    pd.testing.assert_frame_equal(stored(first), stored(second))
    before = stored(first)
    again = import_file(first, tmp / "b.xlsx", cat)
    assert (again.added, again.updated) == (0, 0)
    pd.testing.assert_frame_equal(stored(first), before)
    expected = frame.sort_values(["sighting_id", "equipment_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(before, expected, check_dtype=False)


# ---------------------------------------------------------------- a report continued over several sheets


def _continued_report(tmp_path, frame, catalog, rows_per_sheet=40):
    from orbat.excel.report import write_workbook
    from orbat.report import build_report

    report = build_report(frame, catalog, estimates=[], inventory=False)
    path = write_workbook(report, tmp_path / "report.xlsx", max_rows=rows_per_sheet + 1)  # + the header row
    sheets = [n for n in openpyxl.load_workbook(path, read_only=True).sheetnames if n.startswith("Sightings")]
    assert sheets == ["Sightings", "Sightings (2)", "Sightings (3)", "Sightings (4)", "Sightings (5)"]
    return path


def test_a_report_continued_over_sheets_imports_whole(tmp_path, ten_convoys, catalog, cli, db_url, stored):
    path = _continued_report(tmp_path, ten_convoys, catalog)  # 180 rows, 40 a sheet
    assert read_sightings(path, catalog).equals(ten_convoys)
    result = cli("import", path, "--db", db_url)
    assert result.exit_code == 0, result.output
    back = stored(db_url)
    assert sorted(back["sighting_id"].unique()) == sorted(ten_convoys["sighting_id"].unique())
    assert back["count"].sum() == ten_convoys["count"].sum()


def test_a_bad_cell_on_a_continuation_sheet_is_named_by_sheet_and_row(tmp_path, ten_convoys, catalog, cli, db_url,
                                                                        stored):
    path = _continued_report(tmp_path, ten_convoys, catalog)
    wb = openpyxl.load_workbook(path)
    ws = wb["Sightings (3)"]
    count = [c.value for c in ws[1]].index("count") + 1
    ws.cell(row=7, column=count, value="many")
    wb.save(path)
    result = cli("import", path, "--db", db_url)
    assert result.exit_code != 0
    assert "sheet 'Sightings (3)', row 7, column count" in result.output
    assert "Traceback" not in result.output
    assert stored(db_url).empty  # nothing was imported
    # --skip-invalid: the rest is imported, and the rejects file says where the refused rows were
    result = cli("import", path, "--db", db_url, "--skip-invalid")
    assert result.exit_code == 0, result.output
    rejects = pd.read_csv(tmp_path / "report.rejects.csv", dtype=str)
    assert "sheet 'Sightings (3)', row 7" in rejects["where"].tolist()  # (with the rest of its sighting)
    assert len(stored(db_url)) < len(ten_convoys)


def test_a_continuation_sheet_with_another_header_is_refused(tmp_path, ten_convoys, catalog, cli, db_url, stored):
    path = _continued_report(tmp_path, ten_convoys, catalog)
    wb = openpyxl.load_workbook(path)
    wb["Sightings (2)"].cell(row=1, column=2, value="convoy name")
    wb.save(path)
    result = cli("import", path, "--db", db_url)
    assert result.exit_code != 0
    assert "sheet 'Sightings (2)' continues 'Sightings' but its header differs" in result.output
    assert stored(db_url).empty
