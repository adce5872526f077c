"""Every file format orbat reads or writes, one module a format.

Readers turn a file into a raw text frame (the file's header as columns,
``""`` for empty cells) that :func:`orbat.sightings.validate_frame` turns into
the canonical frame. :func:`read_raw` picks the reader by extension.
"""

from __future__ import annotations

from pathlib import Path

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
