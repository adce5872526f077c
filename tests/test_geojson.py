"""GeoJSON map layers (orbat/formats/geojson.py): RFC 7946, read back by GDAL, hostile text stays text."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _gdal
from _frames import make_frame
from orbat.formats.geojson import feature_collection, geojson_text, write_geojson
from orbat.maplayers import build_map_layers

HOSTILE = 'T-72 </name><script>alert(1)</script> ]]> "quoted" \\ back'


def check_rfc7946(doc: dict) -> None:
    """The rules of RFC 7946 this writer must keep (right-hand rule not needed: no polygons)."""
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # section 4: WGS 84 only, no crs member
    assert isinstance(doc["features"], list)
    positions = []
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature.get("id"), (str, int, float))  # section 3.2
        assert feature["properties"] is None or isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        coords = [geometry["coordinates"]] if geometry["type"] == "Point" else geometry["coordinates"]
        assert geometry["type"] in ("Point", "LineString")
        if geometry["type"] == "LineString":
            assert len(coords) >= 2  # section 3.1.4
        for position in coords:
            assert len(position) == 2 and all(isinstance(v, float | int) and math.isfinite(v) for v in position)
            lon, lat = position  # section 3.1.1: longitude first
            assert -180 <= lon <= 180 and -90 <= lat <= 90
            positions.append(position)
    if positions:
        west, south, east, north = doc["bbox"]  # section 5
        assert west == min(p[0] for p in positions) and east == max(p[0] for p in positions)
        assert south == min(p[1] for p in positions) and north == max(p[1] for p in positions)


def test_mali_geojson_follows_rfc7946(mali, catalog):
    doc = json.loads(geojson_text(build_map_layers(mali, catalog)))
    check_rfc7946(doc)
    video = next(f for f in doc["features"] if f["id"] == "capmali-video-01")
    assert video["geometry"] == {"type": "Point", "coordinates": [-8.120543, 12.545009]}
    assert video["properties"]["layer"] == "sighting" and video["properties"]["marker-symbol"] == "triangle"
    track = doc["features"][0]
    assert track["geometry"]["type"] == "LineString" and track["properties"]["stroke"] == "#1f4e9c"
    assert doc["orbat"]["summary"] == "2 sightings, 2 on the map; 1 convoy track"


def test_read_back_by_gdal(mali, catalog, tmp_path):
    path = write_geojson(build_map_layers(mali, catalog), tmp_path / "mali.geojson")
    [layer] = _gdal.layers(path).values()
    assert layer["Feature Count"] == "3"
    assert layer["vehicles"].startswith("Integer") and layer["by_category"].startswith("String(JSON)")
    features = _gdal.features(path)
    assert sorted(f["geometry"]["type"] for f in features) == ["LineString", "Point", "Point"]
    video = next(f for f in features if f.get("id") == "capmali-video-01")  # ogr2ogr moves "id" up
    assert video["geometry"]["coordinates"] == [-8.120543, 12.545009]
    assert video["properties"]["equipment"].startswith("T-72 6-7, BMP-3 6")


def test_hostile_text_stays_text(catalog, tmp_path):
    frame = make_frame([{"sighting_id": "h1", "observed_at": "2025-01-01", "lat": 1.5, "lon": 2.5,
                         "place": HOSTILE, "notes": HOSTILE, "source": 'https://x.org/"><script>',
                         "equipment": "T-72", "count": 1}])
    layers = build_map_layers(frame, catalog)
    text = geojson_text(layers)
    assert "<script>" in text  # as JSON string content, which no GeoJSON reader executes
    [feature] = json.loads(text)["features"]
    assert feature["properties"]["notes"] == HOSTILE and feature["properties"]["place"] == HOSTILE
    assert feature["properties"]["url"] is None  # not a URL a map may link to
    assert feature["properties"]["marker-color"].startswith("#")
    path = write_geojson(layers, tmp_path / "h.geojson")
    [read] = _gdal.features(path)
    assert read["properties"]["notes"] == HOSTILE


def test_nan_never_reaches_the_file(catalog):
    frame = make_frame([{"sighting_id": "n", "observed_at": "2025-01-01", "lat": 1.0, "lon": 2.0,
                         "equipment": "T-72", "count": 1, "credibility": None}])
    layers = build_map_layers(frame, catalog)
    layers.columns.properties["weird"] = [float("nan")]  # a float column, as a caller might add
    assert feature_collection(layers)["features"][0]["properties"]["weird"] is None
    assert json.loads(geojson_text(layers))["features"][0]["properties"]["weird"] is None


# Sighting ids as analysts write them, and worse: commas, quotes, Cyrillic, spaces.
_ID = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s != "")


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(ids=st.lists(_ID, min_size=1, max_size=8, unique=True),
       coords=st.lists(st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False)),
                       min_size=8, max_size=8))
def test_ogr2ogr_csv_round_trip_keeps_every_id(catalog, tmp_path, ids, coords):
    frame = make_frame([{"sighting_id": sid, "observed_at": "2025-01-01", "lat": lat, "lon": lon,
                         "equipment": "T-72", "count": 1} for sid, (lat, lon) in zip(ids, coords)])
    path = write_geojson(build_map_layers(frame, catalog), tmp_path / "ids.geojson")
    rows = _gdal.to_csv(path, tmp_path)
    points = [r for r in rows if r["layer"] == "sighting"]
    assert sorted(r["id"] for r in points) == sorted(ids)
