"""Map layers: sightings as points, convoys as tracks, each with the style a map draws it in.

:func:`build_map_layers` turns a canonical sightings frame into a
:class:`MapLayers`: one :class:`MapPoint` per sighting that has coordinates
(its equipment summarised, counted by category, its losses by status) and one
:class:`MapTrack` per convoy seen at two or more places, in time order, with
the convoy's estimate. Sightings without coordinates are counted, not
dropped silently. :func:`export_map` reads the store and writes the layers as
GeoJSON (:mod:`orbat.formats.geojson`) or KML (:mod:`orbat.formats.kml`).

Styles are data of this module: a colour per event, an icon per equipment
category. Nothing from the input becomes a colour, an icon or a style id; the
formats escape every text they write.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbat.collector import gc_paused
from orbat.convoy import convoy_keys
from orbat.errors import OrbatError, UsageError
from orbat.sightings import EVENTS, LOSS_EVENTS

#: Map formats by suffix.
MAP_FORMATS: dict[str, str] = {".geojson": "geojson", ".kml": "kml"}

#: Which event a point with several is drawn as: a loss is the news, a sighting the background.
EVENT_PRIORITY: tuple[str, ...] = ("destroyed", "captured", "abandoned", "damaged", "arrival", "sighting")

#: Colours (``#rrggbb``) by event: convoys in blue, losses in one colour per status.
EVENT_COLORS: dict[str, str] = {
    "sighting": "#1f77b4",
    "arrival": "#17becf",
    "destroyed": "#d62728",
    "damaged": "#ff7f0e",
    "abandoned": "#9467bd",
    "captured": "#8c564b",
}
#: The colour of convoy tracks.
TRACK_COLOR = "#1f4e9c"

#: The icon of a category: a Google Earth "shapes" icon for KML and a Maki name for GeoJSON
#: (the ``marker-symbol`` of simplestyle). Categories not listed get :data:`DEFAULT_ICON`.
#: Chosen per kind of vehicle so that armour, guns, air defence, air and logistics read apart.
#: The order is the weight of a category in an analyst's eye: a point is drawn with the icon of
#: the first category it holds (6 tanks among 40 trucks are a tank unit on the move).
CATEGORY_ICONS: dict[str, tuple[str, str]] = {
    "tank": ("target", "triangle"),
    "ifv": ("square", "square"),
    "sp-artillery": ("cross-hairs", "cross"),
    "mrl": ("star", "rocket"),
    "sam": ("triangle", "rocket"),
    "aa-gun": ("triangle", "triangle-stroked"),
    "towed-artillery": ("cross-hairs", "cross"),
    "mortar": ("cross-hairs", "cross"),
    "apc": ("square", "square-stroked"),
    "recon": ("camera", "viewpoint"),
    "mrap": ("open-diamond", "diamond"),
    "technical": ("cabs", "car"),
    "command": ("flag", "embassy"),
    "radar": ("electronics", "communications-tower"),
    "ew": ("electronics", "communications-tower"),
    "helicopter": ("heliport", "heliport"),
    "aircraft": ("airports", "airport"),
    "uav": ("airports", "airfield"),
    "boat": ("ferry", "ferry"),
    "engineering": ("mechanic", "construction"),
    "repair": ("mechanic", "car-repair"),
    "fuel-truck": ("gas_stations", "fuel"),
    "cargo-truck": ("truck", "warehouse"),
    "transporter": ("truck", "warehouse"),
    "ambulance": ("hospitals", "hospital"),
    "bus": ("bus", "bus"),
    "utility": ("cabs", "car"),
    "motorcycle": ("motorcycling", "scooter"),
}
DEFAULT_ICON: tuple[str, str] = ("placemark_circle", "circle")

_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\\x00-\x1f\x7f]+$", re.IGNORECASE)
#: Longest URL kept as a link (browsers and Excel give up beyond about this).
MAX_URL_LENGTH = 2_000


@dataclass
class MapPoint:
    """One located sighting: where, when, what, and how to draw it."""

    sighting_id: str
    lon: float
    lat: float
    properties: dict[str, Any]
    event: str
    category: str

    @property
    def style_id(self) -> str:
        """The style this point is drawn in: event and main category (both from fixed vocabularies)."""
        return style_id(self.event, self.category)


@dataclass
class PointColumns:
    """The located sightings column by column, in map order: what the writers read.

    ``properties`` maps each property name (in the order the GeoJSON writes
    them) to a value per point: str, int, None, or a dict of ints. There is
    no object per point, so 40,000 sightings are 25 lists, not 40,000 dicts.
    """

    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    event: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    properties: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def ids(self) -> list[str]:
        """The sighting id of each point."""
        return self.properties.get("id", [])

    def style_ids(self) -> list[str]:
        """The style of each point (:func:`style_id` of its event and category), each pair worked out once."""
        styles: dict[tuple[str, str], str] = {}
        out = []
        for pair in zip(self.event, self.category):
            sid = styles.get(pair)
            if sid is None:
                sid = styles[pair] = style_id(*pair)
            out.append(sid)
        return out

    def rows(self) -> Iterable[dict[str, Any]]:
        """Each point's properties as a dict (for readers that want one; the writers do not)."""
        fields = list(self.properties)
        return (dict(zip(fields, values)) for values in zip(*self.properties.values()))


@dataclass
class MapTrack:
    """One convoy's route: its located sightings in time order, with the convoy's estimate."""

    convoy: str
    coordinates: list[tuple[float, float]]  # (lon, lat)
    begin: str
    end: str
    properties: dict[str, Any]


@dataclass
class MapLayers:
    """Everything one map export shows, and what it could not place.

    The points are :attr:`columns`; :attr:`points` gives them as
    :class:`MapPoint` objects, made on first use (for the map picture's
    readers and for tests; the GeoJSON and KML writers read the columns).
    """

    columns: PointColumns = field(default_factory=PointColumns)
    tracks: list[MapTrack] = field(default_factory=list)
    sightings: int = 0
    unlocated: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)

    @cached_property
    def points(self) -> list[MapPoint]:
        """The located sightings as :class:`MapPoint` objects (made once, from :attr:`columns`)."""
        c = self.columns
        return [MapPoint(sid, x, y, props, event, category) for sid, x, y, props, event, category
                in zip(c.ids, c.lon, c.lat, c.rows(), c.event, c.category)]

    @property
    def summary(self) -> str:
        """``"12 sightings, 10 on the map, 2 without coordinates; 1 convoy track"``."""
        text = f"{_plural(self.sightings, 'sighting')}, {len(self.columns)} on the map"
        if self.unlocated:
            text += f", {len(self.unlocated)} without coordinates"
        return text + f"; {_plural(len(self.tracks), 'convoy track')}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def style_id(event: str, category: str) -> str:
    """A KML style id from an event and a category: lower-case letters, digits and hyphens only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{event}-{category}".lower())


def icon_for(category: str) -> tuple[str, str]:
    """(KML shape, Maki name) for a category."""
    return CATEGORY_ICONS.get(category, DEFAULT_ICON)


def main_category(counts: Mapping[str, int]) -> str:
    """The category a point is drawn as: the first of :data:`CATEGORY_ICONS` seen, else the most numerous."""
    seen = [c for c, n in counts.items() if n > 0] or list(counts)
    for category in CATEGORY_ICONS:
        if category in seen:
            return category
    return max(seen, key=lambda c: counts[c]) if seen else "unknown"


def safe_url(text: Any) -> str | None:
    """``text`` when it is a plain http(s) URL a map may link to; None otherwise."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) <= MAX_URL_LENGTH and _SAFE_URL.match(text):
        return text
    return None


def parse_events(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"sighting,destroyed"`` -> the events, checked; None for no filter.

    :class:`UsageError` naming the known events when one is not.
    """
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    events = tuple(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise UsageError(f"--events: unknown event {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"use a comma-separated list of {', '.join(EVENTS)}")
    return events


def filter_events(frame: pd.DataFrame, events: Iterable[str] | None) -> pd.DataFrame:
    """The rows whose ``event`` is one of ``events`` (all rows for None)."""
    if events is None or frame.empty:
        return frame
    return frame[frame["event"].astype(object).isin(list(events))]


# --------------------------------------------------------------------------- building




def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _objects(frame: pd.DataFrame, column: str, rows: np.ndarray | None = None) -> np.ndarray:
    """A column (only ``rows`` of it, if given) as an object array, None where a value is missing."""
    values = frame[column].to_numpy(dtype=object)  # for text columns a view of the frame's own array
    values = values.copy() if rows is None else values[rows]  # never write into the frame
    missing = pd.isna(values)
    if missing.any():
        values[missing] = None
    return values


def _as_text(value: Any) -> str | None:
    """A value as text; None when it is missing or blank."""
    if _missing(value):
        return None
    text = value if value.__class__ is str else str(value)
    return text if text.strip() else None


def _texts(values: np.ndarray) -> np.ndarray:
    """An object array as str or None (missing and blank text are None); each distinct value is looked at once."""
    codes, uniques = pd.factorize(values)
    cleaned = np.empty(len(uniques) + 1, dtype=object)
    cleaned[:-1] = [_as_text(u) for u in uniques]
    return cleaned[codes]  # a missing value's code is -1: the last slot, None


def _runs(sorted_codes: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """The runs of equal values in ``sorted_codes``: each run's value, start and end."""
    if not len(sorted_codes):
        return [], [], []
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(sorted_codes)]
    return sorted_codes[starts].tolist(), starts.tolist(), ends.tolist()


def _joined(sorted_codes: np.ndarray, values: list, n: int, sep: str, empty: str | None = None) -> np.ndarray:
    """Per code 0..n-1 its run of ``values`` (aligned with ``sorted_codes``) joined with ``sep``; ``empty`` for none."""
    out = [empty] * n
    for code, a, b in zip(*_runs(sorted_codes)):
        out[code] = sep.join(values[a:b])
    return _object_array(out)


def _object_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _pairs(codes: np.ndarray, other: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows grouped by (sighting code, ``other`` code), each group where it first appears in the frame.

    Returns the group of each row, and per group its sighting and ``other``
    code; the groups are numbered by first appearance, so a stable sort by
    sighting keeps each sighting's groups in file order (as a pandas
    ``groupby(sort=False)`` would, without its cost).
    """
    width = max(int(width), 1)
    group, keys = pd.factorize(codes.astype(np.int64) * width + other, sort=False)
    keys = np.asarray(keys, dtype=np.int64)
    return group, keys // width, keys % width


def _sums(group: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    # bincount adds in float64: exact for vehicle counts (far below 2**53).
    return np.bincount(group, weights=values, minlength=size).astype(np.int64)


def build_map_layers(
    frame: pd.DataFrame,
    catalog,
    *,
    estimates: Sequence[Mapping] = (),
    filters: Mapping[str, Any] | None = None,
) -> MapLayers:
    """Points for the located sightings of ``frame`` and tracks for its convoys seen at two or more places.

    ``estimates`` are the estimator's dicts (``ConvoyEstimate.to_dict()``, or
    only its ``convoy``, ``best`` and ``vehicles`` totals); a track carries its
    convoy's best one (unit, echelon, confidence). A sighting without
    coordinates is counted in :attr:`MapLayers.unlocated`. The work is done
    column-wise (integer codes, bincounts and sorts over the whole frame);
    the points stay columns (:class:`PointColumns`), with no object per point.
    """
    with gc_paused():
        return _build(frame, catalog, estimates, filters)


def _build(frame: pd.DataFrame, catalog, estimates: Sequence[Mapping], filters: Mapping[str, Any] | None) -> MapLayers:
    layers = MapLayers(filters={k: str(v) for k, v in (filters or {}).items() if v not in (None, "")})
    if frame.empty:
        return layers
    codes, ids = pd.factorize(frame["sighting_id"].to_numpy(dtype=object), sort=False)
    n = len(ids)
    layers.sightings = n
    # The first row of each sighting holds its sighting-level fields (the same on all its rows).
    first = np.unique(codes, return_index=True)[1]
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[first]
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[first]
    located = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    names = [str(sid) for sid in ids]
    layers.unlocated = [names[i] for i in np.flatnonzero(~located).tolist()]
    at = np.flatnonzero(located)

    # Per row: what the catalog says of the equipment id (names it does not know are drawn as "unknown").
    entries = catalog.entries
    eid_codes, eids = pd.factorize(frame["equipment_id"].to_numpy(dtype=object))
    known = [e if e in entries else None for e in eids]
    category_names = list(dict.fromkeys([entries[e].category for e in known if e is not None] + ["unknown"]))
    category_index = {c: i for i, c in enumerate(category_names)}
    unknown = category_index["unknown"]
    category_of_eid = np.array([category_index[entries[e].category] if e is not None else unknown for e in known]
                               + [unknown], dtype=np.int64)
    sidc_of_eid = _object_array([entries[e].sidc or None if e is not None else None for e in known] + [None])
    row_category = category_of_eid[eid_codes]  # -1 (no id) takes the last slot: unknown
    low = pd.to_numeric(frame["count"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    high_raw = pd.to_numeric(frame["count_max"], errors="coerce")
    ranged = high_raw.notna().to_numpy()
    high = np.where(ranged, high_raw.fillna(0).to_numpy(dtype=np.int64), low)
    event_codes = pd.Categorical(frame["event"].to_numpy(dtype=object), categories=list(EVENTS)).codes.astype(np.int64)
    event_codes[event_codes < 0] = EVENTS.index("sighting")  # a missing event is a sighting

    # The equipment as written, in file order: a type written twice in one sighting is added up.
    name_codes, equipment_names = pd.factorize(frame["equipment"].to_numpy(dtype=object))
    name_codes = np.where(name_codes < 0, len(equipment_names), name_codes)
    equipment_names = [str(v) for v in equipment_names] + ["nan"]
    group, g_code, g_name = _pairs(codes, name_codes, len(equipment_names))
    size = len(g_code)
    g_low, g_high = _sums(group, low, size), _sums(group, high, size)
    g_ranged = np.bincount(group, weights=ranged, minlength=size) > 0
    spread = g_ranged & (g_high != g_low)
    order = np.argsort(g_code, kind="stable")
    text = [f"{equipment_names[k]} {a}-{b}" if s else f"{equipment_names[k]} {a}"
            for k, a, b, s in zip(g_name[order].tolist(), g_low[order].tolist(), g_high[order].tolist(),
                                  spread[order].tolist())]
    equipment = _joined(g_code[order], text, n, ", ", "")
    totals = _sums(codes, low, n)
    totals_max = _sums(codes, high, n)

    # Counts by category, in the order the sighting names them; the main category is what the point is drawn as.
    group, c_code, c_cat = _pairs(codes, row_category, len(category_names))
    c_low = _sums(group, low, len(c_code))
    order = np.argsort(c_code, kind="stable")
    c_code, c_cat, c_low = c_code[order], c_cat[order], c_low[order]
    cat_words = [category_names[c] for c in c_cat.tolist()]
    lows = c_low.tolist()
    by_category = [{} for _ in range(n)]
    for code, a, b in zip(*_runs(c_code)):
        by_category[code] = dict(zip(cat_words[a:b], lows[a:b]))
    main = _main_categories(c_code, c_cat, c_low, category_names, n)

    # The events: every one the sighting's rows have, the one it is drawn as, the losses by status.
    group, e_code, e_event = _pairs(codes, event_codes, len(EVENTS))
    e_low = _sums(group, low, len(e_code))
    order = np.argsort(e_code, kind="stable")
    e_code, e_event, e_low = e_code[order], e_event[order], e_low[order]
    event_words = [EVENTS[e] for e in e_event.tolist()]
    seen_text = _joined(e_code, event_words, n, ", ", "")
    rank = np.array([EVENT_PRIORITY.index(e) for e in EVENTS], dtype=np.int64)
    best_rank = np.full(n, len(EVENT_PRIORITY), dtype=np.int64)
    np.minimum.at(best_rank, e_code, rank[e_event])
    drawn = np.array(list(EVENT_PRIORITY) + ["sighting"], dtype=object)[best_rank]
    lost = np.isin(e_event, [EVENTS.index(e) for e in LOSS_EVENTS])
    loss_code = e_code[lost]
    loss_words = [w for w, is_lost in zip(event_words, lost.tolist()) if is_lost]
    loss_lows = e_low[lost].tolist()
    losses = [{} for _ in range(n)]
    status: list[str | None] = [None] * n
    for code, a, b in zip(*_runs(loss_code)):
        pairs = list(zip(loss_words[a:b], loss_lows[a:b]))
        losses[code] = dict(pairs)
        status[code] = ", ".join(f"{k} {v}" for k, v in pairs)

    # The symbol of the first type of the main category (the first row of it with a SIDC).
    row_sidc = sidc_of_eid[eid_codes]
    main_index = np.array([category_index.get(c, unknown) for c in main.tolist()], dtype=np.int64)
    with_sidc = np.flatnonzero((row_sidc != None) & (row_category == main_index[codes]))  # noqa: E711
    sidc = np.full(n, None, dtype=object)
    hit_codes, hit_first = np.unique(codes[with_sidc], return_index=True)
    sidc[hit_codes] = row_sidc[with_sidc[hit_first]]
    notes = _distinct_texts(codes, frame["notes"], n)
    captors = _distinct_texts(codes, frame["captor"], n)

    # Sighting-level fields, from each sighting's first row.
    keys = _object_array([k if k.__class__ is str else str(k) for k in
                          convoy_keys(frame[["sighting_id", "convoy"]].iloc[first]).to_numpy(dtype=object)])
    level = {c: _texts(_objects(frame, c, first)) for c in ("observed_at", "place", "actor", "source")}
    grades = _grades(_objects(frame, "reliability", first), _objects(frame, "credibility", first))
    urls = {source: safe_url(source) for source in set(level["source"][at].tolist())}

    # The properties column by column, for the located sightings only.
    events_at = drawn[at].tolist()
    main_at = main[at].tolist()
    sid_at = [names[i] for i in at.tolist()]
    place_at = level["place"][at].tolist()
    source_at = level["source"][at].tolist()
    sizes = {e: "medium" if e in ("sighting", "arrival") else "large" for e in EVENT_PRIORITY}
    colors = {e: EVENT_COLORS.get(e, EVENT_COLORS["sighting"]) for e in EVENT_PRIORITY}
    pick = at.tolist()
    properties = {
        "layer": ["sighting"] * len(pick),
        "id": sid_at,
        "convoy": keys[at].tolist(),
        "observed_at": level["observed_at"][at].tolist(),
        "place": place_at,
        "actor": level["actor"][at].tolist(),
        "grade": grades[at].tolist(),
        "source": source_at,
        "url": [urls[s] for s in source_at],
        "event": events_at,
        "events": seen_text[at].tolist(),
        "status": [status[i] for i in pick],
        "equipment": equipment[at].tolist(),
        "vehicles": totals[at].tolist(),
        "vehicles_max": totals_max[at].tolist(),
        "by_category": [by_category[i] for i in pick],
        "losses": [losses[i] for i in pick],
        "category": main_at,
        "sidc": sidc[at].tolist(),
        "captor": captors[at].tolist(),
        "notes": notes[at].tolist(),
        # simplestyle-spec 1.1.0: what geojson.io, uMap and felt.com draw.
        "title": [place or sid for place, sid in zip(place_at, sid_at)],
        "marker-color": [colors[e] for e in events_at],
        "marker-symbol": [icon_for(c)[1] for c in main_at],
        "marker-size": [sizes.get(e, "large") for e in events_at],
    }
    layers.columns = PointColumns(lon[at].tolist(), lat[at].tolist(), events_at, main_at, properties)
    layers.tracks = _tracks(layers.columns, estimates)
    return layers


def _grades(reliability: np.ndarray, credibility: np.ndarray) -> np.ndarray:
    """``B2`` per sighting from its reliability letter and credibility digit (None when it has neither)."""
    cache: dict[tuple, str | None] = {}
    out = []
    for pair in zip(reliability.tolist(), credibility.tolist()):
        grade = cache.get(pair, cache)
        if grade is cache:
            r, c = pair
            grade = cache[pair] = (("" if _missing(r) else str(r)) + ("" if _missing(c) else str(int(c)))) or None
        out.append(grade)
    return _object_array(out)


def _main_categories(codes: np.ndarray, cats: np.ndarray, lows: np.ndarray, names: list[str], n: int) -> np.ndarray:
    """Per sighting code, what :func:`main_category` gives for its counts by category, column-wise.

    ``codes``, ``cats`` and ``lows`` hold (sighting, category, count) in each sighting's category order.
    The candidates are the categories seen (counted above zero; all of them when none is); the first of
    :data:`CATEGORY_ICONS` among them wins, else the most numerous, the first of equals.
    """
    main = np.full(n, "unknown", dtype=object)
    if not len(codes):
        return main
    rank_of = {c: r for r, c in enumerate(CATEGORY_ICONS)}
    rank = np.array([rank_of.get(c, len(rank_of)) for c in names], dtype=np.int64)[cats]
    positive = lows > 0
    has_positive = np.zeros(n, dtype=bool)
    has_positive[codes[positive]] = True
    candidate = np.flatnonzero(positive == has_positive[codes])
    # Sorted by sighting, rank, most numerous, then position: the first of each sighting wins.
    order = candidate[np.lexsort((candidate, -lows[candidate], rank[candidate], codes[candidate]))]
    winners, first = np.unique(codes[order], return_index=True)
    main[winners] = np.array(names, dtype=object)[cats[order[first]]]
    return main


def _distinct_texts(codes: np.ndarray, column: pd.Series, n: int) -> np.ndarray:
    """Per sighting code, its distinct non-blank texts of ``column`` in file order, joined with ``"; "`` (else None)."""
    present = np.flatnonzero(column.notna().to_numpy())
    if not len(present):
        return np.full(n, None, dtype=object)
    text_codes, texts = pd.factorize(column.to_numpy(dtype=object)[present])
    texts = [t if t.__class__ is str else str(t) for t in texts]
    blank = np.array([not t.strip() for t in texts] + [True], dtype=bool)
    keep = ~blank[text_codes]
    row_codes, text_codes = codes[present][keep], text_codes[keep]
    # The first row of each (sighting, text), in file order, then stably by sighting.
    _, firsts = np.unique(row_codes.astype(np.int64) * (len(texts) + 1) + text_codes, return_index=True)
    firsts.sort()
    row_codes, text_codes = row_codes[firsts], text_codes[firsts]
    order = np.argsort(row_codes, kind="stable")
    return _joined(row_codes[order], [texts[t] for t in text_codes[order].tolist()], n, "; ")


def _tracks(points: PointColumns, estimates: Sequence[Mapping]) -> list[MapTrack]:
    """A LineString per convoy whose located sightings are at two or more places, in time order.

    Column-wise: the points are sorted once by convoy, time and id; every
    track is a run of that order.
    """
    if not len(points):
        return []
    props = points.properties
    convoy_codes, convoys = pd.factorize(np.asarray(props["convoy"], dtype=object), sort=False)
    lon, lat = np.asarray(points.lon, dtype=float), np.asarray(points.lat, dtype=float)
    # Convoys at two or more distinct positions.
    position = _position_codes(lon, lat)
    _, distinct = np.unique(convoy_codes.astype(np.int64) * (position.max() + 1) + position, return_index=True)
    places_per_convoy = np.bincount(convoy_codes[distinct], minlength=len(convoys))
    moving = np.flatnonzero(places_per_convoy[convoy_codes] >= 2)
    if not len(moving):
        return []
    observed = _object_array([t or "" for t in props["observed_at"]])
    time_rank = pd.factorize(observed[moving], sort=True)[0]
    sids = np.asarray(props["id"], dtype=object)
    id_rank = pd.factorize(sids[moving], sort=True)[0]
    order = moving[np.lexsort((id_rank, time_rank, convoy_codes[moving]))]
    run_convoy = convoy_codes[order]
    run_codes, starts, ends = _runs(run_convoy)
    lon, lat = lon[order], lat[order]
    # A place repeated in a row is drawn once.
    new_place = np.r_[True, (run_convoy[1:] != run_convoy[:-1]) | (lon[1:] != lon[:-1]) | (lat[1:] != lat[:-1])]
    kept = np.flatnonzero(new_place)
    kept_codes = run_convoy[kept]
    xs, ys = lon[kept].tolist(), lat[kept].tolist()
    _, kept_starts, kept_ends = _runs(kept_codes)
    ordered_ids = sids[order].tolist()
    times = observed[order].tolist()
    places = _distinct_in_runs(run_convoy, np.asarray(props["place"], dtype=object)[order], len(convoys), "; ")
    actors = _distinct_in_runs(run_convoy, np.asarray(props["actor"], dtype=object)[order], len(convoys), "; ")

    best = {str(e.get("convoy")): e for e in estimates}
    names = convoys.tolist()
    tracks = []
    for code, a, b, ka, kb in zip(run_codes, starts, ends, kept_starts, kept_ends):
        convoy = names[code]
        est = best.get(convoy) or {}
        top = est.get("best") or {}
        vehicles = est.get("vehicles") or {}
        confidence = top.get("confidence")
        begin, end = times[a], times[b - 1]
        properties = {
            "layer": "track",
            "id": f"track:{convoy}",
            "convoy": convoy,
            "first_seen": begin or None,
            "last_seen": end or None,
            "sightings": b - a,
            "sighting_ids": ", ".join(ordered_ids[a:b]),
            "places": places[code] or "",
            "actor": actors[code],
            "unit": top.get("label"),
            "template": top.get("template"),
            "echelon": top.get("echelon"),
            "kind": top.get("kind"),
            "confidence": None if _missing(confidence) else round(float(confidence), 4),
            "likelihood": _likelihood(confidence),
            "vehicles": vehicles.get("total"),
            "vehicles_max": vehicles.get("total_max"),
            "title": f"convoy {convoy}",
            "stroke": TRACK_COLOR,
            "stroke-width": 3,
            "stroke-opacity": 0.9,
        }
        tracks.append(MapTrack(convoy, list(zip(xs[ka:kb], ys[ka:kb])), begin, end, properties))
    return sorted(tracks, key=lambda t: (t.begin, t.convoy))


def _position_codes(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A code per (lon, lat) pair, below the number of positions: equal positions, equal codes."""
    lon_codes, lon_values = pd.factorize(lon)
    lat_codes = pd.factorize(lat)[0]
    return pd.factorize(lat_codes.astype(np.int64) * len(lon_values) + lon_codes)[0]


def _distinct_in_runs(run_codes: np.ndarray, values: np.ndarray, n: int, sep: str) -> np.ndarray:
    """Per run code, the distinct non-empty ``values`` of its run in order, joined with ``sep`` (None for none)."""
    present = np.flatnonzero(values != None)  # noqa: E711
    value_codes, uniques = pd.factorize(values[present])
    texts = [str(u) for u in uniques]
    row_codes = run_codes[present]
    _, firsts = np.unique(row_codes.astype(np.int64) * max(len(texts), 1) + value_codes, return_index=True)
    firsts.sort()  # runs are contiguous and in order, so position order is run order, then order within the run
    return _joined(row_codes[firsts], [texts[c] for c in value_codes[firsts].tolist()], n, sep)


def _likelihood(confidence: Any) -> str | None:
    if _missing(confidence):
        return None
    from orbat.report import probability_words

    return probability_words(float(confidence))


# --------------------------------------------------------------------------- exporting


def map_format(out: str | Path) -> str | None:
    """``geojson`` or ``kml`` from an output path's suffix; None when it is not a map format."""
    return MAP_FORMATS.get(Path(str(out)).suffix.lower())


def _estimates_for_tracks(frame: pd.DataFrame, catalog, doctrine) -> list[dict]:
    """What a track shows of the estimates of the convoys a track is drawn for (see :func:`_track_estimate`)."""
    if frame.empty:
        return []
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    at = np.flatnonzero((lat >= -90) & (lat <= 90) & (lon >= -180) & (lon <= 180))  # NaN is never between
    if not len(at):
        return []
    # The convoys whose located rows are at two or more distinct positions (codes, not copies of the frame).
    key_codes, keys = pd.factorize(convoy_keys(frame).to_numpy(dtype=object))
    position = _position_codes(lon[at], lat[at])
    width = int(position.max()) + 1
    pairs = np.unique(key_codes[at].astype(np.int64) * width + position)
    moving = np.bincount(pairs // width, minlength=len(keys)) >= 2
    if not moving.any():
        return []
    from orbat.estimate import estimate_convoys

    rows = frame[moving[key_codes]]
    estimates = estimate_convoys(rows, catalog, doctrine=doctrine)
    with gc_paused():
        return [_track_estimate(e) for e in estimates]


def _track_estimate(estimate) -> dict:
    """What a track shows of a :class:`~orbat.estimate.ConvoyEstimate`, shaped as its ``to_dict()`` (those keys only).

    The whole dict (rule trace, alternatives, merge notes) costs about a
    third of a millisecond a convoy, seconds for the 9,000 tracks of 40,000
    sightings; a track reads six values of it. The vehicle totals are the
    sums of the convoy's per-type rows, as the estimate's ``vehicles`` adds them.
    """
    types = estimate.type_rows
    return {
        "convoy": estimate.convoy,
        "best": {"label": estimate.label, "template": estimate.template_id, "echelon": estimate.echelon,
                 "kind": estimate.kind, "confidence": estimate.confidence},
        "vehicles": {"total": sum(t["count"] for t in types), "total_max": sum(t["count_max"] for t in types)},
    }


def export_map(
    store,
    catalog,
    out: str | Path,
    *,
    doctrine=None,
    convoy: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    events: Iterable[str] | None = None,
) -> MapLayers:
    """Write the stored sightings matching the filters as a GeoJSON or KML map to ``out``.

    Raises :class:`UsageError` for another suffix and :class:`OrbatError`
    when no sighting matches (an empty map would only hide a mistyped filter).
    """
    fmt = map_format(out)
    if fmt is None:
        raise UsageError(f"{out}: a map is .geojson or .kml")
    path = Path(out)
    if not path.parent.exists():
        raise OrbatError(f"{path}: the folder {path.parent} does not exist")
    events = tuple(events) if events is not None else None
    frame = filter_events(store.sightings_frame(convoy=convoy, actor=actor, since=since, until=until), events)
    filters = {"convoy": convoy, "actor": actor, "since": since, "until": until,
               "events": ",".join(events) if events else None}
    if frame.empty:
        from orbat.report import filter_text

        where = getattr(store, "where", "the database")
        raise OrbatError(f"no sightings in {where} match the filters ({filter_text(filters)}); nothing was written")
    estimates = _estimates_for_tracks(frame, catalog, doctrine)
    layers = build_map_layers(frame, catalog, estimates=estimates, filters=filters)
    if fmt == "geojson":
        from orbat.formats.geojson import write_geojson

        write_geojson(layers, path)
    else:
        from orbat.formats.kml import write_kml

        write_kml(layers, path)
    return layers
