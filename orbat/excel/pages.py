"""Page layout of the report sheets: how each one prints (A4 landscape, a legible scale, repeated titles).

Fit-to-one-page-wide shrank a wide sheet to an unreadable size on paper, so
every sheet prints at a fixed scale fitted to its columns but never below
:data:`MIN_PRINT_SCALE`; a wider sheet continues on the pages to its right,
with its first column and its header row repeated. The Summary's charts and
map are placed by :func:`drawing_columns` so no page edge cuts them, and
:func:`page_breaks` sets the column breaks they were planned for, so Excel
and LibreOffice break in the same places.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

#: Width of the empty column between two blocks (openpyxl's default column width).
GAP_WIDTH = 8.43

#: Paper the report is laid out for: A4 (openpyxl's paper size 9), landscape, narrow margins (inches).
PAPER_SIZE = 9
PAGE_WIDTH_IN, MARGIN_IN = 11.69, 0.4
#: The smallest print scale (percent): below about 60 % a 11-point font is no longer legible on paper.
MIN_PRINT_SCALE = 60


def print_scale(widths: Sequence[float]) -> int:
    """The print scale (percent) at which columns of these widths fit one page across, kept in 60-100.

    A column ``w`` characters wide is about ``7w + 5`` pixels at 96 dpi. A
    sheet wider than fits at 60 % continues on the pages to its right (with
    its first column repeated) rather than shrinking into illegibility.
    """
    content_in = sum(w * 7 + 5 for w in widths) / 96
    printable = PAGE_WIDTH_IN - 2 * MARGIN_IN
    if content_in <= 0:
        return 100
    return max(MIN_PRINT_SCALE, min(100, int(printable / content_in * 100)))


def print_setup(ws, widths: Sequence[float], last_row: int, *, title_rows: str | None = "1:1",
                title_cols: str | None = "A:A", scale: int | None = None) -> None:
    """A sheet's page layout: A4 landscape, a legible fixed scale, header row and first column repeated, print area.

    ``widths`` are the sheet's column widths (characters) from column A,
    drawings included, and ``last_row`` its last row.
    """
    setup = ws.page_setup
    setup.orientation = "landscape"
    setup.paperSize = PAPER_SIZE
    setup.scale = scale or print_scale(widths)
    setup.pageOrder = "overThenDown"  # a wide table reads on across, then down
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_margins.left = ws.page_margins.right = MARGIN_IN
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.gridLines = False
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    ws.print_area = f"A1:{get_column_letter(max(1, len(widths)))}{max(1, last_row)}"
    ws.oddFooter.center.text = "&A, page &P of &N"
    ws.oddFooter.center.size = 8


def column_cm(widths: Sequence[float]) -> float:
    """How wide columns of these widths (characters) are on paper at 100 %, in cm (7 px + 5 at 96 dpi)."""
    return sum(w * 7 + 5 for w in widths) / 96 * 2.54


def extended(widths: Sequence[float], columns: int) -> list[float]:
    """The widths of ``columns`` columns: the table's, then default-width columns (under drawings)."""
    return list(widths[:columns]) + [GAP_WIDTH] * max(0, columns - len(widths))


def columns_spanned(widths: Sequence[float], first: int, cm: float) -> int:
    """How many columns from ``first`` (1-based) a drawing ``cm`` wide covers."""
    n, covered = 0, 0.0
    while covered < cm:
        covered += column_cm(extended(widths, first + n)[first + n - 1:])
        n += 1
    return n


#: LibreOffice draws a column of ``w`` characters about this much wider than Excel's 7 px per character
#: (measured on a PDF of the demo report); page layouts are planned with the wider of the two.
LIBREOFFICE_WIDTH_FACTOR = 1.3


def column_pages(widths: Sequence[float], scale: int) -> list[tuple[int, float]]:
    """Where each column prints: (page across, cm from the page's left edge at 100 %), column A first.

    Column A repeats at the left of every page (:func:`print_setup`).
    """
    page_cm = (PAGE_WIDTH_IN - 2 * MARGIN_IN) * 2.54 * 100 / scale
    cm = [column_cm([w]) * LIBREOFFICE_WIDTH_FACTOR for w in widths]
    where, page, x = [(1, 0.0)], 1, cm[0] if cm else 0.0
    for width in cm[1:]:
        if x + width > page_cm and x > cm[0]:
            page, x = page + 1, cm[0]
        where.append((page, x))
        x += width
    return where


def drawing_columns(widths: Sequence[float], sizes_cm: Sequence[float], scale: int) -> list[int]:
    """Columns (1-based) for drawings laid left to right under a table, none cut by a printed page's edge.

    Pages are those of :func:`column_pages` (the Summary sets them as manual
    column breaks, so Excel and LibreOffice break there too). The first
    drawing starts in column B (a drawing in the repeated column A would
    repeat too); one that would cross a page's right edge moves to the next page.
    """
    page_cm = (PAGE_WIDTH_IN - 2 * MARGIN_IN) * 2.54 * 100 / scale * 0.97
    spare = extended(widths, len(widths) + 20 + int(sum(sizes_cm) / column_cm([GAP_WIDTH])))
    where = column_pages(spare, scale)
    first = where[1][1] if len(where) > 1 else 0.0
    out, column = [], 2
    for size in sizes_cm:
        while column < len(where) and not (where[column - 1][1] + size <= page_cm or where[column - 1][1] == first):
            column += 1
        out.append(column)
        page, end = where[column - 1][0], where[column - 1][1] + size + 0.5
        while column < len(where) and where[column - 1][0] == page and where[column - 1][1] < end:
            column += 1
    return out


def page_breaks(ws, widths: Sequence[float], scale: int) -> None:
    """Manual column breaks where :func:`column_pages` ends each page, so every application breaks alike."""
    where = column_pages(widths, scale)
    for column in range(2, len(where) + 1):
        if where[column - 1][0] != where[column - 2][0]:
            ws.col_breaks.append(Break(id=column - 1))
