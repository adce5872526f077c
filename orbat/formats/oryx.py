"""Oryx's list of visually confirmed losses, as the ``oryx_data`` scrape publishes it (CSV, one row per vehicle).

Columns: ``country`` (who lost it), ``origin``, ``system`` (Oryx's name,
sometimes with the scrape's leading entry counter: ``156 T-80BV``),
``status``, ``url`` (the evidence), ``date_recorded``, and ids orbat does
not need (``sysID``, ``imageID``, ``statusID``, ``matID``).

One evidence url is one sighting, with a stable id derived from the url, so
that a newer list updates what an older one imported and never duplicates
it; its rows (a photo of three burnt T-72s is three rows) add up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import numpy as np
import pandas as pd

from orbat.formats import RawTable
from orbat.formats.losses import captors, events, file_columns, per_value

#: The columns that make a file an Oryx list (matched like any header: case and spacing ignored).
SIGNATURE = frozenset({"country", "system", "status", "url", "date_recorded"})
_WANTED = ("country", "origin", "system", "status", "url", "date_recorded")
#: Oryx lists only losses it has seen on a photo or video: a usually reliable source, probably true.
DEFAULT_GRADE = "B2"
#: The two sides of the war Oryx's scraped list covers, when the file itself names fewer or more.
SIDES = ("Russia", "Ukraine")
#: The scrape's entry counter before a name ("156 T-80BV"): digits, then space, then the name.
_COUNTER = re.compile(r"^\d+\s+(?=\S)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Interchange column -> the Oryx column it comes from (problems name the file's column).
COLUMN_ORIGIN = {
    "sighting_id": "url", "observed_at": "date_recorded", "actor": "country", "equipment": "system",
    "event": "status", "source": "url", "captor": "country", "notes": "origin", "reliability": "--grade",
    "credibility": "--grade",
}


def sighting_id(url: str) -> str:
    """The stable id of the sighting of one evidence url (empty when there is no url)."""
    if not url:
        return ""
    return "oryx-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


def system_name(system: str) -> str:
    """Oryx's name without the scrape's entry counter: ``156 T-80BV`` is ``T-80BV``."""
    return _COUNTER.sub("", system)


def _earliest_dates(url: pd.Series, date: pd.Series, today: dt.date) -> tuple[pd.Series, int]:
    """Each row's sighting date: the earliest date its url is listed with.

    Oryx lists one photo again when a vehicle's status changes (abandoned,
    later captured), with a later date; the photo existed by the first. A
    row whose own date is not a valid past date keeps it, so that the
    validation names that row.
    """
    today_text = today.isoformat()
    usable = per_value(date, lambda d: bool(_DATE.match(d)) and d <= today_text).to_numpy(dtype=bool)
    # ISO dates sort as text: rank them once, then take the smallest rank per url on integers
    url_codes, _ = pd.factorize(url.to_numpy(dtype=object))
    date_codes, dates = pd.factorize(date.to_numpy(dtype=object), sort=True)
    ranks = np.where(usable, date_codes, np.iinfo(np.int64).max)
    first = pd.Series(ranks).groupby(url_codes).transform("min").to_numpy()
    has_first = first != np.iinfo(np.int64).max
    out = date.to_numpy(dtype=object).copy()
    take = usable & has_first
    out[take] = np.asarray(dates, dtype=object)[first[take]]
    redated = pd.Series(ranks[usable]).groupby(url_codes[usable]).nunique()
    return pd.Series(out, index=date.index, dtype=object), int((redated > 1).sum())


def convert(raw: pd.DataFrame, *, source: str, first_row: int, labels: list[str] | None, grade: str,
            today: dt.date) -> RawTable:
    """An Oryx list (its cells as text) as interchange text cells, one row per vehicle."""
    cells = file_columns(raw, _WANTED, sorted(SIGNATURE), source=source, fmt="Oryx")
    problems: list = []
    event = events(cells["status"], "status", problems)
    dates, redated = _earliest_dates(cells["url"], cells["date_recorded"], today)
    captor, no_captor = captors(cells["country"], event, SIDES)
    out = pd.DataFrame({
        "sighting_id": per_value(cells["url"], sighting_id),
        "observed_at": dates,
        "actor": cells["country"],
        "equipment": per_value(cells["system"], system_name),
        "count": "1",
        "source": cells["url"],
        "reliability": grade,
        "notes": per_value(cells["origin"], lambda o: f"origin: {o}" if o else ""),
        "event": event,
        "captor": captor,
    }, index=raw.index)
    table = RawTable(raw=out, original=raw, first_row=first_row, labels=labels, fmt="oryx",
                     columns=dict(COLUMN_ORIGIN), problems=problems, keep_unresolved=True)
    if redated:
        table.notes.append(f"{source}: {redated:,} evidence urls are listed with several dates "
                           "(a status that changed later); each sighting takes the earliest")
    if no_captor:
        table.notes.append(f"{source}: {no_captor:,} captured vehicles were lost by neither "
                           f"{SIDES[0]} nor {SIDES[1]}; their captor is left empty")
    return table
