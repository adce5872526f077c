"""orbat.excel.rows: rows written column-wise are the very XML openpyxl writes cell by cell."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from openpyxl import Workbook, load_workbook

import orbat.excel.rows as rows
from orbat.excel.report import _Block, _Styles, _write_blocks, write_workbook
from orbat.report import build_report


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _cell_styles(styles: etree._Element) -> list[str]:
    """Each cell style (``cellXfs``) in words: its attributes and children, its number format by its code.

    openpyxl numbers styles in the order cells first use them, which the
    column-wise writer changes (a link column before the dates to its
    right): the same styles, other indices. It also registers a default
    date format for a date cell whose style is then replaced (unused).
    """
    codes = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{_MAIN}numFmt")}
    out = []
    for xf in styles.find(f"{_MAIN}cellXfs"):
        attrs = dict(xf.attrib)
        attrs["numFmtId"] = codes.get(attrs.get("numFmtId"), attrs.get("numFmtId"))
        out.append(repr(sorted(attrs.items())) + b"".join(etree.tostring(c, method="c14n") for c in xf).decode())
    return out


def _parts(path_or_buffer) -> dict[str, bytes]:
    """Every part of a workbook, canonicalised, each cell's style index replaced by the style itself."""
    with zipfile.ZipFile(path_or_buffer) as z:
        styles = _cell_styles(etree.fromstring(z.read("xl/styles.xml")))
        out = {}
        for name in z.namelist():
            if name in ("docProps/core.xml", "xl/styles.xml"):  # creation times; styles are compared per cell
                continue
            data = z.read(name)
            if name.endswith(".xml"):
                tree = etree.fromstring(data)
                for cell in tree.iter(f"{_MAIN}c"):
                    if cell.get("s") is not None:
                        cell.set("s", styles[int(cell.get("s"))])
                data = etree.tostring(tree, method="c14n")
            out[name] = data
        return out


def _blocks_book(frames: list[pd.DataFrame], fast: bool, monkeypatch, links=frozenset()) -> dict[str, bytes]:
    monkeypatch.setattr(rows, "FAST_ROWS", fast)
    wb = Workbook(write_only=True)
    styles = _Styles(wb)
    _write_blocks(wb, styles, "Data", [_Block(f, links=links) for f in frames], max_rows=40)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return _parts(buffer)


# Text at its worst: formula and error look-alikes, XML specials, control characters, CR, edge spaces.
_TEXT = st.lists(st.sampled_from(list("=+-@#'&<>\"ab Б\t\n\r\x00\x07\x1b\ufffe\u00a0") + ["N/A", "https://t.me/x"]),
                 max_size=8).map("".join)
_VALUE = st.one_of(st.none(), _TEXT, st.integers(-10**17, 10**17), st.floats(allow_nan=True, allow_infinity=True),
                   st.booleans(), st.sampled_from(["#N/A", "#REF!", "=1+1", "", " x ", "https://example.org/a?b=1&c=2"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_VALUE, _VALUE, _TEXT), min_size=0, max_size=90))
def test_column_wise_rows_equal_openpyxl_cells(monkeypatch, records):
    # Mixed object columns, a source column with links, continuation sheets (max_rows=40).
    frame = pd.DataFrame(records, columns=["a", "b", "source"]).astype(object)
    frame["n"] = range(len(frame))
    frame["when"] = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(len(frame))]
    other = pd.DataFrame({"confidence": [0.5, None, 1.0] * 5, "first_seen": pd.to_datetime(["2025-01-17"] * 15)})
    fast = _blocks_book([frame, other], True, monkeypatch, links=frozenset({"source"}))
    slow = _blocks_book([frame, other], False, monkeypatch, links=frozenset({"source"}))
    assert fast == slow


def test_a_value_left_to_openpyxl_writes_its_chunk_the_ordinary_way(monkeypatch):
    frame = pd.DataFrame({"t": [dt.time(12, 30), None], "x": ["=1+1", "a"]})
    assert _blocks_book([frame], True, monkeypatch) == _blocks_book([frame], False, monkeypatch)


def test_report_workbook_is_the_same_either_way(tmp_path, monkeypatch, mali, catalog):
    frame = mali.copy()
    frame.loc[:3, "notes"] = ['=HYPERLINK("http://evil")', "#N/A", "bell\x07\rcr", "  lead & <trail> "]
    report = build_report(frame, catalog, generated_at=dt.datetime(2025, 2, 1, 12, 30))
    monkeypatch.setattr(rows, "FAST_ROWS", True)
    write_workbook(report, tmp_path / "fast.xlsx")
    monkeypatch.setattr(rows, "FAST_ROWS", False)
    write_workbook(report, tmp_path / "slow.xlsx")
    fast, slow = _parts(tmp_path / "fast.xlsx"), _parts(tmp_path / "slow.xlsx")
    assert fast.keys() == slow.keys()
    assert fast == slow
    ws = load_workbook(tmp_path / "fast.xlsx")["Sightings"]
    notes = [c.value for c in next(ws.iter_cols(min_col=[c.value for c in ws[1]].index("notes") + 1,
                                                 max_row=5))][1:]
    assert notes[:2] == ['=HYPERLINK("http://evil")', "#N/A"]
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(2, 6))
    assert notes[2] == "bell\rcr" and notes[3] == "  lead & <trail> "


@pytest.mark.parametrize("text, expected", [
    ("plain", "<is><t>plain</t></is>"),
    ("", ""),
    (" edge", '<is><t xml:space="preserve"> edge</t></is>'),
    ("a&b<c>\rd", "<is><t>a&amp;b&lt;c&gt;&#13;d</t></is>"),
    ("nul\x00bell\x07", "<is><t>nulbell</t></is>"),
])
def test_text_xml_escapes_and_cleans(text, expected):
    assert rows.text_xml(text) == expected
