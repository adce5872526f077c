"""Every file format orbat reads or writes, one module a format.

Readers turn a file into a raw text frame (the file's header as columns,
``""`` for empty cells) that :func:`orbat.sightings.validate_frame` turns into
the canonical frame. :func:`read_raw` picks the reader by extension.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from orbat.errors import InputFileError
from orbat.formats.table import Progress


def read_raw(path: Path, *, notes: list[str] | None = None, progress: Progress | None = None,
             ) -> tuple[pd.DataFrame, int, list[str] | None]:
    """The cells of a sightings file as text, unvalidated: ``(raw, first_row, row_labels)``.

    ``raw`` has the file's header as its columns (duplicates and all) and
    ``""`` for empty cells; ``first_row`` is the row number of its first row.
    """
    notes = notes if notes is not None else []
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a sightings file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from orbat.formats.xlsx import read_xlsx

        raw, labels = read_xlsx(path)
        return raw, 2, labels
    if suffix in (".csv", ".tsv", ".txt"):
        from orbat.formats.csv import read_csv

        return read_csv(path, notes, progress), 2, None
    if suffix == ".json":
        from orbat.formats.json import read_json

        raw, labels = read_json(path)
        return raw, 1, labels
    if suffix == ".xls":
        raise InputFileError(f"{path}: old-style Excel .xls is not supported; save it as .xlsx (or CSV UTF-8)")
    raise InputFileError(f"{path}: unknown file type {path.suffix!r}; expected .csv, .tsv, .txt, .xlsx, .xlsm or .json")


#: The formats ``orbat import --from`` takes; ``interchange`` is orbat's own.
FORMATS: tuple[str, ...] = ("interchange", "oryx", "warspotting")


@dataclass
class RawTable:
    """A file's rows as interchange text cells, ready for :func:`orbat.sightings.validate_frame`.

    ``original`` is the file as it was (for the rejects file); ``columns``
    maps an interchange column to the file's column it came from, so that a
    problem names the column the user sees; ``problems`` are the rows the
    reader itself found wrong, as ``(position, file column, message, value)``.
    """

    raw: pd.DataFrame
    original: pd.DataFrame
    first_row: int
    labels: list[str] | None
    fmt: str
    columns: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[int, str, str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keep_unresolved: bool = False  #: names the catalog does not know are kept, not refused
    spreadsheet: bool = True  #: cells may carry a spreadsheet's formula escape


def detect_format(path: Path, header: list[str]) -> str:
    """Which format a file's header says it is: ``oryx``, ``warspotting`` or ``interchange``.

    A loss list is recognised by the columns its publisher always writes
    (see :data:`orbat.formats.oryx.SIGNATURE` and
    :data:`orbat.formats.warspotting.SIGNATURE`); anything else is the
    interchange format, whose own checks then name any unknown column.
    """
    from orbat.formats import oryx, warspotting
    from orbat.formats.table import header_key

    keys = {header_key(h) for h in header}
    for name, module in (("oryx", oryx), ("warspotting", warspotting)):
        if module.SIGNATURE <= keys:
            return name
    return "interchange"


def read_table(path: Path, *, fmt: str | None = None, columns: dict[str, str] | None = None,
               grade: str | None = None, today: dt.date | None = None,
               progress: Progress | None = None) -> RawTable:
    """Read any file orbat imports into interchange text cells.

    ``fmt`` is one of :data:`FORMATS`, or None to tell it from the header
    (and, for JSON, from its shape: ``{"losses": [...]}`` is WarSpotting).
    ``columns`` renames an analyst's columns to interchange columns
    (:mod:`orbat.formats.columns`); ``grade`` is the Admiralty grade given to
    a loss list's rows (each source has its default).
    """
    from orbat.errors import UsageError

    path = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--from {fmt!r}: expected one of {', '.join(FORMATS)}")
    if columns and fmt not in (None, "interchange"):
        raise UsageError("--columns maps an analyst's own spreadsheet onto the interchange format; "
                         f"a {fmt} file needs no mapping")
    if fmt in ("oryx", "warspotting") or (fmt is None and not columns):
        from orbat.formats import losses

        guessed = losses.read_loss_list(path, fmt, grade=grade, today=today, progress=progress)
        if guessed is not None:
            return guessed
    if grade is not None:
        raise UsageError("--grade sets the grade of a loss list's rows (--from oryx or warspotting); "
                         "an interchange file has its own reliability and credibility columns")
    notes: list[str] = []
    raw, first_row, labels = read_raw(path, notes=notes, progress=progress)
    table = RawTable(raw=raw, original=raw, first_row=first_row, labels=labels, fmt="interchange",
                     notes=notes, spreadsheet=path.suffix.lower() != ".json")
    if columns:
        from orbat.formats.columns import apply_mapping

        apply_mapping(table, columns, source=str(path))
    return table
