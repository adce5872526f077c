"""The Excel entry template: a workbook in the interchange format, with dropdowns.

Sheet ``Sightings`` has the header row of :data:`orbat.sightings.COLUMNS`
(bold, frozen, with a tooltip on each header) and data validation on the
columns that take a fixed set of values. The equipment list (hundreds of
names, far beyond the 255 characters Excel allows in an inline list) lives on
a hidden ``Lists`` sheet and is referenced by range. An ``Instructions``
sheet explains each column and the Admiralty grades. A filled-in template
imports with ``orbat import``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from orbat.outfiles import replaced_when_done
from orbat.sightings import (
    COLUMNS, CREDIBILITY, EVENTS, MAX_COUNT, MODES, RELIABILITY, REQUIRED, escape_formula_text,
)

if TYPE_CHECKING:
    from orbat.catalog import Catalog

#: How many rows of the entry sheet carry the validations and formats.
ENTRY_ROWS = 1000
#: Empty rows shown formatted (zebra-free, just the borders), as a hint of where to type.
FORMATTED_ROWS = 20

#: What each column means: the header tooltip and the Instructions sheet.
COLUMN_HELP: dict[str, str] = {
    "sighting_id": "Required. Your id for one photo, video or report; the same on every row of it.",
    "convoy": "Optional. Groups sightings of the same convoy; empty = this sighting is its own convoy.",
    "observed_at": "Required. Date (YYYY-MM-DD) or date and time of the observation; not in the future.",
    "place": "Optional. Where it was seen, as text.",
    "lat": "Optional. Latitude in decimal degrees, -90 to 90 (WGS84).",
    "lon": "Optional. Longitude in decimal degrees, -180 to 180 (WGS84).",
    "actor": "Optional. Who operates the vehicles (pick from the list or type).",
    "equipment": "Required. A catalog name or alias (pick from the list); one row per type.",
    "count": f"Required. How many were seen: a whole number 0 to {MAX_COUNT:,}.",
    "count_max": "Optional. Upper bound when unsure (count 6, count_max 7 = 6 to 7).",
    "mode": "Optional. driven (default) or carried (on a truck or trailer).",
    "source": "Optional. Where it comes from, usually a URL.",
    "reliability": "Optional. Admiralty grade of the source, A-F (or a combined grade like B2).",
    "credibility": "Optional. Admiralty grade of the information, 1-6.",
    "notes": "Optional. Anything else (modifications, what the source says).",
    "event": "Optional. sighting (default), arrival, destroyed, damaged, abandoned or captured.",
    "captor": "Optional. Who captured it (only with event captured).",
    "unit": "Optional. The unit or formation, as written (e.g. 71st Guards Motor Rifle Division).",
    "tags": "Optional. Comma-separated tags: cope cage, turretless, Z.",
    "markings": "Optional. Identifiers read on these vehicles (serials, tactical numbers), separated by ; "
                "e.g. TZ-03D;TZ-06D. At most one per vehicle.",
}

_WIDTHS = {"sighting_id": 22, "convoy": 20, "observed_at": 14, "place": 28, "lat": 11, "lon": 11,
           "actor": 20, "equipment": 26, "count": 8, "count_max": 10, "mode": 10, "source": 40,
           "reliability": 11, "credibility": 11, "notes": 40, "event": 12, "captor": 18, "unit": 30, "tags": 24,
           "markings": 24}


def _col(name: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(COLUMNS.index(name) + 1)


def write_template(path: str | os.PathLike, catalog: Catalog, *, actors: Sequence[str] = ()) -> Path:
    """Write the entry workbook to ``path`` (.xlsx); returns the path.

    ``actors``: names offered in the actor dropdown (free text is still
    allowed, so the list is a suggestion, not a rule).
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = "Sightings"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    thin = Side(style="thin", color="BFBFBF")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for i, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=name)
        cell.font = bold
        cell.fill = required_fill if name in REQUIRED else fill
        cell.alignment = Alignment(vertical="center")
        cell.comment = Comment(COLUMN_HELP[name], "orbat", width=300, height=80)
        ws.column_dimensions[cell.column_letter].width = _WIDTHS.get(name, 14)
    ws.freeze_panes = "A2"
    last = ENTRY_ROWS + 1
    for row in range(2, FORMATTED_ROWS + 2):
        for i in range(1, len(COLUMNS) + 1):
            ws.cell(row=row, column=i).border = border
    for row in range(2, last + 1):
        ws.cell(row=row, column=COLUMNS.index("observed_at") + 1).number_format = "yyyy-mm-dd"
        # Text format so Excel does not turn ids like 2025-01-17 or 00123 into dates or numbers.
        ws.cell(row=row, column=COLUMNS.index("sighting_id") + 1).number_format = "@"

    # Lists: long lists go on a hidden sheet and are referenced by range.
    lists = wb.create_sheet("Lists")
    equipment = sorted({e.name for e in catalog}, key=str.casefold)
    actor_names = list(dict.fromkeys(a for a in actors if a))
    lists["A1"] = "equipment"
    lists["B1"] = "actor"
    lists["A1"].font = lists["B1"].font = bold
    for r, name in enumerate(equipment, start=2):
        lists.cell(row=r, column=1, value=escape_formula_text(name))
    for r, name in enumerate(actor_names, start=2):
        lists.cell(row=r, column=2, value=escape_formula_text(name))
    lists.sheet_state = "hidden"

    def rng(name: str) -> str:
        return f"{_col(name)}2:{_col(name)}{last}"

    def add(validation: DataValidation, column: str, title: str, prompt: str) -> None:
        validation.promptTitle = title[:32]
        validation.prompt = prompt[:255]
        validation.showInputMessage = True
        validation.showErrorMessage = True
        validation.errorTitle = f"Invalid {column}"[:32]
        validation.add(rng(column))
        ws.add_data_validation(validation)

    if equipment:
        add(DataValidation(type="list", formula1=f"=Lists!$A$2:$A${len(equipment) + 1}", allow_blank=True),
            "equipment", "Equipment", COLUMN_HELP["equipment"])
    if actor_names:
        actor_dv = DataValidation(type="list", formula1=f"=Lists!$B$2:$B${len(actor_names) + 1}", allow_blank=True)
        # A suggestion list: a new actor name can still be typed (warning, not a stop).
        actor_dv.errorStyle = "warning"
        actor_dv.error = "Not in the known actors; keep it if you are sure."
        add(actor_dv, "actor", "Actor", COLUMN_HELP["actor"])
    add(DataValidation(type="list", formula1='"' + ",".join(MODES) + '"', allow_blank=True),
        "mode", "Mode", COLUMN_HELP["mode"])
    add(DataValidation(type="list", formula1='"' + ",".join(EVENTS) + '"', allow_blank=True),
        "event", "Event", COLUMN_HELP["event"])
    rel = DataValidation(type="list", formula1='"' + ",".join(RELIABILITY) + '"', allow_blank=True)
    # B2-style combined grades are accepted on import, so do not forbid them here.
    rel.errorStyle = "warning"
    add(rel, "reliability", "Reliability (A-F)", COLUMN_HELP["reliability"])
    add(DataValidation(type="list", formula1='"' + ",".join(str(k) for k in CREDIBILITY) + '"', allow_blank=True),
        "credibility", "Credibility (1-6)", COLUMN_HELP["credibility"])
    add(DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)", formula2="TODAY()",
                       allow_blank=True),
        "observed_at", "Date observed", COLUMN_HELP["observed_at"])
    for column in ("count", "count_max"):
        add(DataValidation(type="whole", operator="between", formula1="0", formula2=str(MAX_COUNT), allow_blank=True),
            column, column, COLUMN_HELP[column])
    add(DataValidation(type="decimal", operator="between", formula1="-90", formula2="90", allow_blank=True),
        "lat", "Latitude", COLUMN_HELP["lat"])
    add(DataValidation(type="decimal", operator="between", formula1="-180", formula2="180", allow_blank=True),
        "lon", "Longitude", COLUMN_HELP["lon"])

    _instructions(wb.create_sheet("Instructions"), bold)
    wb.active = 0
    # Whole or not at all: a failed save leaves no temporary file, and an existing template as it was.
    with replaced_when_done(path) as tmp:
        wb.save(tmp)
    return path


def _instructions(ws, bold) -> None:
    lines: list[tuple[str, str]] = [
        ("How to use this workbook", ""),
        ("", "Enter one row per sighting and equipment type on the Sightings sheet, then run: orbat import FILE.xlsx"),
        ("", "Rows of one sighting repeat its sighting_id, date, place, coordinates, actor, source and grades."),
        ("", "Orange headers are required. Hover over a header for help. Blank rows are ignored."),
        ("", ""),
        ("Column", "Meaning"),
        *((name, COLUMN_HELP[name]) for name in COLUMNS),
        ("", ""),
        ("Reliability (source)", "Meaning"),
        *((k, v) for k, v in RELIABILITY.items()),
        ("", ""),
        ("Credibility (information)", "Meaning"),
        *((str(k), v) for k, v in CREDIBILITY.items()),
    ]
    for r, (a, b) in enumerate(lines, start=1):
        ws.cell(row=r, column=1, value=a)
        ws.cell(row=r, column=2, value=b)
        if a in ("How to use this workbook", "Column", "Reliability (source)", "Credibility (information)"):
            ws.cell(row=r, column=1).font = bold
            ws.cell(row=r, column=2).font = bold
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 100
