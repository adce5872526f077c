"""The interchange format of sightings (CSV, XLSX, JSON: the same columns).

One row per sighting x equipment type. See ``docs/ARCHITECTURE.md`` for the
canonical frame every reader returns and the store gives back.
"""

from __future__ import annotations

#: Columns of the interchange format, in file order.
COLUMNS: tuple[str, ...] = (
    "sighting_id", "convoy", "observed_at", "place", "lat", "lon", "actor",
    "equipment", "count", "count_max", "mode", "source", "reliability",
    "credibility", "notes", "event", "captor",
)
REQUIRED: tuple[str, ...] = ("sighting_id", "observed_at", "equipment", "count")

#: The canonical frame: the interchange columns plus the resolved catalog id.
CANONICAL_COLUMNS: tuple[str, ...] = COLUMNS[:8] + ("equipment_id",) + COLUMNS[8:]

#: Columns that are the same on every row of one sighting.
SIGHTING_LEVEL: tuple[str, ...] = (
    "observed_at", "place", "lat", "lon", "actor", "source", "reliability", "credibility",
)

MODES: tuple[str, ...] = ("driven", "carried")
LOSS_EVENTS: tuple[str, ...] = ("destroyed", "damaged", "abandoned", "captured")
EVENTS: tuple[str, ...] = ("sighting", "arrival", *LOSS_EVENTS)
RELIABILITY: dict[str, str] = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY: dict[int, str] = {
    1: "confirmed by other sources",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "truth cannot be judged",
}


def convoy_key(frame):
    """The convoy each row belongs to: its ``convoy``, or its own ``sighting_id`` when that is empty."""
    return frame["convoy"].where(frame["convoy"].notna() & (frame["convoy"] != ""), frame["sighting_id"])
