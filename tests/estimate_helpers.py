"""Canonical sightings frames for the estimator's tests, built from (equipment, count) pairs."""

from __future__ import annotations

import pandas as pd

from orbat.sightings import CANONICAL_COLUMNS


def frame_of(rows, catalog) -> pd.DataFrame:
    """A canonical frame from dicts with at least ``equipment`` and ``count``.

    Defaults: sighting ``s1``, convoy ``c1``, driven, event sighting. Names
    resolve through the catalog (an unknown name keeps ``equipment_id`` NA).
    """
    records = []
    for i, row in enumerate(rows):
        entry = catalog.lookup(row["equipment"])
        records.append({
            "sighting_id": row.get("sighting_id", "s1"),
            "convoy": row.get("convoy", "c1"),
            "observed_at": row.get("observed_at", "2025-01-17"),
            "place": None, "lat": float("nan"), "lon": float("nan"), "actor": None,
            "equipment": row["equipment"],
            "equipment_id": row.get("equipment_id", entry.id if entry else None),
            "count": int(row["count"]),
            "count_max": row.get("count_max"),
            "mode": row.get("mode", "driven"),
            "source": None, "reliability": None, "credibility": None,
            "notes": row.get("notes"),
            "event": row.get("event", "sighting"),
            "captor": None,
        })
    frame = pd.DataFrame(records, columns=list(CANONICAL_COLUMNS))
    frame["count"] = frame["count"].astype("int64")
    frame["count_max"] = pd.array([None if v is None or v != v else int(v) for v in frame["count_max"]],
                                  dtype="Int64")
    frame["credibility"] = frame["credibility"].astype("Int64")
    return frame


def representative(catalog, category: str):
    """A catalog entry of one category, preferring a specific (non-generic) type."""
    entries = catalog.by_category(category)
    specific = [e for e in entries if not e.generic]
    return (specific or entries)[0]


def typical_frame(template, catalog, convoy: str = "c1") -> pd.DataFrame:
    """A convoy with a template's typical composition, one representative type per category."""
    rows = []
    for category, n in template.typical.items():
        carried = template.typical_carried.get(category, 0)
        entry = representative(catalog, category)
        if n - carried:
            rows.append({"equipment": entry.name, "count": n - carried, "convoy": convoy})
        if carried:
            rows.append({"equipment": entry.name, "count": carried, "mode": "carried", "convoy": convoy})
    return frame_of(rows, catalog)
