"""The interchange format in an Excel workbook (.xlsx/.xlsm): the ``Sightings`` sheet and its continuations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from orbat.formats.table import frame_from_rows


def read_xlsx(path: Path) -> tuple[pd.DataFrame, list[str] | None]:
    """The ``Sightings`` sheet and its continuations (``Sightings (2)``, ...), and row labels when there are several.

    With one sheet, problems name rows by number, as Excel does; rows of a
    continued table are named by sheet and row (``sheet 'Sightings (2)', row 5``).
    """
    from orbat.excel.reader import read_xlsx_table

    header, rows, parts = read_xlsx_table(path)
    labels = None
    if len(parts) > 1:
        labels = [f"sheet {title!r}, row {row}" for title, count in parts for row in range(2, count + 2)]
    return frame_from_rows(header, rows), labels
