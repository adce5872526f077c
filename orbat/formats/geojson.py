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

import orjson

from orbat.errors import OrbatError

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


def feature_collection(layers) -> dict[str, Any]:
    """The layers (:class:`orbat.maplayers.MapLayers`) as a GeoJSON FeatureCollection object.

    Tracks come first, so that a map draws the points on top of them.
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
    for point in layers.points:
        pos = _position(point.lon, point.lat)
        lons.append(pos[0])
        lats.append(pos[1])
        features.append({
            "type": "Feature", "id": point.sighting_id,
            "geometry": {"type": "Point", "coordinates": pos},
            "properties": _clean(point.properties),
        })
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if lons:
        collection["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
    collection["orbat"] = {"summary": layers.summary, "filters": dict(layers.filters),
                           "without_coordinates": list(layers.unlocated)}
    collection["features"] = features
    return collection


def _point_encoder():
    """A fast encoder of point properties: orjson, falling back to Python's for what orjson refuses.

    orjson writes the same compact JSON as Python's encoder for what the layer
    builder puts in a point (strings unescaped beyond JSON's rules, ints,
    null, objects of ints) and NaN as null, as :func:`_clean` does; it raises
    on numpy scalars and lone surrogates, which then take the careful way.
    Floats are left to Python (orjson writes 1e-05 as 0.00001), so a point
    property that is a float takes the careful way too.
    """
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    dumps = orjson.dumps

    def careful(props: dict[str, Any]) -> str:
        try:
            return encode(props)
        except (ValueError, TypeError):  # NaN or a numpy scalar slipped in: the slow, careful way
            return encode(_clean(props))

    def fast(props: dict[str, Any]) -> str:
        try:
            return dumps(props).decode()
        except TypeError:
            return careful(props)

    return encode, careful, fast


def geojson_text(layers) -> str:
    """The layers as GeoJSON text (UTF-8 kept readable, one feature a line for diffs and grep).

    The same document as :func:`feature_collection`, written feature by
    feature: tracks (few, with float properties) with Python's encoder,
    points with orjson (40,000 sightings in a fraction of a second).
    """
    encode, careful, fast = _point_encoder()
    has_float = float

    lines, lons, lats = [], [], []
    for track in layers.tracks:
        coords = [_position(lon, lat) for lon, lat in track.coordinates]
        lons += [c[0] for c in coords]
        lats += [c[1] for c in coords]
        lines.append(f'{{"type":"Feature","id":{encode(track.properties["id"])},'
                     f'"geometry":{{"type":"LineString","coordinates":{encode(coords)}}},'
                     f'"properties":{careful(track.properties)}}}')
    for point in layers.points:
        lon, lat = round(point.lon, COORDINATE_DECIMALS), round(point.lat, COORDINATE_DECIMALS)
        lons.append(lon)
        lats.append(lat)
        props = point.properties
        text = careful(props) if any(v.__class__ is has_float for v in props.values()) else fast(props)
        lines.append(f'{{"type":"Feature","id":{encode(point.sighting_id)},'
                     f'"geometry":{{"type":"Point","coordinates":[{lon!r},{lat!r}]}},'
                     f'"properties":{text}}}')
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if lons:
        head["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
    head["orbat"] = {"summary": layers.summary, "filters": dict(layers.filters),
                     "without_coordinates": list(layers.unlocated)}
    text = json.dumps(head, ensure_ascii=False, allow_nan=False)
    return text[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"


def write_geojson(layers, path: str | os.PathLike) -> Path:
    """Write the layers as a ``.geojson`` file; it appears only once complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(geojson_text(layers), encoding="utf-8", newline="\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OrbatError(f"{path}: cannot write ({exc.strerror})") from None
    return path
