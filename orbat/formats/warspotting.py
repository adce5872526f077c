"""WarSpotting's geolocated losses (ukr.warspotting.net): its API JSON and its CSV export.

The API answers ``GET /api/losses/russia/YYYY-MM-DD/`` with
``{"losses": [{...}, ...]}``; the CSV export has the same fields as columns:
``id``, ``type`` (WarSpotting's category), ``model``, ``status``,
``lost_by``, ``date``, ``nearest_location``, ``geo`` (``"lat,lon"`` or
empty), ``unit`` and ``tags`` (comma-separated).

Each loss is one sighting with the id ``warspotting-ID`` and the source
``https://ukr.warspotting.net/view/ID/``; WarSpotting's own category is kept
in the notes (``WarSpotting: Tanks``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbat.errors import InputFileError
from orbat.formats import RawTable
from orbat.formats.losses import captors, events, file_columns, per_value
from orbat.formats.table import frame_from_rows, json_scalar

#: The columns that make a file a WarSpotting export.
SIGNATURE = frozenset({"id", "model", "status", "lost_by", "date"})
_WANTED = ("id", "type", "model", "status", "lost_by", "date", "nearest_location", "geo", "unit", "tags")
#: WarSpotting lists geolocated losses with their photo or video: usually reliable, probably true.
DEFAULT_GRADE = "B2"
#: The two sides WarSpotting tracks.
SIDES = ("Russia", "Ukraine")
VIEW_URL = "https://ukr.warspotting.net/view/{}/"
_GEO = re.compile(r"^\s*([^,\s]+)\s*,\s*([^,\s]+)\s*$")
COLUMN_ORIGIN = {
    "sighting_id": "id", "source": "id", "observed_at": "date", "place": "nearest_location", "lat": "geo",
    "lon": "geo", "actor": "lost_by", "captor": "lost_by", "equipment": "model", "event": "status",
    "notes": "type", "unit": "unit", "tags": "tags", "reliability": "--grade", "credibility": "--grade",
}


def read_api_json(path: Path) -> tuple[pd.DataFrame, int, list[str]]:
    """The losses of an API answer (``{"losses": [...]}``, or the bare list) as text cells, one row per loss."""
    from orbat.formats.json import load_json

    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty")
    data = load_json(path)
    losses = data.get("losses") if isinstance(data, dict) else data
    if isinstance(data, dict) and "losses" not in data:
        raise InputFileError(f"{path}: expected WarSpotting's API answer {{\"losses\": [...]}}, "
                             f"found an object with {', '.join(map(repr, list(data)[:5])) or 'no keys'}")
    if not isinstance(losses, list):
        raise InputFileError(f"{path}: 'losses' must be a list of losses, found {_json_type(losses)}; "
                             "nothing was imported")
    header: list[str] = []
    rows: list[list[str]] = []
    bad: list[str] = []
    for i, loss in enumerate(losses, start=1):
        if not isinstance(loss, dict):
            bad.append(f"{path}: loss {i}: expected an object, found {_json_type(loss)}")
            continue
        for key in loss:
            if key not in header:
                header.append(str(key))
    for i, loss in enumerate(losses, start=1):
        if not isinstance(loss, dict):
            rows.append([""] * len(header))
            continue
        cells = []
        for key in header:
            value = loss.get(key)
            if key == "tags" and isinstance(value, list) and all(isinstance(t, str) for t in value):
                value = ", ".join(value)
            text, scalar = json_scalar(value)
            if not scalar:
                bad.append(f"{path}: loss {i}, column {key}: expected a string, number or null, got {text[:60]!r}")
            cells.append(text)
        rows.append(cells)
    if bad:
        raise InputFileError("\n".join(bad[:50]) + "\nnothing was imported")
    if not rows:
        raise InputFileError(f"{path}: no losses: the list is empty")
    return frame_from_rows(header, rows), 1, [f"loss {i}" for i in range(1, len(rows) + 1)]


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _geo(text: str) -> tuple[str, str, bool]:
    """``"lat,lon"`` as (lat, lon, well formed); the numbers are checked by the validation."""
    if text == "":
        return "", "", True
    found = _GEO.match(text)
    if not found:
        return "", "", False
    return found.group(1), found.group(2), True


def convert(raw: pd.DataFrame, *, source: str, first_row: int, labels: list[str] | None, grade: str,
            today: dt.date) -> RawTable:
    """A WarSpotting export (its cells as text) as interchange text cells, one row per loss."""
    cells = file_columns(raw, _WANTED, sorted(SIGNATURE), source=source, fmt="WarSpotting")
    problems: list = []
    ids = cells["id"]
    numeric = per_value(ids, lambda v: v.isascii() and v.isdigit()).to_numpy(dtype=bool)
    for pos in np.flatnonzero(~numeric & (ids != "").to_numpy()):
        problems.append((int(pos), "id", "expected WarSpotting's numeric id", ids.iloc[pos]))
    event = events(cells["status"], "status", problems)
    geo = per_value(cells["geo"], _geo)
    for pos in np.flatnonzero(~np.array([g[2] for g in geo], dtype=bool)):
        problems.append((int(pos), "geo", "expected 'lat,lon' in decimal degrees, like '50.05,36.36'",
                         cells["geo"].iloc[pos]))
    captor, _ = captors(cells["lost_by"], event, SIDES)
    out = pd.DataFrame({
        "sighting_id": per_value(ids, lambda v: f"warspotting-{v}" if v else ""),
        "observed_at": cells["date"],
        "place": cells["nearest_location"],
        "lat": [g[0] for g in geo],
        "lon": [g[1] for g in geo],
        "actor": cells["lost_by"],
        "equipment": cells["model"],
        "count": "1",
        "source": per_value(ids, lambda v: VIEW_URL.format(v) if v.isascii() and v.isdigit() else ""),
        "reliability": grade,
        "notes": per_value(cells["type"], lambda t: f"WarSpotting: {t}" if t else ""),
        "event": event,
        "captor": captor,
        "unit": cells["unit"],
        "tags": cells["tags"],
    }, index=raw.index)
    return RawTable(raw=out, original=raw, first_row=first_row, labels=labels, fmt="warspotting",
                    columns=dict(COLUMN_ORIGIN), problems=problems, keep_unresolved=True,
                    spreadsheet=not (labels and labels[0].startswith("loss ")))
