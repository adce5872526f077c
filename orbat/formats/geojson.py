"""GeoJSON (RFC 7946) map layers: a FeatureCollection of sighting points and convoy tracks.

Positions are ``[lon, lat]`` in WGS 84, as RFC 7946 requires (no ``crs``
member); a ``bbox`` spans every position. Properties are flat where a GIS
filters on them (strings, numbers, null); the counts by category and by loss
status are objects, which GDAL and QGIS read as JSON fields. Colours and
icons follow Mapbox's simplestyle-spec (``marker-color``, ``marker-symbol``,
``stroke``), which geojson.io, uMap and felt.com draw. JSON escaping keeps
every text from the input a string.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from orbat.outfiles import replaced_when_done

#: Decimal places of a coordinate: 1e-7 degrees is about a centimetre (RFC 7946 section 11.2 advises
#: no more precision than the data has).
COORDINATE_DECIMALS = 7


def _position(lon: float, lat: float) -> list[float]:
    return [round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)]


def _clean(properties: dict[str, Any]) -> dict[str, Any]:
    """Properties JSON can hold: NaN and infinities (which JSON has no words for) become null.

    The layers hold plain Python values already; this is the guard for the odd one that is not.
    """
    for value in properties.values():
        if value.__class__ not in _PLAIN:
            break
    else:
        return properties
    out = {}
    for key, value in properties.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()  # numpy scalar
        out[key] = value
    return out


_PLAIN = frozenset({str, int, bool, type(None), dict})


def _rounded(values: list[float]) -> list[float]:
    """``values`` rounded to :data:`COORDINATE_DECIMALS` as Python's ``round`` does (the bytes the RFC writer pinned).

    Most coordinates have seven decimals or fewer already: when numpy's rounding
    leaves every value unchanged, each is the double nearest to its 7-decimal
    value, which is what ``round`` gives too, so the Python loop is skipped.
    """
    array = np.asarray(values, dtype=float)
    if np.array_equal(np.round(array, COORDINATE_DECIMALS), array):
        return list(values)
    return [round(v, COORDINATE_DECIMALS) for v in values]


def _positions(lons: list[float], lats: list[float]) -> list:
    """``[lon, lat]`` per position for orjson, as Python's ``repr`` writes the numbers.

    orjson writes a float below 1e-4 without an exponent (``0.00001``, where
    Python writes ``1e-05``): the same number, other bytes. Such a position
    (within about 11 m of the equator or the prime meridian) is written as a
    pre-encoded fragment, so the file is the same whichever encoder wrote it.
    """
    positions = [[x, y] for x, y in zip(lons, lats)]
    tiny = lambda a: (a != 0) & (np.abs(a) < 1e-4)  # noqa: E731
    odd = np.flatnonzero(tiny(np.asarray(lons, dtype=float)) | tiny(np.asarray(lats, dtype=float)))
    for i in odd.tolist():
        positions[i] = orjson.Fragment(f"[{lons[i]!r},{lats[i]!r}]")
    return positions


def _features(layers) -> tuple[list[dict[str, Any]], list[float], list[float]]:
    """The features (tracks first) as the dicts orjson encodes, and every position's lon and lat.

    Built straight from the layers' columns: one dict a feature (the least
    orjson needs), no object per point in between; every position of every
    track and point is rounded in one go.
    """
    tracks, points = layers.tracks, layers.columns
    flat = [position for track in tracks for position in track.coordinates]
    lons = _rounded([lon for lon, _ in flat] + points.lon)
    lats = _rounded([lat for _, lat in flat] + points.lat)
    positions = _positions(lons, lats)
    features: list[dict[str, Any]] = []
    start = 0
    for track in tracks:
        end = start + len(track.coordinates)
        features.append({"type": "Feature", "id": track.properties["id"],
                         "geometry": {"type": "LineString", "coordinates": positions[start:end]},
                         "properties": track.properties})
        start = end
    fields = list(points.properties)
    features += [{"type": "Feature", "id": sid, "geometry": {"type": "Point", "coordinates": position},
                  "properties": dict(zip(fields, values))}
                 for sid, position, values in zip(points.ids, positions[start:], zip(*points.properties.values()))]
    return features, lons, lats


def _head(layers, lons: list[float], lats: list[float]) -> str:
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if lons:
        head["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
    head["orbat"] = {"summary": layers.summary, "filters": dict(layers.filters),
                     "without_coordinates": list(layers.unlocated)}
    return json.dumps(head, ensure_ascii=False, allow_nan=False)


def feature_collection(layers) -> dict[str, Any]:
    """The layers (:class:`orbat.maplayers.MapLayers`) as a GeoJSON FeatureCollection object.

    Tracks come first, so that a map draws the points on top of them. The
    plain reference of what :func:`geojson_bytes` writes (tests compare them).
    """
    features: list[dict[str, Any]] = []
    lons: list[float] = []
    lats: list[float] = []
    for track in layers.tracks:
        coords = [_position(lon, lat) for lon, lat in track.coordinates]
        lons += [c[0] for c in coords]
        lats += [c[1] for c in coords]
        features.append({
            "type": "Feature", "id": track.properties["id"],
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": _clean(track.properties),
        })
    points = layers.columns
    for sid, lon, lat, properties in zip(points.ids, points.lon, points.lat, points.rows()):
        pos = _position(lon, lat)
        lons.append(pos[0])
        lats.append(pos[1])
        features.append({
            "type": "Feature", "id": sid,
            "geometry": {"type": "Point", "coordinates": pos},
            "properties": _clean(properties),
        })
    collection = json.loads(_head(layers, lons, lats))
    collection["features"] = features
    return collection


def _loads_position(position) -> tuple[float, float]:
    if isinstance(position, orjson.Fragment):
        return tuple(json.loads(position.contents))
    return position[0], position[1]


#: Between two features of orjson's one-line array: the only place this byte sequence can be, since a
#: quote inside a JSON string is always escaped (``\"``) and no property value is an array of objects.
_BETWEEN = b'},{"type":"Feature",'


def _parts(layers) -> list:
    """The GeoJSON document in pieces (bytes-like), to be joined or written one after another.

    One orjson call over every feature (40,000 sightings in about a tenth of a
    second), then a newline after each feature. Should orjson refuse a value
    (a numpy scalar, a lone surrogate), the features are written one by one
    with Python's encoder, which gives the same text for everything else.
    """
    from orbat.collector import gc_paused

    with gc_paused():
        features, lons, lats = _features(layers)
    head = _head(layers, lons, lats)[:-1].encode() + b', "features": [\n'
    try:
        body = orjson.dumps(features, option=orjson.OPT_SERIALIZE_NUMPY).replace(_BETWEEN, b'},\n{"type":"Feature",')
        body = memoryview(body)[1:-1]  # without the array's brackets (the collection writes its own), no copy
    except TypeError:
        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
        body = ",\n".join(encode(_plain(f)) for f in features).encode("utf-8")
    return [head, body, b"\n]}\n"]


def geojson_bytes(layers) -> bytes:
    """The layers as UTF-8 GeoJSON (text kept readable, one feature a line for diffs and grep)."""
    return b"".join(_parts(layers))


def _plain(feature: dict[str, Any]) -> dict[str, Any]:
    """A feature Python's JSON encoder can write: clean properties, fragments back to numbers."""
    geometry = dict(feature["geometry"])
    if geometry["type"] == "Point":
        geometry["coordinates"] = list(_loads_position(geometry["coordinates"]))
    else:
        geometry["coordinates"] = [list(_loads_position(p)) for p in geometry["coordinates"]]
    return {**feature, "geometry": geometry, "properties": _clean(feature["properties"])}


def geojson_text(layers) -> str:
    """The layers as GeoJSON text (see :func:`geojson_bytes`)."""
    return geojson_bytes(layers).decode("utf-8")


def write_geojson(layers, path: str | os.PathLike) -> Path:
    """Write the layers as a ``.geojson`` file; it appears only once complete."""
    path = Path(path)
    with replaced_when_done(path) as tmp, open(tmp, "wb") as out:
        out.writelines(_parts(layers))
    return path
