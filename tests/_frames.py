"""Canonical sightings frames for the store tests, built without the readers.

The store takes frames that are already validated; building them here keeps
the store tests independent of the CSV/XLSX readers (tested on their own).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from orbat.sightings import CANONICAL_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
MALI_CSV = ROOT / "estimates" / "mali-2025-01-17" / "sightings.csv"

DEFAULTS = {
    "convoy": None, "place": None, "lat": None, "lon": None, "actor": None, "count_max": None,
    "mode": "driven", "source": None, "reliability": None, "credibility": None, "notes": None,
    "event": "sighting", "captor": None,
}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def make_frame(records: list[dict]) -> pd.DataFrame:
    """A canonical frame from dicts (missing optional fields get their defaults)."""
    from orbat.store import canonical_frame

    rows = []
    for record in records:
        row = {**DEFAULTS, **record}
        row.setdefault("equipment_id", slug(row["equipment"]))
        rows.append(row)
    return canonical_frame(pd.DataFrame(rows, columns=list(CANONICAL_COLUMNS)))


def mali_frame() -> pd.DataFrame:
    """The founding case (two sightings of one convoy, 18 rows) as a canonical frame."""
    raw = pd.read_csv(MALI_CSV, dtype=str, keep_default_na=False)
    records = []
    for r in raw.to_dict("records"):
        record = {k: (v if v != "" else None) for k, v in r.items()}
        for k in ("lat", "lon"):
            record[k] = float(record[k])
        for k in ("count", "count_max", "credibility"):
            record[k] = None if record[k] is None else int(record[k])
        records.append(record)
    return make_frame(records)


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every orbat table, sorted: compare databases before and after a fault."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in ("sightings", "entries", "sighting_history", "imports", "alembic_version"):
                rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()
                out[table] = sorted((tuple(r) for r in rows), key=repr)
            return out
    finally:
        engine.dispose()
