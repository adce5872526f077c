"""Plain-text tables for output with many rows (rich's tables are made for a screenful).

Rendering thousands of rows through rich costs seconds; these are aligned
columns of text, written at the speed of ``str.ljust``. Text from the data
has its control characters (terminal escapes included) shown as ``?``, so a
convoy name cannot move the cursor or recolour the screen.
"""

import re
from collections.abc import Sequence

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: The last column is cut to what is left of the width (with "..."), never below this.
MIN_LAST = 20


def _safe(text: str) -> str:
    return _CONTROL.sub("?", text)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int | None = None) -> list[str]:
    """Lines of a left-aligned table: header, rule, rows; two spaces between columns.

    ``width`` (a terminal's) cuts the last column to fit; ``None`` keeps it whole.
    """
    n = len(headers)
    cells = [list(map(str, row)) for row in rows]
    # One search per column over all its cells; only a column with a control character is cleaned cell by cell.
    for i in range(max([n, *map(len, cells)])):
        if _CONTROL.search(" ".join(row[i] for row in cells if i < len(row))):
            for row in cells:
                if i < len(row):
                    row[i] = _safe(row[i])
    widths = [len(h) for h in headers]
    if cells and all(len(row) == n for row in cells):
        # Whole columns at once (the usual case: every row as wide as the header).
        for i, column in enumerate(list(zip(*cells))[:n - 1]):
            widths[i] = max(widths[i], *map(len, column))
    else:
        for row in cells:
            for i in range(min(n - 1, len(row))):
                if len(row[i]) > widths[i]:
                    widths[i] = len(row[i])
    lead = sum(widths[:-1]) + 2 * (n - 1)
    last = None if width is None else max(MIN_LAST, width - lead)
    pads = widths[:-1]
    ljust = str.ljust

    def line(row: Sequence[str]) -> str:
        text = "  ".join(map(ljust, row[:n - 1], pads))
        tail = row[-1]
        if last is not None and len(tail) > last:
            tail = tail[:last - 3] + "..."
        return (text + "  " + tail).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths[:-1]) + "  " + "-" * max(widths[-1], len(headers[-1]))]
    out += [line(row) for row in cells]
    return out


def plain_fields(title: str, fields: Sequence[tuple[str, str]]) -> list[str]:
    """Lines of one record: its title, then each field name aligned with its value."""
    width = max((len(name) for name, _ in fields), default=0)
    return [_safe(title)] + [f"  {_safe(name).ljust(width)}  {_safe(value)}" for name, value in fields]
