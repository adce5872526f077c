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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
class MapTrack:
    """One convoy's route: its located sightings in time order, with the convoy's estimate."""

    convoy: str
    coordinates: list[tuple[float, float]]  # (lon, lat)
    begin: str
    end: str
    properties: dict[str, Any]


@dataclass
class MapLayers:
    """Everything one map export shows, and what it could not place."""

    points: list[MapPoint] = field(default_factory=list)
    tracks: list[MapTrack] = field(default_factory=list)
    sightings: int = 0
    unlocated: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """``"12 sightings, 10 on the map, 2 without coordinates; 1 convoy track"``."""
        text = f"{_plural(self.sightings, 'sighting')}, {len(self.points)} on the map"
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


def _texts(series: pd.Series) -> list[str | None]:
    """A column as str or None (missing and blank text are None)."""
    return [v if v.__class__ is str and v.strip() else (None if _missing(v) or not str(v).strip() else str(v))
            for v in series.astype(object).tolist()]


def _grades(reliability: pd.Series, credibility: pd.Series) -> list[str | None]:
    rel = reliability.astype(object).tolist()
    cred = credibility.astype(object).tolist()
    return [(("" if _missing(r) else str(r)) + ("" if _missing(c) else str(int(c)))) or None for r, c in zip(rel, cred)]


def _boundaries(codes: np.ndarray) -> np.ndarray:
    """Start offsets of the runs of equal values in sorted ``codes``, plus the end."""
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], dtype=np.int64)
    return np.r_[starts, len(codes)]


def _per_sighting(codes: np.ndarray, values: list, n: int) -> list[list]:
    """``values`` (aligned with ``codes``, sorted by code) split into one list per sighting code 0..n-1."""
    out: list[list] = [[] for _ in range(n)]
    bounds = _boundaries(codes)
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        out[codes[a]] = values[a:b]
    return out


def build_map_layers(
    frame: pd.DataFrame,
    catalog,
    *,
    estimates: Sequence[Mapping] = (),
    filters: Mapping[str, Any] | None = None,
) -> MapLayers:
    """Points for the located sightings of ``frame`` and tracks for its convoys seen at two or more places.

    ``estimates`` are the estimator's dicts (``ConvoyEstimate.to_dict()``);
    a track carries its convoy's best one (unit, echelon, confidence). A
    sighting without coordinates is counted in :attr:`MapLayers.unlocated`.
    The work is done column-wise (group-bys over the whole frame), so 40,000
    sightings take well under a second.
    """
    layers = MapLayers(filters={k: str(v) for k, v in (filters or {}).items() if v not in (None, "")})
    if frame.empty:
        return layers
    codes, ids = pd.factorize(frame["sighting_id"].astype(object), sort=False)
    n = len(ids)
    layers.sightings = n
    # The first row of each sighting holds its sighting-level fields (the same on all its rows).
    first = np.full(n, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    head = frame.iloc[first]
    lat = pd.to_numeric(head["lat"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(head["lon"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    located = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    layers.unlocated = [str(ids[i]) for i in np.flatnonzero(~located).tolist()]

    entries = catalog.entries
    eids = frame["equipment_id"].astype(object)
    known = [e for e in pd.unique(eids.dropna()) if e in entries]
    low = pd.to_numeric(frame["count"], errors="coerce").fillna(0).astype("int64").to_numpy()
    high_raw = pd.to_numeric(frame["count_max"], errors="coerce")
    rows = pd.DataFrame({
        "code": codes,
        "name": frame["equipment"].astype(object).to_numpy(),
        # Names the catalog does not know (kept as field data) are drawn as "unknown".
        "category": eids.map({e: entries[e].category for e in known}).astype(object).fillna("unknown").to_numpy(),
        "sidc": eids.map({e: entries[e].sidc for e in known if entries[e].sidc}).astype(object).to_numpy(),
        "low": low,
        "high": high_raw.fillna(pd.Series(low, index=frame.index)).astype("int64").to_numpy(),
        "ranged": high_raw.notna().to_numpy(),
        "event": frame["event"].astype(object).fillna("sighting").to_numpy(),
    })

    # The equipment as written, in file order: a type written twice in one sighting is added up.
    named = rows.groupby(["code", "name"], sort=False).agg(
        low=("low", "sum"), high=("high", "sum"), ranged=("ranged", "any")).reset_index()
    named = named.sort_values("code", kind="stable")
    spread = named["ranged"].to_numpy() & (named["high"].to_numpy() != named["low"].to_numpy())
    text = (named["name"].astype(str) + " " + named["low"].astype(str)).to_numpy(dtype=object)
    text[spread] = text[spread] + "-" + named["high"].astype(str).to_numpy(dtype=object)[spread]
    equipment = [", ".join(parts) for parts in _per_sighting(named["code"].to_numpy(), text.tolist(), n)]
    totals = np.bincount(codes, weights=low, minlength=n).astype("int64").tolist()
    totals_max = np.bincount(codes, weights=rows["high"].to_numpy(), minlength=n).astype("int64").tolist()

    by_cat = rows.groupby(["code", "category"], sort=False)["low"].sum().reset_index().sort_values("code", kind="stable")
    cat_codes = by_cat["code"].to_numpy()
    cat_pairs = list(zip(by_cat["category"].tolist(), by_cat["low"].tolist()))
    categories = [dict(pairs) for pairs in _per_sighting(cat_codes, cat_pairs, n)]
    main = _main_categories(by_cat, n)
    by_event = rows.groupby(["code", "event"], sort=False)["low"].sum().reset_index().sort_values("code", kind="stable")
    event_codes = by_event["code"].to_numpy()
    event_names = by_event["event"].to_numpy(dtype=object)
    seen_text = [", ".join(seen) for seen in _per_sighting(event_codes, event_names.tolist(), n)]
    # The event a point is drawn as: the first of EVENT_PRIORITY it holds.
    drawn = np.full(n, "sighting", dtype=object)
    for event in reversed(EVENT_PRIORITY):
        drawn[event_codes[event_names == event]] = event
    lost = np.isin(event_names, list(LOSS_EVENTS))
    loss_codes = event_codes[lost]
    loss_pairs = list(zip(event_names[lost].tolist(), by_event["low"].to_numpy()[lost].tolist()))
    losses_of = _per_sighting(loss_codes, loss_pairs, n)
    sidcs = rows.dropna(subset=["sidc"]).drop_duplicates(["code", "category"])
    sidc_of = dict(zip(zip(sidcs["code"].tolist(), sidcs["category"].tolist()), sidcs["sidc"].tolist()))
    notes = _distinct_texts(codes, frame["notes"])
    captors = _distinct_texts(codes, frame["captor"])

    keys = convoy_keys(head).map(str).tolist()
    level = {c: _texts(head[c]) for c in ("observed_at", "place", "actor", "source")}
    grades = _grades(head["reliability"], head["credibility"])
    names = [str(sid) for sid in ids]
    urls = {source: safe_url(source) for source in set(level["source"])}

    # The properties column by column, then one dict per located point from the columns.
    at = np.flatnonzero(located).tolist()
    events_at = drawn[at].tolist()
    main_at = main[at].tolist()
    loss_at = [losses_of[i] for i in at]
    sid_at = [names[i] for i in at]
    place_at = [level["place"][i] for i in at]
    source_at = [level["source"][i] for i in at]
    sizes = {e: "medium" if e in ("sighting", "arrival") else "large" for e in EVENT_PRIORITY}
    columns = {
        "layer": ["sighting"] * len(at),
        "id": sid_at,
        "convoy": [keys[i] for i in at],
        "observed_at": [level["observed_at"][i] for i in at],
        "place": place_at,
        "actor": [level["actor"][i] for i in at],
        "grade": [grades[i] for i in at],
        "source": source_at,
        "url": [urls[s] for s in source_at],
        "event": events_at,
        "events": [seen_text[i] for i in at],
        "status": [", ".join(f"{k} {v}" for k, v in pairs) or None for pairs in loss_at],
        "equipment": [equipment[i] for i in at],
        "vehicles": [totals[i] for i in at],
        "vehicles_max": [totals_max[i] for i in at],
        "by_category": [categories[i] for i in at],
        "losses": [dict(pairs) for pairs in loss_at],
        "category": main_at,
        "sidc": [sidc_of.get(key) for key in zip(at, main_at)],  # the symbol of the first type of the category
        "captor": [captors.get(i) for i in at],
        "notes": [notes.get(i) for i in at],
        # simplestyle-spec 1.1.0: what geojson.io, uMap and felt.com draw.
        "title": [place or sid for place, sid in zip(place_at, sid_at)],
        "marker-color": [EVENT_COLORS.get(e, EVENT_COLORS["sighting"]) for e in events_at],
        "marker-symbol": [icon_for(c)[1] for c in main_at],
        "marker-size": [sizes.get(e, "large") for e in events_at],
    }
    fields = list(columns)
    by_convoy: dict[str, list[MapPoint]] = {}
    lons, lats = lon[at].tolist(), lat[at].tolist()
    for i, sid, x, y, event, category, values in zip(at, sid_at, lons, lats, events_at, main_at,
                                                    zip(*columns.values())):
        point = MapPoint(sid, x, y, dict(zip(fields, values)), event, category)
        layers.points.append(point)
        by_convoy.setdefault(keys[i], []).append(point)
    layers.tracks = _tracks(by_convoy, estimates)
    return layers


def _main_categories(by_cat: pd.DataFrame, n: int) -> np.ndarray:
    """Per sighting code, what :func:`main_category` gives for its counts by category, column-wise.

    ``by_cat`` holds (code, category, low) in each sighting's category order. The candidates are the
    categories seen (counted above zero; all of them when none is); the first of
    :data:`CATEGORY_ICONS` among them wins, else the most numerous, the first of equals.
    """
    rank_of = {c: r for r, c in enumerate(CATEGORY_ICONS)}
    codes = by_cat["code"].to_numpy()
    low = by_cat["low"].to_numpy()
    positive = low > 0
    has_positive = np.zeros(n, dtype=bool)
    has_positive[codes[positive]] = True
    candidates = pd.DataFrame({
        "code": codes,
        "rank": by_cat["category"].map(rank_of).fillna(len(rank_of)).to_numpy(),
        "minus": -low,
        "order": np.arange(len(codes)),
        "category": by_cat["category"].to_numpy(dtype=object),
    })[positive == has_positive[codes]]
    best = candidates.sort_values(["code", "rank", "minus", "order"]).drop_duplicates("code")
    main = np.full(n, "unknown", dtype=object)
    main[best["code"].to_numpy()] = best["category"].to_numpy()
    return main


def _distinct_texts(codes: np.ndarray, column: pd.Series) -> dict[int, str]:
    """Per sighting code, its distinct non-blank texts of ``column`` in order, joined with ``"; "``."""
    values = column.astype(object)
    present = values.notna().to_numpy()
    if not present.any():
        return {}
    texts = pd.DataFrame({"code": codes[present], "text": values[present].astype(str).to_numpy()})
    texts = texts[texts["text"].str.strip() != ""].drop_duplicates().sort_values("code", kind="stable")
    # Slices of the sorted texts, joined in Python: a pandas group-by calling join per group is 10x slower.
    sorted_codes, values = texts["code"].to_numpy(), texts["text"].tolist()
    bounds = _boundaries(sorted_codes).tolist()
    return {int(sorted_codes[a]): "; ".join(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:])}


def _tracks(by_convoy: Mapping[str, list[MapPoint]], estimates: Sequence[Mapping]) -> list[MapTrack]:
    """A LineString per convoy whose located sightings are at two or more places, in time order."""
    best = {str(e.get("convoy")): e for e in estimates}
    tracks = []
    for convoy, points in by_convoy.items():
        if len({(p.lon, p.lat) for p in points}) < 2:
            continue
        ordered = sorted(points, key=lambda p: (p.properties["observed_at"] or "", p.sighting_id))
        coordinates: list[tuple[float, float]] = []
        for p in ordered:
            if not coordinates or coordinates[-1] != (p.lon, p.lat):
                coordinates.append((p.lon, p.lat))
        est = best.get(convoy) or {}
        top = est.get("best") or {}
        vehicles = est.get("vehicles") or {}
        confidence = top.get("confidence")
        begin = ordered[0].properties["observed_at"] or ""
        end = ordered[-1].properties["observed_at"] or ""
        properties = {
            "layer": "track",
            "id": f"track:{convoy}",
            "convoy": convoy,
            "first_seen": begin or None,
            "last_seen": end or None,
            "sightings": len(ordered),
            "sighting_ids": ", ".join(p.sighting_id for p in ordered),
            "places": "; ".join(dict.fromkeys(p.properties["place"] for p in ordered if p.properties["place"])),
            "actor": "; ".join(dict.fromkeys(p.properties["actor"] for p in ordered if p.properties["actor"])) or None,
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
        tracks.append(MapTrack(convoy, coordinates, begin, end, properties))
    return sorted(tracks, key=lambda t: (t.begin, t.convoy))


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
    """The estimator's dicts for the convoys a track is drawn for (as the report calls it)."""
    if frame.empty:
        return []
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    located = frame[(lat.between(-90, 90) & lon.between(-180, 180)).to_numpy(dtype=bool)]
    if located.empty:
        return []
    keys = convoy_keys(located)
    places = located.assign(_key=keys.values).drop_duplicates(["_key", "lat", "lon"])["_key"].value_counts()
    moving = set(places[places >= 2].index)
    if not moving:
        return []
    from orbat.estimate import estimate_convoys, to_dicts

    rows = frame[convoy_keys(frame).isin(moving).values]
    return to_dicts(estimate_convoys(rows, catalog, doctrine=doctrine))


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
