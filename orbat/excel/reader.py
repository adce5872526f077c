"""Bounded, defused reading of .xlsx input.

Workbooks come from the internet, so before openpyxl sees one we look at the
zip directory: too large, or compressed suspiciously well (a zip bomb), and
the file is refused without being inflated. openpyxl parses the XML with
defusedxml when it is installed (it is a dependency), which stops entity
expansion attacks; :func:`read_xlsx_table` refuses to run without it.

Cells come back as text, the way the interchange format reads them:
numbers without a spurious ``.0``, Excel dates as ISO 8601, and Excel serial
numbers in date columns as dates.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from collections.abc import Iterable
from pathlib import Path

from orbat.errors import InputFileError

#: Largest .xlsx file accepted (compressed size on disk).
MAX_XLSX_BYTES = 256 * 1024 * 1024
#: Largest total uncompressed size of all the parts of a workbook.
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
#: Worksheet XML compresses 10-50x; far beyond that, a large part is a zip bomb.
MAX_COMPRESSION_RATIO = 200
#: Parts smaller than this are not ratio-checked (tiny parts compress oddly).
RATIO_CHECK_FROM_BYTES = 10 * 1024 * 1024
#: Excel's own sheet limit.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 64
MAX_CELLS = 30_000_000
#: The sheet read when a workbook has several.
SHEET_NAME = "Sightings"

# Excel's largest date (9999-12-31) as a serial number.
_MAX_SERIAL = 2958465


def check_zip(path: Path, *, max_uncompressed: int = MAX_UNCOMPRESSED_BYTES,
              max_ratio: float = MAX_COMPRESSION_RATIO) -> None:
    """Refuse a workbook that is not a zip, is truncated, or would inflate too much.

    Only the zip directory is read, so a zip bomb is refused in bounded time
    and memory. Python's zipfile never inflates a part past the size its
    directory entry declares, so the declared sizes checked here bound what
    openpyxl can later read.
    """
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise InputFileError(f"{name}: the file is empty")
    if size > MAX_XLSX_BYTES:
        raise InputFileError(f"{name}: {size:,} bytes is larger than the {MAX_XLSX_BYTES:,}-byte limit for .xlsx files")
    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputFileError(
            f"{name}: this is an old-style Excel .xls (or an encrypted workbook); "
            "open it in Excel or LibreOffice and save it as .xlsx"
        )
    if not magic.startswith(b"PK"):
        raise InputFileError(f"{name}: not an Excel .xlsx workbook (it is not a zip file; is it a CSV with the wrong extension?)")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"{name}: not a readable .xlsx workbook (damaged or truncated zip: {exc})") from None
    total = 0
    for info in infos:
        total += info.file_size
        if total > max_uncompressed:
            raise InputFileError(
                f"{name}: refused: the workbook would inflate to more than {max_uncompressed:,} bytes"
            )
        if info.file_size >= RATIO_CHECK_FROM_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio:
                raise InputFileError(
                    f"{name}: refused: part {info.filename} is compressed {ratio:,.0f} to 1 "
                    f"(more than {max_ratio:,.0f}); this looks like a zip bomb"
                )
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise InputFileError(f"{name}: a zip file but not an Excel .xlsx workbook")


def excel_serial_to_iso(value: float, epoch: dt.datetime | None = None) -> str | None:
    """An Excel serial date number as ISO 8601 text, or None when it cannot be a date.

    Whole numbers give a date (``45674`` -> ``2025-01-17``); fractions a
    date and time to the second.
    """
    from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if not 1 <= value <= _MAX_SERIAL:
        return None
    try:
        moment = from_excel(value, epoch or CALENDAR_WINDOWS_1900)
    except (ValueError, OverflowError):
        return None
    return _iso(moment)


def _iso(value: dt.datetime | dt.date | dt.time) -> str:
    if isinstance(value, dt.datetime):
        # Excel stores times as fractions of a day: 10:30 may come back as 10:29:59.999998.
        rounded = value + dt.timedelta(microseconds=500_000)
        rounded = rounded.replace(microsecond=0)
        if rounded.time() == dt.time(0, 0):
            return rounded.date().isoformat()
        return rounded.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.replace(microsecond=0).isoformat()


def cell_text(value, *, date_column: bool = False, epoch=None) -> str | None:
    """One cell value as the text the interchange format expects (None for an empty cell)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _iso(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (int, float)):
        if date_column:
            iso = excel_serial_to_iso(value, epoch)
            if iso is not None:
                return iso
        if isinstance(value, float):
            if not math.isfinite(value):
                return str(value)
            if value.is_integer() and abs(value) < 1e15:
                return str(int(value))
            return repr(value)
        return str(value)
    return str(value)


def _open_workbook(path: Path):
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        # Without defusedxml, openpyxl's XML parsing expands entities: never for hostile input.
        raise InputFileError(f"{path}: refusing to read .xlsx: the defusedxml package is not installed")
    return openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False, keep_vba=False)


def read_xlsx_table(
    path: str | Path,
    *,
    max_rows: int = MAX_ROWS,
    max_cells: int = MAX_CELLS,
    max_columns: int = MAX_COLUMNS,
    date_columns: Iterable[str] = ("observed_at",),
    sheet: str = SHEET_NAME,
    continued: bool = True,
) -> tuple[list[str], list[tuple[str | None, ...]], list[tuple[str, int]]]:
    """The header, the data rows and where they come from, of a workbook's ``Sightings`` sheet (else its first).

    Every value is text or None (see :func:`cell_text`). Blank rows are kept,
    so row numbers stay true; trailing blank rows are dropped. Serial numbers
    in the columns named in ``date_columns`` (matched case-insensitively)
    become ISO dates.

    A table longer than Excel's row limit continues on ``Sightings (2)``,
    ``Sightings (3)``, ... (how orbat's reports write it), each with the same
    header: their rows follow the first sheet's. ``parts`` says where the rows
    come from: ``(sheet title, number of rows)`` in order; row ``i`` of a part
    is row ``i + 2`` of its sheet. A continuation sheet with another header is
    refused. ``max_rows`` bounds each sheet, ``max_cells`` all of them;
    ``continued=False`` reads the first sheet alone.

    Raises :class:`InputFileError` for anything that is not a readable,
    reasonably sized workbook.
    """
    path = Path(path)
    check_zip(path)
    wanted_dates = {c.strip().lower() for c in date_columns}
    try:
        workbook = _open_workbook(path)
    except InputFileError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile workbook can make openpyxl raise almost anything
        raise InputFileError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        worksheets = [ws for ws in workbook.worksheets if hasattr(ws, "iter_rows")]
        if not worksheets:
            raise InputFileError(f"{path}: the workbook has no worksheet")
        chosen = next((ws for ws in worksheets if ws.title.strip().lower() == sheet.lower()), worksheets[0])
        header, rows = _read_sheet(chosen, path, workbook.epoch, wanted_dates, max_rows, max_cells, max_columns)
        parts = [(chosen.title, len(rows))]
        by_title = {ws.title.strip().lower(): ws for ws in worksheets}
        cells = sum(len(r) for r in rows)
        while continued:
            more = by_title.get(f"{chosen.title.strip()} ({len(parts) + 1})".lower())
            if more is None:
                break
            more_header, more_rows = _read_sheet(more, path, workbook.epoch, wanted_dates, max_rows,
                                                 max_cells, max_columns, cells_before=cells)
            if [h.strip() for h in more_header] != [h.strip() for h in header]:
                raise InputFileError(
                    f"{path}: sheet {more.title!r} continues {chosen.title!r} but its header differs "
                    f"(row 1 should repeat {chosen.title!r}'s column names)"
                )
            rows.extend(more_rows)
            cells += sum(len(r) for r in more_rows)
            parts.append((more.title, len(more_rows)))
        return header, rows, parts
    except InputFileError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - same: malformed sheet XML surfaces as many exception types
        raise InputFileError(f"{path}: the workbook is damaged ({type(exc).__name__}: {exc})") from None
    finally:
        workbook.close()


def _read_sheet(chosen, path, epoch, wanted_dates, max_rows, max_cells, max_columns, cells_before=0):
    # The <dimension> a file declares can be wrong; read what is really there.
    chosen.reset_dimensions()
    rows = chosen.iter_rows(values_only=True)
    header_values = next(rows, None)
    if header_values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in header_values):
        raise InputFileError(f"{path}: sheet {chosen.title!r} is empty (row 1 should hold the column names)")
    header = [cell_text(v) or "" for v in header_values]
    if len(header) > max_columns:
        extra = [h for h in header[max_columns:] if h.strip()]
        if extra:
            raise InputFileError(f"{path}: sheet {chosen.title!r} has more than {max_columns} columns")
        header = header[:max_columns]
    while header and not header[-1].strip():
        header.pop()
    date_positions = {i for i, h in enumerate(header) if h.strip().lower() in wanted_dates}
    out: list[tuple[str | None, ...]] = []
    cells = 0
    last_filled = 0
    for values in rows:
        if len(out) >= max_rows:
            raise InputFileError(f"{path}: sheet {chosen.title!r} has more than {max_rows:,} rows")
        if len(values) > max_columns:
            if any(v is not None for v in values[max_columns:]):
                raise InputFileError(
                    f"{path}: sheet {chosen.title!r}, row {len(out) + 2}: values beyond column {max_columns}"
                )
            values = values[:max_columns]
        texts = tuple(cell_text(v, date_column=i in date_positions, epoch=epoch) for i, v in enumerate(values))
        # Empty cells at the end of a row are noise (formatted but unused cells).
        end = len(texts)
        while end and (texts[end - 1] is None):
            end -= 1
        texts = texts[:end]
        cells += len(texts)
        if cells_before + cells > max_cells:
            what = f"the sheets up to {chosen.title!r} have" if cells_before else f"sheet {chosen.title!r} has"
            raise InputFileError(f"{path}: {what} more than {max_cells:,} cells")
        out.append(texts)
        if texts:
            last_filled = len(out)
    del out[last_filled:]
    return header, out
