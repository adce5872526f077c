"""The report workbook: formatted, streamed, and safe to open although its text comes from the internet.

:func:`write_workbook` writes a :class:`orbat.report.Report` with openpyxl's
write-only mode, so memory stays flat however many sightings there are. A
table longer than the sheet row limit continues on "Sightings (2)", ... .

Safety: every string from the data is written as a string cell. openpyxl
would turn a str starting with ``=`` into a formula and ``#N/A`` into an error
value, so those cells get their data type forced to ``s``; characters XML
cannot hold are removed (the rest of the text is kept). The workbook holds no
formula at all. Only http(s) sources become hyperlinks.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, DataBarRule
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from orbat.errors import OrbatError
from orbat.excel.rows import SheetRows, column_cells, row_xml
from orbat.excel.pages import (
    GAP_WIDTH, columns_spanned, drawing_columns, extended, page_breaks, print_scale, print_setup,
)
from orbat.outfiles import replaced_when_done
from orbat.sightings import FORMULA_CHARS

#: Rows in one Excel sheet (header included).
EXCEL_MAX_ROWS = 1_048_576
#: Excel refuses more hyperlinks than this on one sheet; later sources stay plain text.
EXCEL_MAX_HYPERLINKS = 65_530
#: Excel's limit on the characters of one cell.
MAX_CELL_CHARS = 32_767
#: Excel ignores hyperlink targets longer than this.
MAX_URL_LENGTH = 2_079

#: Rows converted to Python values at a time: bounds the memory a large sheet takes.
CHUNK_ROWS = 5_000
#: Rows looked at to fit a column's width.
WIDTH_SAMPLE = 500
MIN_WIDTH, MAX_WIDTH = 6, 60

#: Characters XML 1.0 cannot hold: control characters other than tab, LF and CR (what openpyxl
#: checks for), plus the non-characters U+FFFE/U+FFFF and lone surrogates, which lxml rejects.
XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$", re.IGNORECASE)
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_PERCENT_FORMAT = "0%"
_DECIMAL_FORMAT = "0.00"

#: Number formats by column name (any table).
_FORMATS: dict[str, str] = {
    "first_seen": _DATE_FORMAT,
    "last_seen": _DATE_FORMAT,
    "confidence": _PERCENT_FORMAT,
    "score": _PERCENT_FORMAT,
    "wins": _PERCENT_FORMAT,
    "weight": _DECIMAL_FORMAT,
    "month": "yyyy-mm",
}

#: Column headers people read (CSV and JSON keep the snake_case names).
_HEADERS: dict[str, str] = {
    "vehicles_range": "vehicles (range)",
    "best_estimate": "best estimate",
    "best_grade": "best grade",
    "equipment_id": "catalog id",
}


def display_header(name: str) -> str:
    """``first_seen`` -> ``first seen``."""
    return _HEADERS.get(name, str(name).replace("_", " "))


# --------------------------------------------------------------------------- styles


class _Styles:
    """Named and prototype styles, made once per workbook: cells copy a prototype's style array.

    Copying a ready style array is far cheaper than giving every cell its own
    Font or number format, which is what keeps large sheets fast.
    """

    def __init__(self, wb: Workbook):
        self.wb = wb
        header = NamedStyle(name="orbat header")
        header.font = Font(name="Calibri", size=11, bold=True)
        header.fill = PatternFill("solid", fgColor="DDE4EE")
        header.border = Border(bottom=Side(style="thin", color="7F8C9D"))
        header.alignment = Alignment(vertical="top", wrap_text=False)
        wb.add_named_style(header)
        title = NamedStyle(name="orbat title")
        title.font = Font(name="Calibri", bold=True, size=14)
        wb.add_named_style(title)
        label = NamedStyle(name="orbat label")
        label.font = Font(name="Calibri", size=11, bold=True, color="44546A")
        wb.add_named_style(label)
        self._protos: dict[str, WriteOnlyCell] = {}
        self._ids: dict[str, int] = {}
        self._sheets: dict[int, SheetRows] = {}

    def new_sheet(self, title: str):
        """A write-only sheet whose bulk rows are written column-wise (:class:`orbat.excel.rows.SheetRows`)."""
        ws = self.wb.create_sheet(title)
        self._sheets[id(ws)] = SheetRows(ws)
        return ws

    def sheet(self, ws) -> SheetRows | None:
        """The row stream of a sheet made by :meth:`new_sheet` (None for any other)."""
        return self._sheets.get(id(ws))

    def style_id(self, ws, key: str) -> int:
        """The workbook's style index of a prototype style (what a cell copying it would get)."""
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = self.wb._cell_styles.add(self.proto(ws, key))
        return found

    def proto(self, ws, key: str):
        """A style array for ``key``: a number format, ``"link"``, ``"header"``, ``"title"`` or ``"label"``."""
        found = self._protos.get(key)
        if found is None:
            found = WriteOnlyCell(ws)
            if key == "link":
                found.style = "Hyperlink"
            elif key in ("header", "title", "label"):
                found.style = f"orbat {key}"
            else:
                found.number_format = key
            self._protos[key] = found
        return found._style

    def cell(self, ws, value, key: str | None = None):
        """A string-safe cell with a prototype style."""
        cell = _text_cell(ws, value) if isinstance(value, str) else WriteOnlyCell(ws, value=value)
        if key is not None:
            cell._style = copy(self.proto(ws, key))
        return cell


def _clean(text: str) -> str:
    """Text XML can hold: control characters other than tab, LF and CR (and U+FFFE/U+FFFF) are removed."""
    return XML_ILLEGAL_RE.sub("", text)


def _text_cell(ws, text: str) -> WriteOnlyCell:
    """A cell that is text whatever the text looks like (``=...`` is not a formula, ``#N/A`` not an error).

    The value is set directly rather than through openpyxl's type inference,
    which is what would make a formula of it (and is the slow part).
    """
    cell = WriteOnlyCell(ws)
    cell._value = _clean(text)[:MAX_CELL_CHARS]
    cell.data_type = "s"
    return cell


class _LinkRuns:
    """Hyperlinks of one column of one sheet, one per run of equal URLs in consecutive rows.

    A sighting's rows repeat its source, so one hyperlink over a range
    ("L2:L9") serves them all: far fewer hyperlink records (Excel accepts
    at most 65,530 per sheet) and far less to write for a large export.
    """

    def __init__(self, ws, letter: str):
        self.ws, self.letter = ws, letter
        self.left = EXCEL_MAX_HYPERLINKS
        self.url: str | None = None
        self.first = self.last = 0

    def add(self, row: int, url: str) -> bool:
        """Link ``url`` at ``row``; False once the sheet's hyperlink budget is spent."""
        if url == self.url and row == self.last + 1:
            self.last = row
            return True
        self.close()
        if self.left <= 0:
            return False
        self.url, self.first, self.last = url, row, row
        self.left -= 1
        return True

    def close(self) -> None:
        if self.url is not None:
            ref = f"{self.letter}{self.first}" + (f":{self.letter}{self.last}" if self.last > self.first else "")
            self.ws._hyperlinks.append(Hyperlink(ref=ref, target=self.url))
            self.url = None


def _guard_texts(values: list, ws, styles: _Styles, links: _LinkRuns | None = None, first_row: int = 0,
                 reimport: bool = False) -> None:
    """Make a column's strings safe in place: wrap the risky ones, link http(s) sources.

    Most columns are clean: one joined search decides that, and only then is
    each value looked at. ``first_row`` is the sheet row of ``values[0]``.
    ``reimport``: the importer drops one ``'`` before a formula character
    (the CSV escape), so text that really starts that way gets one more.
    """
    texts = [v for v in values if v.__class__ is str]
    if not texts:
        return
    joined = "\n" + "\n".join(texts)
    illegal = XML_ILLEGAL_RE.search(joined) is not None
    risky = "\n=" in joined or "\n#" in joined
    quoted = reimport and "\n'" in joined
    if not (illegal or risky or quoted or links is not None):
        return
    link_style = styles.proto(ws, "link") if links is not None else None
    for i, value in enumerate(values):
        if value.__class__ is not str:
            continue
        if illegal:
            value = values[i] = _clean(value)
        if quoted and value[:1] == "'" and value[1:2] in FORMULA_CHARS:
            value = values[i] = "'" + value
        if (links is not None and len(value) <= MAX_URL_LENGTH and _URL.match(value)
                and links.add(first_row + i, value)):
            cell = _text_cell(ws, value)
            cell._style = copy(link_style)
            values[i] = cell
        elif value[:1] == "=" or value in ERROR_CODES:
            values[i] = _text_cell(ws, value)


def _python_values(series: pd.Series) -> list:
    """A column as plain Python values, None where missing (openpyxl would write NaN as text)."""
    kind = series.dtype.kind
    if kind == "b":
        # Spreadsheets disagree on showing booleans (LibreOffice prints 1/0): words read the same everywhere.
        return [None if v is None or v is pd.NA else ("yes" if v else "no") for v in series.astype(object).tolist()]
    if kind in "iu" and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.tolist()
    if kind == "f" and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return [None if v != v or v in (math.inf, -math.inf) else v for v in series.tolist()]
    if kind == "M":
        return [None if pd.isna(v) else v.to_pydatetime().replace(tzinfo=None) for v in series]
    array = series.to_numpy(dtype=object)
    out = array.tolist()
    # Missing values and numpy scalars are few: find them for the whole column, then look at those only.
    for i in np.flatnonzero(pd.isna(array)).tolist():
        v = out[i]
        if v is None or v is pd.NA or v is pd.NaT or (v.__class__ is float and v != v):
            out[i] = None
    kinds = set(map(type, out))
    if any(issubclass(k, np.generic) for k in kinds):
        for i, v in enumerate(out):
            if isinstance(v, np.generic) and hasattr(v, "item") and not isinstance(v, (str, date)):
                out[i] = v.item()  # numpy scalar
    return out


# --------------------------------------------------------------------------- blocks


@dataclass
class _Block:
    """One table written on a sheet, beside the other blocks of that sheet."""

    frame: pd.DataFrame
    table_name: str | None = None  # an Excel table (own filter, banding); None: the sheet's autofilter
    raw_headers: bool = False  # the interchange format: names as they are, text as the importer reads it
    links: frozenset[str] = frozenset()
    headers: list[str] = field(init=False)
    formats: list[str | None] = field(init=False)

    def __post_init__(self) -> None:
        cols = [str(c) for c in self.frame.columns]
        self.headers = _unique([_clean(h) for h in (cols if self.raw_headers else [display_header(c) for c in cols])])
        self.formats = [self._format_of(c) for c in self.frame.columns]

    def _format_of(self, col) -> str | None:
        if col in _FORMATS:
            return _FORMATS[col]
        series = self.frame[col]
        if series.dtype.kind == "M":
            return _DATE_FORMAT
        sample = series.dropna().head(1).tolist()
        if sample and isinstance(sample[0], datetime):
            return _DATETIME_FORMAT
        if sample and isinstance(sample[0], date):
            return _DATE_FORMAT
        return None

    @property
    def width(self) -> int:
        return len(self.headers)

    def column_widths(self) -> list[float]:
        widths = []
        head = self.frame.head(WIDTH_SAMPLE)
        for header, col, fmt in zip(self.headers, self.frame.columns, self.formats):
            longest = len(header)
            if fmt in (_DATE_FORMAT, _DATETIME_FORMAT, _PERCENT_FORMAT):
                longest = max(longest, len(fmt) if fmt != _PERCENT_FORMAT else 5)
            else:
                for value in head[col].dropna().tolist():
                    longest = max(longest, max((len(part) for part in str(value).split("\n")), default=0))
            widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
        return widths


def _unique(headers: list[str]) -> list[str]:
    """Headers an Excel table accepts: non-empty and unique regardless of case ("x", "x (2)")."""
    seen: set[str] = set()
    out = []
    for header in headers:
        name, n = header.strip() or "column", 1
        while name.casefold() in seen:
            n += 1
            name = f"{header.strip() or 'column'} ({n})"
        seen.add(name.casefold())
        out.append(name)
    return out


def _sheet_names(title: str, pages: int) -> list[str]:
    return [title if i == 0 else f"{title} ({i + 1})" for i in range(pages)]


def _write_blocks(wb: Workbook, styles: _Styles, title: str, blocks: Sequence[_Block], max_rows: int,
                  first_page: int = 1) -> list:
    """Write blocks side by side on a sheet (one empty column between), continuing on new sheets past ``max_rows``."""
    per_sheet = max_rows - 1  # the header row repeats on every sheet
    longest = max(len(b.frame) for b in blocks)
    pages = max(1, math.ceil(longest / per_sheet))
    sheets = []
    names = _sheet_names(title, pages + first_page - 1)[first_page - 1:]
    for page, name in enumerate(names):
        ws = styles.new_sheet(name)
        sheets.append(ws)
        start, stop = page * per_sheet, (page + 1) * per_sheet
        slices = [b.frame.iloc[start:stop] for b in blocks]
        offsets, col, sheet_widths = [], 1, []
        for block in blocks:
            offsets.append(col)
            for i, width in enumerate(block.column_widths()):
                ws.column_dimensions[get_column_letter(col + i)].width = width
                sheet_widths.append(width)
            sheet_widths.append(GAP_WIDTH)
            col += block.width + 1
        ws.freeze_panes = "A2"
        print_setup(ws, sheet_widths[:-1], 1 + max(len(part) for part in slices))
        for block, part, offset in zip(blocks, slices, offsets):
            _decorate(ws, block, len(part), offset, page + first_page - 1)
        header: list = []
        for block in blocks:
            header += [styles.cell(ws, h, "header") for h in block.headers] + [None]
        ws.append(header[:-1])
        _append_rows(ws, styles, blocks, slices, first_row=2)
    return sheets


def _decorate(ws, block: _Block, rows: int, offset: int, page: int) -> None:
    """Filter (sheet autofilter or an Excel table) and conditional formats of one block."""
    first, last = get_column_letter(offset), get_column_letter(offset + block.width - 1)
    ref = f"{first}1:{last}{max(rows, 1) + 1}"
    if block.table_name is None:
        ws.auto_filter.ref = ref
    elif rows:
        # Excel tables need at least one data row; an empty block keeps only its bold header.
        table = Table(displayName=block.table_name + (f"_{page + 1}" if page else ""), ref=ref)
        table.tableColumns = [TableColumn(id=i + 1, name=h) for i, h in enumerate(block.headers)]
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        table.autoFilter = AutoFilter(ref=ref)
        _add_table(ws, table)
    if not rows:
        return
    for i, col in enumerate(block.frame.columns):
        letter = get_column_letter(offset + i)
        area = f"{letter}2:{letter}{rows + 1}"
        if col == "confidence":
            ws.conditional_formatting.add(area, ColorScaleRule(
                start_type="num", start_value=0, start_color="F8696B",
                mid_type="num", mid_value=0.5, mid_color="FFEB84",
                end_type="num", end_value=1, end_color="63BE7B"))
        elif col == "score":
            ws.conditional_formatting.add(area, DataBarRule(
                start_type="num", start_value=0, end_type="num", end_value=1, color="5B9BD5", showValue=True))
        elif col == "passed":
            ws.conditional_formatting.add(area, CellIsRule(
                operator="equal", formula=['"no"'], fill=PatternFill("solid", bgColor="F4CCCC")))
            ws.conditional_formatting.add(area, CellIsRule(
                operator="equal", formula=['"yes"'], fill=PatternFill("solid", bgColor="D9EAD3")))


def _add_table(ws, table: Table) -> None:
    # openpyxl warns that write-only sheets need their table columns set by hand: they are.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In write-only mode you must add table columns manually")
        ws.add_table(table)


def _append_rows(ws, styles: _Styles, blocks: Sequence[_Block], slices: Sequence[pd.DataFrame], first_row: int = 2) -> None:
    """Append the blocks' rows side by side, ``CHUNK_ROWS`` at a time; ``first_row`` is the sheet row of the first.

    Each column is converted once per chunk (its number format, its formula
    guard and links decided for the whole column); the cells are then
    written as XML text by :mod:`orbat.excel.rows` (no cell object per
    value), or through openpyxl cell by cell when a chunk holds a value
    that module leaves to openpyxl.
    """
    sheet = styles.sheet(ws)
    runs: list[_LinkRuns] = []
    longest = max(len(s) for s in slices)
    epoch = ws.parent.epoch
    for start in range(0, longest, CHUNK_ROWS):
        n = min(CHUNK_ROWS, longest - start)
        row0 = first_row + start
        fast = sheet is not None and sheet.fast and sheet.row == row0
        columns: list[tuple[list, str | None]] = []  # (values, number format) per sheet column; None: a gap
        cells_xml: list[list[str]] = []
        offset = 1
        for bi, (block, part) in enumerate(zip(blocks, slices)):
            chunk = part.iloc[start:start + CHUNK_ROWS]
            for ci, (col, fmt) in enumerate(zip(block.frame.columns, block.formats)):
                values = _python_values(chunk[col])
                letter = get_column_letter(offset + ci)
                if fmt is None:
                    links = None
                    if col in block.links:
                        if start == 0:
                            runs.append(_LinkRuns(ws, letter))
                        links = next(r for r in runs if r.letter == letter)
                    _guard_texts(values, ws, styles, links, row0, block.raw_headers)
                values += [None] * (n - len(values))
                columns.append((values, fmt))
                if fast:
                    xml = column_cells(values, letter, row0, None if fmt is None else styles.style_id(ws, fmt),
                                       epoch, _style_id_of)
                    if xml is None:
                        fast = False
                    else:
                        cells_xml.append(xml)
            offset += block.width + 1
            if bi < len(blocks) - 1:
                columns.append(([None] * n, None))
        if fast:
            sheet.write_xml([row_xml(r, cells) for r, cells in zip(range(row0, row0 + n), zip(*cells_xml))])
            continue
        for values, fmt in columns:
            if fmt is not None:
                proto = styles.proto(ws, fmt)
                for i, v in enumerate(values):
                    if v is not None:
                        cell = _text_cell(ws, v) if isinstance(v, str) else WriteOnlyCell(ws, value=v)
                        cell._style = copy(proto)
                        values[i] = cell
        for row in zip(*(values for values, _ in columns)):
            ws.append(row)
    for run in runs:
        run.close()


def _style_id_of(cell) -> int | None:
    return cell.style_id if cell.has_style else None


# --------------------------------------------------------------------------- the sheets


def _summary(wb: Workbook, styles: _Styles, report, max_rows: int) -> None:
    ws = styles.new_sheet("Summary")
    full = report.tables["summary"]
    # Room for the title block, the charts and their numbers below the convoy table; convoys
    # beyond that continue on "Summary (2)", ... (only ever with a huge number of convoys).
    reserve = 30 + sum(len(c) + 3 for c in report.composition.values())
    fits = max(1, max_rows - 6 - reserve)
    table, rest = full.iloc[:fits], full.iloc[fits:]
    block = _Block(table, table_name="Convoys")
    widths = block.column_widths()
    widths[0] = max(widths[0], 18.0)  # column A also holds the labels above the table
    widths[1] = max(widths[1], 18.0)  # and column B the generation time
    for i, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    head_row = 6
    n = len(table)
    ws.freeze_panes = f"A{head_row + 1}"
    _decorate_at(ws, block, n, head_row)

    sightings = report.tables["sightings"]
    n_sightings = sightings["sighting_id"].nunique() if len(sightings) else 0
    ws.append([styles.cell(ws, report.title, "title")])
    ws.append([styles.cell(ws, "Generated (UTC)", "label"), styles.cell(ws, report.generated_at, _DATETIME_FORMAT)])
    ws.append([styles.cell(ws, "Filters", "label"), _text_cell(ws, report.filter_text)])
    ws.append([styles.cell(ws, "Data", "label"), _text_cell(
        ws, f"{_plural(len(sightings), 'row')} in {_plural(n_sightings, 'sighting')} of {_plural(len(full), 'convoy')}")])
    if len(rest):
        ws.append([None, styles.cell(ws, f"{_plural(len(rest), 'more convoy')} on the next Summary sheets", "label")])
    else:
        ws.append([])
    ws.append([styles.cell(ws, h, "header") for h in block.headers])
    _append_rows(ws, styles, [block], [table], first_row=head_row + 1)

    # Charts right under the convoy table, where a reader looks first; their numbers below them.
    # The map of the located sightings beside the charts.
    chart_row = head_row + n + 2
    has_map = report.map_layers is not None and len(report.map_layers.columns) > 0
    scale = print_scale(widths)
    columns = drawing_columns(widths, [CHART_WIDTH_CM, CHART_WIDTH_CM] + ([MAP_WIDTH_CM] if has_map else []), scale)
    anchors = {"category": f"{get_column_letter(columns[0])}{chart_row}",
               "role": f"{get_column_letter(columns[1])}{chart_row}"}
    current = head_row + n
    tallest = max((_chart_height(len(c), c.shape[1] - 1) for c in report.composition.values()), default=0)
    if has_map and _summary_map(ws, report.map_layers, f"{get_column_letter(columns[2])}{chart_row}"):
        tallest = max(tallest, MAP_HEIGHT_CM)
    next_data = chart_row + math.ceil(tallest / ROW_CM) + 2
    for key, anchor in anchors.items():
        comp = report.composition.get(key)
        if comp is None or comp.empty:
            continue
        current = _chart_data(ws, styles, comp, key, current, next_data, anchor)
        next_data = current + 2
    last_size = MAP_WIDTH_CM if has_map else CHART_WIDTH_CM
    last_column = max(len(widths), columns[-1] + columns_spanned(widths, columns[-1], last_size))
    print_setup(ws, extended(widths, last_column), max(current, next_data - 2),
                title_rows=f"{head_row}:{head_row}", scale=scale)
    page_breaks(ws, extended(widths, last_column), scale)
    if len(rest):
        _write_blocks(wb, styles, "Summary", [_Block(rest, table_name="Convoys")], max_rows, first_page=2)


#: Width of a Summary bar chart (cm).
CHART_WIDTH_CM = 15.5
#: Size of the Summary's map picture (cm).
MAP_WIDTH_CM, MAP_HEIGHT_CM = 13.0, 9.5


def _summary_map(ws, layers, anchor: str) -> bool:
    """The map picture of the located sightings at ``anchor``; False when there is nothing to draw.

    Drawn by :func:`orbat.mapfigure.map_png` (matplotlib); a report of
    sightings without any coordinates gets no picture.
    """
    if layers is None or not len(layers.columns):
        return False
    from io import BytesIO

    from openpyxl.drawing.image import Image

    from orbat.mapfigure import map_png

    picture = Image(BytesIO(map_png(layers, width_cm=MAP_WIDTH_CM, height_cm=MAP_HEIGHT_CM)))
    picture.width, picture.height = _cm_to_px(MAP_WIDTH_CM), _cm_to_px(MAP_HEIGHT_CM)
    ws.add_image(picture, anchor)
    return True


def _cm_to_px(cm: float) -> int:
    return round(cm / 2.54 * 96)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _decorate_at(ws, block: _Block, rows: int, head_row: int) -> None:
    """The Summary's convoy table: an Excel table starting at ``head_row``, with its conditional formats."""
    last = get_column_letter(block.width)
    if rows:
        table = Table(displayName=block.table_name, ref=f"A{head_row}:{last}{head_row + rows}")
        table.tableColumns = [TableColumn(id=i + 1, name=h) for i, h in enumerate(block.headers)]
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        table.autoFilter = AutoFilter(ref=table.ref)
        _add_table(ws, table)
        for i, col in enumerate(block.frame.columns):
            if col == "confidence":
                letter = get_column_letter(i + 1)
                ws.conditional_formatting.add(f"{letter}{head_row + 1}:{letter}{head_row + rows}", ColorScaleRule(
                    start_type="num", start_value=0, start_color="F8696B",
                    mid_type="num", mid_value=0.5, mid_color="FFEB84",
                    end_type="num", end_value=1, end_color="63BE7B"))


#: Height of a default row, in centimetres (15 points).
ROW_CM = 0.53


def _chart_height(categories: int, series: int = 1) -> float:
    """A bar chart tall enough that every category keeps its label, legend below (cm)."""
    legend = 0.5 * math.ceil(series / 2) + 0.5 if series > 1 else 0.0
    return max(7.5, 3.0 + 0.5 * categories + legend)


def _chart_data(ws, styles: _Styles, comp: pd.DataFrame, key: str, current: int, data_row: int, anchor: str) -> int:
    """Write a composition table from row ``data_row`` and a bar chart of it at ``anchor``.

    ``current`` is the last row written (write-only sheets cannot skip
    ahead, so blank rows fill the gap); returns the last row written.
    """
    while current < data_row - 1:
        ws.append([])
        current += 1
    ws.append([styles.cell(ws, f"Vehicles by {key} (chart data)", "label")])
    head = data_row + 1
    ws.append([styles.cell(ws, h, "header") for h in [key] + [str(c) for c in comp.columns[1:]]])
    for record in comp.itertuples(index=False):
        ws.append([_text_cell(ws, str(record[0]))] + [int(v) for v in record[1:]])
    ncat, nser = len(comp), comp.shape[1] - 1

    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.gapWidth = 60
    chart.title = f"Vehicles by {key}"
    chart.y_axis.title = "vehicles"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    chart.height, chart.width = _chart_height(ncat, nser), CHART_WIDTH_CM
    if nser > 1:
        # One bar per category, split by convoy: a cluster of bars per category is unreadable.
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.legend.position = "b"
    chart.add_data(Reference(ws, min_col=2, max_col=1 + nser, min_row=head, max_row=head + ncat), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=head + 1, max_row=head + ncat))
    chart.x_axis.scaling.orientation = "maxMin"  # biggest category on top, like the table
    if nser == 1:
        chart.legend = None
    ws.add_chart(chart, anchor)
    return head + ncat


def _inventory(wb: Workbook, styles: _Styles, report, max_rows: int) -> None:
    """Inventory (holdings, and a line chart of the timeline beside them) and Timeline (the chart's data)."""
    held = report.tables.get("holdings")
    if held is None:
        return
    holdings_block = _Block(held, table_name="Holdings")
    inventory = _write_blocks(wb, styles, "Inventory", [holdings_block], max_rows)[0]
    timeline = report.tables.get("timeline")
    if timeline is None or timeline.empty:
        return
    # The timeline has a column per type (hundreds, for a big army): on a sheet of its own, so
    # the chart can sit right beside the holdings where a reader sees it.
    data = _write_blocks(wb, styles, "Timeline", [_Block(timeline, table_name="Timeline")], max_rows)[0]
    numeric = [i for i, c in enumerate(timeline.columns) if i > 0 and pd.api.types.is_numeric_dtype(timeline[c])
               and not pd.api.types.is_bool_dtype(timeline[c])]
    if not numeric:
        return
    # A readable chart: the total, then the types with most vehicles at the end of the period.
    last = timeline.iloc[-1]
    total = [i for i in numeric if timeline.columns[i] == "total"]
    others = sorted((i for i in numeric if i not in total), key=lambda i: -float(last.iloc[i]))
    rows = min(len(timeline), max_rows - 1)
    chart = LineChart()
    actor = _clean(str(report.timeline_actor or ""))
    chart.title = f"Holdings over time: {actor}" if actor else "Holdings over time"
    chart.y_axis.title = "vehicles"
    chart.x_axis.number_format = "yyyy-mm"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height, chart.width = 9, 18
    for i in total + others[:7]:
        chart.add_data(Reference(data, min_col=i + 1, min_row=1, max_row=rows + 1), titles_from_data=True)
    chart.set_categories(Reference(data, min_col=1, min_row=2, max_row=rows + 1))
    for series in chart.series:
        # Holdings change in steps; a smoothed curve would show counts that never were.
        series.smooth = False
    inventory.add_chart(chart, f"{get_column_letter(holdings_block.width + 2)}2")


def write_workbook(report, path: str | os.PathLike, *, max_rows: int = EXCEL_MAX_ROWS) -> Path:
    """Write ``report`` (an :class:`orbat.report.Report`) as a formatted .xlsx workbook.

    Sheets: Summary (title, generation time, filters, one row per convoy,
    bar charts of the composition by category and role), Sightings (the
    interchange columns, so the sheet re-imports), Equipment, Estimates,
    Trace and, when the report has them, Inventory, Timeline, ORBAT (the unit tree) and Fleet. A table longer than
    ``max_rows`` (header included) continues on a sheet named "<name> (2)".
    The file appears only once it is complete.
    """
    if max_rows < 2:
        raise ValueError("max_rows must leave room for a header and one row")
    path = Path(path)
    if not path.parent.exists():
        raise OrbatError(f"{path}: the folder {path.parent} does not exist")
    wb = Workbook(write_only=True)
    styles = _Styles(wb)
    tables = report.tables
    _summary(wb, styles, report, max_rows)
    _write_blocks(wb, styles, "Sightings", [_Block(tables["sightings"], raw_headers=True, links=frozenset({"source"}))], max_rows)
    _write_blocks(wb, styles, "Equipment", [
        _Block(tables["equipment_by_category"], table_name="EquipmentByCategory"),
        _Block(tables["equipment_by_type"], table_name="EquipmentByType"),
    ], max_rows)
    _write_blocks(wb, styles, "Estimates", [_Block(tables["estimates"], table_name="Estimates")], max_rows)
    _write_blocks(wb, styles, "Trace", [_Block(tables["trace"], table_name="Trace")], max_rows)
    _inventory(wb, styles, report, max_rows)
    if tables.get("orbat") is not None and not tables["orbat"].empty:
        _write_blocks(wb, styles, "ORBAT", [_Block(tables["orbat"], table_name="Orbat")], max_rows)
    if "fleet" in tables:
        _write_blocks(wb, styles, "Fleet", [_Block(tables["fleet"], table_name="Fleet")], max_rows)
    with replaced_when_done(path) as tmp:
        wb.save(tmp)
    return path
