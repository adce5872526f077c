"""The fast map writers against their plain references, on hostile text and odd numbers.

``kml_bytes`` writes KML as text from the layers' columns; ``kml_tree`` builds
the same document with lxml, element by element. ``geojson_text`` writes all
features with one orjson call; ``feature_collection`` is the plain dict. Both
pairs must agree on whatever the input holds, and the points' columns must
say what the ``MapPoint`` view of them says.
"""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from _frames import make_frame
from orbat.formats.geojson import feature_collection, geojson_text
from orbat.formats.kml import kml_bytes, kml_tree
from orbat.maplayers import _estimates_for_tracks, build_map_layers
from orbat.sightings import EVENTS

HOSTILE = ('</name><script>alert(1)</script>', ']]> <![CDATA[ x', '& "q" \'s\'', "a\r\nb\tc", "\x07bell\x1f",
           "Кидаль «к» \u2028 ☃ 𝔘", "   ", "", "=1+2", "https://t.me/c/1", 'https://x.org/?a=1&b="2"')


def lxml_bytes(layers) -> bytes:
    return etree.tostring(kml_tree(layers), xml_declaration=True, encoding="UTF-8", pretty_print=True)


_TEXT = st.one_of(st.none(), st.sampled_from(HOSTILE), st.text(max_size=12))


@st.composite
def hostile_frames(draw):
    records = []
    for n in range(draw(st.integers(1, 8))):
        located = draw(st.booleans()) or n == 0
        base = {"sighting_id": f"s{n}" + draw(st.sampled_from(["", "<&>", " «x»"])),
                "convoy": draw(st.sampled_from([None, "c1", "c<2>"])),
                "observed_at": draw(st.sampled_from(["2025-01-01", "2025-01-02T10:30:00", "2025-01-03T08:05"])),
                "lat": draw(st.floats(-90, 90, allow_nan=False)) if located else None,
                "lon": draw(st.sampled_from([1e-05, -3e-07, 0.0, 12.5])) if located and draw(st.booleans())
                else (draw(st.floats(-180, 180, allow_nan=False)) if located else None),
                "place": draw(_TEXT), "actor": draw(_TEXT), "source": draw(_TEXT), "notes": draw(_TEXT),
                "reliability": draw(st.sampled_from([None, "A", "F"])),
                "credibility": draw(st.sampled_from([None, 2, 6]))}
        for i in range(draw(st.integers(1, 3))):
            records.append({**base, "equipment": draw(st.sampled_from(["T-72", "BMP-3", "Zorg <x>", "Ural-4320"])),
                            "count": draw(st.integers(0, 9)), "count_max": draw(st.sampled_from([None, 9, 12])),
                            "event": draw(st.sampled_from(EVENTS)), "captor": draw(_TEXT)})
    frame = make_frame(records)
    # A range's upper bound is at least its count (the readers see to it).
    frame["count_max"] = frame["count_max"].where(frame["count_max"].isna() | (frame["count_max"] >= frame["count"]))
    return frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=hostile_frames())
def test_fast_writers_match_their_references(catalog, frame):
    layers = build_map_layers(frame, catalog)
    assert kml_bytes(layers) == lxml_bytes(layers)
    assert json.loads(geojson_text(layers)) == feature_collection(layers)


def test_the_golden_kind_of_frame_writes_the_reference_bytes(catalog, mali):
    layers = build_map_layers(mali, catalog)
    assert kml_bytes(layers) == lxml_bytes(layers)
    assert json.loads(geojson_text(layers)) == feature_collection(layers)


def test_small_coordinates_are_written_as_python_writes_them(catalog):
    frame = make_frame([{"sighting_id": s, "convoy": "c", "observed_at": d, "lat": lat, "lon": lon,
                         "equipment": "T-72", "count": 1}
                        for s, d, lat, lon in (("a", "2025-01-01", 1e-05, -3e-07), ("b", "2025-01-02", 2.5, 12.25))])
    text = geojson_text(build_map_layers(frame, catalog))
    # orjson would write 0.00001 and -3e-7: the same numbers, but not the bytes json.dumps writes.
    assert '"coordinates":[-3e-07,1e-05]}' in text
    assert '"coordinates":[[-3e-07,1e-05],[12.25,2.5]]}' in text
    doc = json.loads(text)
    assert doc["bbox"] == [-3e-07, 1e-05, 12.25, 2.5]


def test_each_feature_is_one_line(catalog, mali):
    text = geojson_text(build_map_layers(mali, catalog))
    lines = text.splitlines()
    assert lines[-1] == "]}" and all(line.startswith('{"type":"Feature",') for line in lines[1:-1])
    assert len(lines) - 2 == len(json.loads(text)["features"]) == 3


def test_points_view_says_what_the_columns_say(catalog, mali):
    layers = build_map_layers(mali, catalog)
    columns = layers.columns
    assert len(columns) == len(layers.points) == 2
    for i, point in enumerate(layers.points):
        assert point.sighting_id == columns.ids[i] == point.properties["id"]
        assert (point.lon, point.lat, point.event, point.category) == (
            columns.lon[i], columns.lat[i], columns.event[i], columns.category[i])
        assert point.properties == {k: v[i] for k, v in columns.properties.items()}
        assert point.style_id == columns.style_ids()[i]
    assert layers.points is layers.points  # made once


def test_track_estimates_are_the_estimators_numbers(catalog, mali):
    from orbat.estimate import estimate_convoys, to_dicts

    extra = make_frame([{"sighting_id": s, "convoy": "c9", "observed_at": d, "lat": lat, "lon": 2.0,
                         "equipment": e, "count": n, "count_max": m}
                        for s, d, lat, e, n, m in (("x1", "2025-02-01", 1.0, "T-72", 3, 5),
                                                   ("x2", "2025-02-02", 1.5, "BMP-3", 4, None),
                                                   ("x2", "2025-02-02", 1.5, "T-72", 2, None))])
    frame = pd.concat([mali, extra], ignore_index=True)
    light = _estimates_for_tracks(frame, catalog, None)
    full = {d["convoy"]: d for d in to_dicts(estimate_convoys(frame, catalog))}
    assert sorted(e["convoy"] for e in light) == ["bamako-2025-01-17", "c9"]
    for estimate in light:
        whole = full[estimate["convoy"]]
        assert estimate["best"] == {k: whole["best"][k] for k in ("label", "template", "echelon", "kind", "confidence")}
        assert estimate["vehicles"] == {k: whole["vehicles"][k] for k in ("total", "total_max")}


def test_maps_without_points_match_their_references(catalog, mali):
    empty, unlocated = mali.iloc[0:0], mali.assign(lat=None, lon=None)
    for layers in (build_map_layers(empty, catalog), build_map_layers(unlocated, catalog)):
        assert len(layers.columns) == 0 and layers.points == []
        assert kml_bytes(layers) == lxml_bytes(layers)
        text = geojson_text(layers)
        assert json.loads(text) == feature_collection(layers) and text.endswith('"features": [\n\n]}\n')
