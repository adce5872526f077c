"""The interchange format as JSON: an array of row objects, or of sightings with their ``entries``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from orbat.errors import InputFileError
from orbat.formats.table import frame_from_rows, json_scalar

#: Largest JSON accepted (parsed whole).
MAX_JSON_BYTES = 512 * 1024**2


def load_json(path: Path) -> Any:
    """A JSON file parsed whole (the caller bounds its size); any way it cannot be read is an :class:`InputFileError`."""
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            return json.load(handle)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: JSON must be UTF-8 ({exc.reason} at byte {exc.start:,})") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise InputFileError(f"{path}: JSON nested too deeply") from None


def read_json(path: Path) -> tuple[pd.DataFrame, list[str]]:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InputFileError(f"{path}: {size:,} bytes is larger than the {MAX_JSON_BYTES:,}-byte limit for JSON files")
    if size == 0:
        raise InputFileError(f"{path}: the file is empty")
    data = load_json(path)
    if isinstance(data, dict) and isinstance(data.get("sightings"), list):
        data = data["sightings"]
    if not isinstance(data, list):
        raise InputFileError(f"{path}: expected a JSON array of rows or of sightings, found {type(data).__name__}")
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise InputFileError(f"{path}: item {i} is {type(item).__name__}, expected an object")
        if "entries" in item:
            entries = item["entries"]
            shared = {k: v for k, v in item.items() if k != "entries"}
            if not isinstance(entries, list):
                raise InputFileError(f"{path}: sighting {i}: 'entries' must be an array")
            if not entries:
                rows.append(shared)
                labels.append(f"sighting {i}")
            for j, entry in enumerate(entries, start=1):
                if not isinstance(entry, dict):
                    raise InputFileError(f"{path}: sighting {i}, entry {j} is {type(entry).__name__}, expected an object")
                rows.append({**shared, **entry})
                labels.append(f"sighting {i}, entry {j}")
        else:
            rows.append(item)
            labels.append(f"item {i}")
    header: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                header.append(str(key))
    table = []
    bad: list[str] = []
    for n, row in enumerate(rows):
        cells = []
        for key in header:
            text, scalar = json_scalar(row.get(key))
            if not scalar:
                bad.append(f"{path}: {labels[n]}, {key}: expected a string, number or null, got {text[:60]!r}")
            cells.append(text)
        table.append(cells)
    if bad:
        raise InputFileError("\n".join(bad[:50]))
    return frame_from_rows(header, table), labels
