"""orbat.excel.report: the report workbook (sheets, formatting, charts, safety, overflow, round trip)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from orbat.excel.report import EXCEL_MAX_HYPERLINKS, write_workbook
from orbat.report import build_report, export_report
from orbat.sightings import COLUMNS, FORMULA_CHARS, read_sightings
from orbat.store import open_store

CONVOY = "bamako-2025-01-17"
HOSTILE = ['=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx", "\rcr", "#N/A", "=1+1",
           "'=already quoted", "'+1"]
SHEETS = ["Summary", "Sightings", "Equipment", "Estimates", "Trace", "Inventory", "Timeline"]


@pytest.fixture(scope="module")
def hostile(mali):
    """The Mali case with internet text at its worst in every free-text column."""
    frame = mali.copy()
    n = len(HOSTILE)
    frame.loc[: n - 1, "notes"] = HOSTILE
    frame.loc[n: n + 3, "notes"] = [f"bell\x07 and escape\x1b kept\uffff {i}" for i in range(4)]
    frame["place"] = frame["place"].where(frame["sighting_id"] != "social-photo-02", "=cmd|'/c calc'!A1")
    frame["actor"] = frame["actor"].where(frame["sighting_id"] != "social-photo-02", "@evil")
    frame["source"] = frame["source"].where(
        frame["sighting_id"] != "capmali-video-01", "https://t.me/capmali/4521")
    frame["source"] = frame["source"].where(
        frame["sighting_id"] != "social-photo-02", "javascript:alert(1)")
    return frame


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory, hostile, catalog):
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    report = build_report(hostile, catalog, filters={"convoy": CONVOY, "since": "2025-01-01"},
                          generated_at=dt.datetime(2025, 2, 1, 12, 30, tzinfo=dt.UTC))
    write_workbook(report, path)
    return path


@pytest.fixture(scope="module")
def wb(workbook_path):
    return load_workbook(workbook_path)


def test_sheets_in_order_with_summary_first_and_active(wb):
    assert wb.sheetnames == SHEETS
    assert wb.active.title == "Summary"


def test_summary_has_title_time_filters_and_the_convoy_row(wb):
    ws = wb["Summary"]
    assert ws["A1"].value == "orbat report" and ws["A1"].font.b
    assert ws["A2"].value == "Generated (UTC)" and ws["B2"].value == dt.datetime(2025, 2, 1, 12, 30)
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["B3"].value == "convoy = bamako-2025-01-17; since 2025-01-01"
    header = [c.value for c in ws[6]]
    row = dict(zip(header, [c.value for c in ws[7]]))
    assert row["convoy"] == CONVOY
    assert row["vehicles"] == 112 and row["vehicles (range)"] == f"112 (112-{row['vehicles max']})"
    assert row["first seen"] == dt.datetime(2025, 1, 17)
    assert row["best grade"] == "B2"
    assert 0 < row["confidence"] <= 1
    conf = ws.cell(row=7, column=header.index("confidence") + 1)
    assert conf.number_format == "0%"
    assert all(c.font.b for c in ws[6] if c.value)
    assert ws.freeze_panes == "A7"
    assert "Convoys" in ws.tables and ws.tables["Convoys"].ref == f"A6:{ws.cell(row=6, column=len(header)).column_letter}7"


def test_summary_conditional_format_on_confidence(wb):
    ws = wb["Summary"]
    header = [c.value for c in ws[6]]
    letter = ws.cell(row=6, column=header.index("confidence") + 1).column_letter
    ranges = {str(cf.sqref): [r.type for r in cf.rules] for cf in ws.conditional_formatting}
    assert ranges.get(f"{letter}7") == ["colorScale"]  # one convoy: one cell


def test_summary_bar_charts_of_category_and_role(wb):
    ws = wb["Summary"]
    charts = ws._charts
    assert len(charts) == 2
    assert all(type(c).__name__ == "BarChart" for c in charts)
    # Anchored right under the convoy table, where a reader sees them first.
    assert {c.anchor._from.row for c in charts} == {8}  # 0-based: sheet row 9
    category_rows = [r for r in ws.iter_rows(values_only=True) if r[0] == "category"]
    assert category_rows and category_rows[0][1] == CONVOY


def test_sightings_sheet_is_the_interchange_format(wb, hostile):
    ws = wb["Sightings"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert len(rows) == 1 + len(hostile)
    first = dict(zip(COLUMNS, rows[1]))
    assert first["reliability"] == "B" and first["credibility"] == 2
    assert first["lat"] == pytest.approx(12.545009) and first["lon"] == pytest.approx(-8.120543)
    assert first["count"] == 6 and first["count_max"] == 7
    second = dict(zip(COLUMNS, rows[2]))
    assert second["count_max"] is None
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(COLUMNS))}{len(rows)}"
    assert all(c.font.b for c in ws[1])


def test_only_http_sources_are_hyperlinks(wb):
    ws = wb["Sightings"]
    col = COLUMNS.index("source") + 1
    linked = [c for c in ws.iter_cols(min_col=col, max_col=col, min_row=2).__next__()]
    video = [c for c in linked if c.value == "https://t.me/capmali/4521"]
    other = [c for c in linked if c.value == "javascript:alert(1)"]
    assert video and other
    assert all(c.hyperlink is not None and c.hyperlink.target == "https://t.me/capmali/4521" for c in video)
    assert all(c.hyperlink is None for c in other)
    assert len(ws._hyperlinks) <= EXCEL_MAX_HYPERLINKS


def test_untrusted_text_is_text_never_a_formula(wb, hostile):
    ws = wb["Sightings"]
    notes = [r[0] for r in ws.iter_rows(min_row=2, min_col=15, max_col=15)]
    for cell, text in zip(notes, HOSTILE):
        # Text starting with ' and a formula character gets one more ', which the importer drops again.
        assert cell.value == ("'" + text if text[:2] in ("'=", "'+") else text)
        assert cell.data_type == "s"
    assert notes[len(HOSTILE)].value == "bell and escape kept 0"  # illegal XML characters removed, rest kept
    place_col, actor_col = COLUMNS.index("place") + 1, COLUMNS.index("actor") + 1
    photo = [r for r in ws.iter_rows(min_row=2) if r[0].value == "social-photo-02"]
    assert photo[0][place_col - 1].value == "=cmd|'/c calc'!A1" and photo[0][place_col - 1].data_type == "s"
    assert photo[0][actor_col - 1].value == "@evil"
    for sheet in wb:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} holds a formula: {cell.value!r}"
                assert cell.data_type != "e", f"{sheet.title}!{cell.coordinate} holds an error value"


def test_summary_text_from_sightings_is_text(wb):
    ws = wb["Summary"]
    header = [c.value for c in ws[6]]
    place = ws.cell(row=7, column=header.index("place") + 1)
    assert "=cmd|'/c calc'!A1" in place.value and place.data_type == "s"


def test_equipment_estimates_trace_inventory_are_filterable_tables(wb):
    assert set(wb["Equipment"].tables) == {"EquipmentByCategory", "EquipmentByType"}
    assert set(wb["Estimates"].tables) == {"Estimates"}
    assert set(wb["Trace"].tables) == {"Trace"}
    assert set(wb["Inventory"].tables) == {"Holdings"}
    assert set(wb["Timeline"].tables) == {"Timeline"}
    for name in ("Equipment", "Estimates", "Trace", "Inventory", "Timeline"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        for table in ws.tables.values():
            assert table.autoFilter is not None
            first = ws[table.ref.split(":")[0]]
            assert first.value == table.tableColumns[0].name  # headers match the table's columns


def test_equipment_values_are_max_merged(wb):
    ws = wb["Equipment"]
    header = [c.value for c in ws[1]]
    start = header.index("type")  # the per-type block sits right of the per-category block
    by_type = {r[start]: r for r in ws.iter_rows(min_row=2, values_only=True) if r[start]}
    assert by_type["T-72"][header.index("count", start)] == 6
    assert by_type["T-72"][header.index("count max", start)] == 7
    total = sum(r[header.index("count")] or 0 for r in ws.iter_rows(min_row=2, values_only=True))
    assert total == 112


def test_estimates_and_trace_formats(wb):
    ws = wb["Estimates"]
    header = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=header.index("score") + 1).number_format == "0%"
    assert ws.cell(row=2, column=header.index("best") + 1).value == "yes"
    assert ws.cell(row=3, column=header.index("best") + 1).value == "no"
    types = {str(cf.sqref): [r.type for r in cf.rules] for cf in ws.conditional_formatting}
    assert "dataBar" in sum(types.values(), [])
    trace = wb["Trace"]
    header = [c.value for c in trace[1]]
    assert {"rule", "passed", "weight", "reason", "values"} <= set(header)
    reasons = [r[header.index("reason")] for r in trace.iter_rows(min_row=2, values_only=True)]
    assert all(reasons)
    assert {r[header.index("passed")] for r in trace.iter_rows(min_row=2, values_only=True)} == {"yes", "no"}
    rules = [r for cf in trace.conditional_formatting for r in cf.rules]
    assert {tuple(r.formula) for r in rules if r.type == "cellIs"} == {('"no"',), ('"yes"',)}


def test_inventory_has_a_line_chart_of_the_timeline(wb):
    ws = wb["Inventory"]
    assert [type(c).__name__ for c in ws._charts] == ["LineChart"]
    header = [c.value for c in ws[1]]
    assert "holdings" in header
    assert ws._charts[0].anchor._from.col == len(header) + 1  # beside the holdings, one blank column between
    # Holdings move in steps: no smoothed lines that would show counts that never were.
    assert ws._charts[0].series and not any(s.smooth for s in ws._charts[0].series)
    timeline = wb["Timeline"]
    header = [c.value for c in timeline[1]]
    assert header[0] == "month" and header[-1] == "total"
    assert timeline.cell(row=2, column=len(header)).value == 112
    month = timeline.cell(row=2, column=1)
    assert month.value == dt.datetime(2025, 1, 1) and month.number_format == "yyyy-mm"


def test_column_widths_fit_the_content_within_bounds(wb):
    ws = wb["Sightings"]
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    assert widths["A"] >= len("capmali-video-01")
    assert all(6 <= w <= 60 for w in widths.values())


def test_sightings_sheet_reimports_the_same_sightings(workbook_path, hostile, catalog, db_url):
    back = read_sightings(workbook_path, catalog)
    expected = hostile.copy()
    # Cells are trimmed on import and XML cannot hold control characters: the rest comes back exactly.
    expected["notes"] = expected["notes"].map(
        lambda v: v.replace("\x07", "").replace("\x1b", "").replace("\uffff", "").strip() if isinstance(v, str) else v)
    # Text that starts with ' and a formula character is written with one more ' (escape_formula_text)
    # and read back without it: every row must come back exactly.
    pd.testing.assert_frame_equal(back.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)
    with open_store(db_url) as store:
        store.import_frame(back, source=str(workbook_path))
        stored = store.sightings_frame()
    assert len(stored) == len(hostile)
    assert set(stored["notes"].dropna()) >= {h for h in HOSTILE if h == h.strip()}


def test_export_from_the_database_matches_it(tmp_path, mali, catalog, db_url):
    with open_store(db_url) as store:
        store.import_frame(mali, source="sightings.csv")
        export_report(store, catalog, tmp_path / "r.xlsx")
        stored = store.sightings_frame()
    ws = load_workbook(tmp_path / "r.xlsx", read_only=True)["Sightings"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(stored)
    for row, (_, expected) in zip(rows, stored.iterrows()):
        got = dict(zip(COLUMNS, row))
        for col in COLUMNS:
            want = expected[col]
            if pd.isna(want):
                assert got.get(col) is None, col  # read-only rows stop at the last value
            elif isinstance(got[col], float):
                assert got[col] == pytest.approx(float(want)), col
            else:
                assert got[col] == want, col


def test_a_long_table_continues_on_numbered_sheets(tmp_path, mali, catalog):
    report = build_report(mali, catalog, inventory=False)
    path = write_workbook(report, tmp_path / "r.xlsx", max_rows=5)  # header + 4 rows per sheet
    wb = load_workbook(path)
    names = [n for n in wb.sheetnames if n.startswith("Sightings")]
    assert names == ["Sightings", "Sightings (2)", "Sightings (3)", "Sightings (4)", "Sightings (5)"]
    rows = []
    for name in names:
        ws = wb[name]
        values = list(ws.iter_rows(values_only=True))
        assert values[0] == COLUMNS and len(values) <= 5
        assert ws.freeze_panes == "A2"
        rows += values[1:]
    assert [r[0] for r in rows] == mali["sighting_id"].tolist()
    assert len(rows) == 18
    # Every table overflows the same way, each sheet's Excel table named uniquely.
    trace_sheets = [n for n in wb.sheetnames if n.startswith("Trace")]
    assert len(trace_sheets) == -(-len(report.tables["trace"]) // 4)
    table_names = [t for n in wb.sheetnames for t in wb[n].tables]
    assert len(table_names) == len(set(table_names))


def test_write_is_atomic_and_names_the_missing_folder(tmp_path, mali, catalog):
    from orbat.errors import OrbatError

    report = build_report(mali, catalog, estimates=[], inventory=False)
    with pytest.raises(OrbatError, match="does not exist"):
        write_workbook(report, tmp_path / "missing" / "r.xlsx")
    write_workbook(report, tmp_path / "r.xlsx")
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]  # no temporary file left behind


def test_empty_report_still_opens(tmp_path, mali, catalog):
    report = build_report(mali.iloc[0:0], catalog)
    path = write_workbook(report, tmp_path / "empty.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[:5] == SHEETS[:5]
    assert [c.value for c in wb["Sightings"][1]] == list(COLUMNS)


def test_summary_convoys_continue_on_numbered_sheets(tmp_path, ten_convoys, catalog):
    report = build_report(ten_convoys, catalog, estimates=[], inventory=False)
    wb = load_workbook(write_workbook(report, tmp_path / "r.xlsx", max_rows=5))
    names = [n for n in wb.sheetnames if n.startswith("Summary")]
    assert names == ["Summary", "Summary (2)", "Summary (3)", "Summary (4)"]
    assert wb.sheetnames.index("Sightings") == len(names)  # continuations follow the Summary
    summary = wb["Summary"]
    assert summary["B5"].value == "9 more convoys on the next Summary sheets"
    assert summary["A7"].value == "c00" and summary["A8"].value is None
    assert len(summary._charts) == 2  # the charts stay on the first sheet
    convoys = ["c00"] + [r[0] for n in names[1:] for r in wb[n].iter_rows(min_row=2, values_only=True)]
    assert convoys == [f"c{i:02d}" for i in range(10)]
    assert {t for n in names for t in wb[n].tables} == {"Convoys", "Convoys_2", "Convoys_3", "Convoys_4"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
    | st.text(alphabet="ab=\x07\x1b\ufffe\uffff\t", min_size=1, max_size=8)
    | st.sampled_from(HOSTILE).flatmap(lambda h: st.text(max_size=5).map(lambda t: h + t)),
    min_size=3, max_size=3))
def test_any_text_is_written_as_text(tmp_path_factory, mali, catalog, texts):
    from orbat.excel.report import XML_ILLEGAL_RE

    frame = mali.iloc[:3].copy()
    frame["notes"] = pd.Series(texts, dtype="str", index=frame.index)
    frame["place"] = pd.Series(texts[::-1], dtype="str", index=frame.index)
    report = build_report(frame, catalog, estimates=[], inventory=False)
    path = write_workbook(report, tmp_path_factory.mktemp("any") / "r.xlsx")
    ws = load_workbook(path)["Sightings"]
    notes = [ws.cell(row=r, column=COLUMNS.index("notes") + 1) for r in (2, 3, 4)]
    for cell, text in zip(notes, texts):
        expected = XML_ILLEGAL_RE.sub("", text)
        if expected[:1] == "'" and expected[1:2] in FORMULA_CHARS:
            expected = "'" + expected  # one more ' for the importer to drop (see the re-import test)
        assert (cell.value or "") == expected  # openpyxl reads an all-removed cell back as empty
        assert cell.value is None or cell.data_type == "s"
