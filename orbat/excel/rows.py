"""Sheet rows written a column at a time: the cell XML openpyxl writes, without a Python object per cell.

openpyxl's write-only sheet turns every appended value into a cell object
(type inference, a string check), then writes each cell through lxml's
incremental writer element by element: about 8 microseconds a cell, which
is most of a large report. :class:`SheetRows` takes over a write-only
sheet's row stream: small rows (titles, headers, chart data) still go
through openpyxl's own path, and bulk rows arrive as columns of plain
values that become the same ``<c>`` elements as text, one column at a time.
All rows go to a file of their own; openpyxl writes the sheet around a
marker and, once it has closed the sheet's file, the rows replace the
marker (so the sheet's head and tail, and everything openpyxl writes
around the rows, stay openpyxl's). This leans on openpyxl's write-only
internals (``_rows``, ``_writer``, ``_values_to_row``, 3.1); without them
the sheet is left to openpyxl.

The XML is the one openpyxl writes: ``r`` then ``s`` then ``t``
attributes, strings inline (``t="inlineStr"``, ``xml:space="preserve"``
when they start or end with white space), numbers as ``%.16g``, dates as
Excel serial numbers. A string is always a string cell: it can never be a
formula or an error value, whatever it starts with. A column holding any
value of another kind (a time, a Decimal, a date without a number format)
makes :func:`column_cells` return None, and the caller writes that chunk
the ordinary way.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from datetime import date, datetime

from lxml import etree
from openpyxl.utils.datetime import to_excel

#: Characters XML 1.0 cannot hold, as a translation table (removed); must match
#: :data:`orbat.excel.report.XML_ILLEGAL_RE`.
_ILLEGAL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF,
                          *range(0xD800, 0xE000)])
#: Escapes for text content; CR as a character reference, as libxml2 writes it (a literal CR would be
#: turned into LF by the parser).
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_MAX_CELL_CHARS = 32_767
#: What text must be escaped or cleaned for: the XML specials, CR, and what XML cannot hold.
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PRESERVE = ' xml:space="preserve"'
#: The comment openpyxl writes where the sheet's rows go (replaced by them once the sheet is closed).
_MARK = "orbat-sheet-rows"
#: Off: every row goes through openpyxl cell by cell (the tests compare the two).
FAST_ROWS = True


class SheetRows:
    """The row stream of one openpyxl write-only worksheet, taken over before its first row.

    It stands where openpyxl keeps the sheet's row generator, so
    ``ws.append`` still works (openpyxl makes and writes those cells) and
    the sheet's ``close()`` ends it; the stream starts with the first row,
    so what is set on the sheet before (column widths, frozen panes) is
    written as before. ``write_xml(rows)`` writes rows whose cells are XML
    text already (see :func:`row_xml`); ``row`` is the sheet row the next
    row gets.

    The rows go to a file of their own, as the bytes openpyxl's writer
    would give them (ASCII, character references for the rest); openpyxl
    writes the sheet around a marker where its rows would be, and once it
    has closed the sheet's file the rows replace the marker (a copy of the
    file, no parsing). When openpyxl's internals are not what this was
    written against, ``fast`` is False and the sheet is left alone.
    """

    def __init__(self, ws):
        self.ws = ws
        self.row = 1
        self._rows = None
        self._out = None
        self.fast = FAST_ROWS and (all(hasattr(ws, name) for name in ("_rows", "_writer", "_get_writer", "_values_to_row"))
                                   and ws._rows is None)
        if self.fast:
            ws._rows = self

    def _start(self) -> None:
        if self._rows is not None:
            return
        self.ws._get_writer()
        writer = self.ws._writer
        self._out = tempfile.TemporaryFile()
        close = writer.close

        def close_then_put_rows_in():
            close()
            self._splice(writer.out)

        writer.close = close_then_put_rows_in
        self._rows = self._stream()
        next(self._rows)

    def _stream(self):
        # openpyxl's WriteOnlyWorksheet._write_rows, with a marker where the rows go.
        writer = self.ws._writer
        xf = writer.xf.send(True)
        with xf.element("sheetData"):
            xf.write(etree.Comment(_MARK))
            try:
                while True:
                    yield
            except GeneratorExit:
                pass
        writer.xf.send(None)

    def send(self, row) -> None:
        """One row of values or openpyxl cells (what ``ws.append`` sends), written by openpyxl."""
        self._start()
        cells = self.ws._values_to_row(row, self.row)
        buffer = io.BytesIO()
        with etree.xmlfile(buffer) as xf:
            self.ws._writer.write_row(xf, cells, self.row)
        self._out.write(buffer.getvalue())
        self.row += 1

    def close(self) -> None:
        """End the sheet's rows (called by the sheet's ``close()``)."""
        self._start()
        self._rows.close()

    def write_xml(self, rows: list[str]) -> None:
        """Rows made by :func:`row_xml` (numbered from :attr:`row` on), written as they are."""
        if not rows:
            return
        self._start()
        self._out.write("".join(rows).encode("ascii", "xmlcharrefreplace"))
        self.row += len(rows)

    def _splice(self, path) -> None:
        """Put the rows where openpyxl's sheet file has the marker."""
        with open(path, "rb") as f:
            sheet = f.read()
        mark = f"<!--{_MARK}-->".encode()
        head, found, tail = sheet.partition(mark)
        if not found:
            raise RuntimeError(f"openpyxl wrote the sheet {self.ws.title!r} without its rows' marker")
        with open(path, "wb") as f:
            f.write(head)
            self._out.seek(0)
            shutil.copyfileobj(self._out, f, 1 << 20)
            f.write(tail)
        self._out.close()


def row_xml(row: int, cells) -> str:
    """One ``<row>`` of cell XML fragments (empty strings are empty cells)."""
    return f'<row r="{row}">{"".join(cells)}</row>'


def text_xml(text: str) -> str:
    """A string as the content of an inline string cell (cleaned, cut to Excel's limit, escaped).

    Empty text has no content (openpyxl writes an empty ``<c t="inlineStr">``).
    """
    if not text.isprintable():
        text = text.translate(_ILLEGAL)
    text = text[:_MAX_CELL_CHARS]
    if not text:
        return ""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{text.translate(_ESCAPE)}</t></is>"


def _number(value) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return ""  # openpyxl's safe_string: NaN and infinities are an empty value
    return "%.16g" % value


def column_cells(values: list, letter: str, first_row: int, style: int | None, epoch,
                 styles_of=None) -> list[str] | None:
    """The ``<c>`` XML of one column's values from ``first_row`` down; None when a value needs openpyxl.

    ``style`` is the style id every non-empty cell gets (a number format),
    or None. Values are None (no cell), str (always a string cell), bool,
    int, float, date or datetime (only with a ``style``: openpyxl would
    give a bare date a format of its own) or openpyxl cells made by the
    formula guard (their value and style are used; ``styles_of(cell)``
    gives the style id).
    """
    s = f' s="{style}"' if style is not None else ""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds == {str}:
        texts = [v for v in values if v is not None]
        if not _SPECIAL.search("".join(texts)) and max(map(len, texts)) <= _MAX_CELL_CHARS:
            # A clean text column (the usual case): nothing to escape, clean or cut, value by value.
            return ["" if v is None else f'<c r="{letter}{row}"{s} t="inlineStr"></c>' if not v
                    else f'<c r="{letter}{row}"{s} t="inlineStr"><is><t{_PRESERVE if v != v.strip() else ""}>{v}</t></is></c>'
                    for row, v in enumerate(values, first_row)]
    elif kinds == {int}:
        return ["" if v is None else f'<c r="{letter}{row}"{s} t="n"><v>{"%.16g" % v}</v></c>'
                for row, v in enumerate(values, first_row)]
    out = []
    append = out.append
    for row, value in enumerate(values, first_row):
        cls = value.__class__
        if value is None:
            append("")
        elif cls is str:
            append(f'<c r="{letter}{row}"{s} t="inlineStr">{text_xml(value)}</c>')
        elif cls is int or cls is float:
            append(f'<c r="{letter}{row}"{s} t="n"><v>{_number(value)}</v></c>')
        elif cls is bool:
            append(f'<c r="{letter}{row}"{s} t="b"><v>{int(value)}</v></c>')
        elif (cls is datetime or cls is date) and style is not None:
            if cls is datetime and value.tzinfo is not None:
                return None  # openpyxl refuses it, with its own message
            append(f'<c r="{letter}{row}"{s} t="n"><v>{_number(to_excel(value, epoch))}</v></c>')
        elif styles_of is not None and hasattr(value, "_style") and hasattr(value, "_value"):
            if value.data_type != "s" or value._value.__class__ is not str:
                return None
            own = styles_of(value)
            own = f' s="{own}"' if own is not None else ""
            append(f'<c r="{letter}{row}"{own} t="inlineStr">{text_xml(value._value)}</c>')
        else:
            return None
    return out
