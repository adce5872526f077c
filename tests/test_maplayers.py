"""Map layers (orbat/maplayers.py): points for located sightings, tracks for moving convoys, styles."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _frames import make_frame
from orbat.errors import UsageError
from orbat.maplayers import (
    CATEGORY_ICONS, EVENT_COLORS, build_map_layers, filter_events, icon_for, parse_events, safe_url, style_id,
)
from orbat.sightings import EVENTS

CONVOY = "bamako-2025-01-17"


def test_mali_points_and_track(mali, catalog):
    estimates = [{"convoy": CONVOY, "best": {"label": "tank battalion", "template": "tb", "echelon": "battalion",
                                             "kind": "combat", "confidence": 0.78},
                  "vehicles": {"total": 112, "total_max": 119}}]
    layers = build_map_layers(mali, catalog, estimates=estimates)
    assert layers.sightings == 2 and len(layers.points) == 2 and layers.unlocated == []
    video = next(p for p in layers.points if p.sighting_id == "capmali-video-01")
    assert (video.lon, video.lat) == (-8.120543, 12.545009)
    props = video.properties
    assert props["convoy"] == CONVOY and props["observed_at"] == "2025-01-17"
    assert props["actor"] == "Africa Corps" and props["grade"] == "B2" and props["event"] == "sighting"
    # The equipment as written, with ranges, in file order; and counted by category.
    assert props["equipment"].startswith("T-72 6-7, BMP-3 6, BTR 8-10, VPK-Ural 12")
    assert props["by_category"]["tank"] == 6 and sum(props["by_category"].values()) == props["vehicles"]
    assert props["url"] is None  # the source is a description, not a URL
    assert props["marker-color"] == EVENT_COLORS["sighting"]
    [track] = layers.tracks
    assert track.convoy == CONVOY and len(track.coordinates) == 2
    assert track.properties["unit"] == "tank battalion" and track.properties["echelon"] == "battalion"
    assert track.properties["confidence"] == 0.78 and track.properties["likelihood"] == "likely"
    assert track.properties["vehicles"] == 112


def test_sightings_without_coordinates_are_counted(catalog):
    frame = make_frame([
        {"sighting_id": "a", "observed_at": "2025-01-01", "equipment": "T-72", "count": 2, "lat": 12.5, "lon": -8.0},
        {"sighting_id": "b", "observed_at": "2025-01-02", "equipment": "T-72", "count": 1},
        {"sighting_id": "c", "observed_at": "2025-01-03", "equipment": "BMP-3", "count": 1, "lat": 13.0},
    ])
    layers = build_map_layers(frame, catalog)
    assert [p.sighting_id for p in layers.points] == ["a"]
    assert layers.unlocated == ["b", "c"]
    assert layers.summary == "3 sightings, 1 on the map, 2 without coordinates; 0 convoy tracks"


def test_track_is_in_time_order_and_skips_repeated_places(catalog):
    rows = [
        ("s3", "2025-01-03", 14.0, -7.0), ("s1", "2025-01-01", 12.0, -8.0),
        ("s2", "2025-01-02T10:00:00", 12.0, -8.0), ("s4", "2025-01-04", 15.0, -6.0),
    ]
    frame = make_frame([{"sighting_id": sid, "convoy": "c1", "observed_at": t, "lat": lat, "lon": lon,
                         "equipment": "T-72", "count": 1} for sid, t, lat, lon in rows])
    [track] = build_map_layers(frame, catalog).tracks
    assert track.coordinates == [(-8.0, 12.0), (-7.0, 14.0), (-6.0, 15.0)]
    assert (track.begin, track.end) == ("2025-01-01", "2025-01-04")
    assert track.properties["sighting_ids"] == "s1, s2, s3, s4"


def test_a_convoy_at_one_place_has_no_track(catalog):
    frame = make_frame([{"sighting_id": s, "convoy": "c1", "observed_at": "2025-01-01", "lat": 1.0, "lon": 2.0,
                         "equipment": "T-72", "count": 1} for s in ("x", "y")])
    assert build_map_layers(frame, catalog).tracks == []


def test_losses_carry_their_status_and_colour(catalog):
    frame = make_frame([
        {"sighting_id": "l1", "observed_at": "2025-01-01", "lat": 1.0, "lon": 2.0, "equipment": "T-72", "count": 2,
         "event": "destroyed"},
        {"sighting_id": "l1", "observed_at": "2025-01-01", "lat": 1.0, "lon": 2.0, "equipment": "BMP-3", "count": 1,
         "event": "captured", "captor": "FAMa"},
    ])
    [point] = build_map_layers(frame, catalog).points
    assert point.event == "destroyed" and point.properties["events"] == "destroyed, captured"
    assert point.properties["status"] == "destroyed 2, captured 1"
    assert point.properties["losses"] == {"destroyed": 2, "captured": 1}
    assert point.properties["captor"] == "FAMa"
    assert point.properties["marker-color"] == EVENT_COLORS["destroyed"]
    assert point.style_id == "destroyed-tank"


def test_unknown_equipment_is_kept_as_unknown_category(catalog):
    frame = make_frame([{"sighting_id": "u", "observed_at": "2025-01-01", "lat": 1.0, "lon": 2.0,
                         "equipment": "Zorgmobile", "equipment_id": "zorgmobile", "count": 3}])
    [point] = build_map_layers(frame, catalog).points
    assert point.properties["by_category"] == {"unknown": 3}
    assert point.properties["equipment"] == "Zorgmobile 3"
    assert icon_for("unknown") == icon_for("no-such-category")


def test_parse_events():
    assert parse_events(None) is None
    assert parse_events("destroyed, Damaged,destroyed") == ("destroyed", "damaged")
    with pytest.raises(UsageError, match="unknown event 'lost'.*sighting, arrival, destroyed"):
        parse_events("destroyed,lost")
    with pytest.raises(UsageError):
        parse_events(" , ")


def test_safe_url_and_style_ids():
    assert safe_url(" https://example.org/v?id=1 ") == "https://example.org/v?id=1"
    for bad in ("javascript:alert(1)", 'https://x.org/"><script>', "ftp://x.org/a", "https://x.org/a b", None, 3):
        assert safe_url(bad) is None
    assert style_id("destroyed", "sp-artillery") == "destroyed-sp-artillery"
    assert style_id("sighting", 'x"><y') == "sighting-x-y"
    assert set(EVENT_COLORS) == set(EVENTS)
    assert all(all(c.isalnum() or c in "-_" for c in name) for pair in CATEGORY_ICONS.values() for name in pair)


# --- the invariant: a point per located sighting, whatever the filter ------------------------------

_EQUIPMENT = ("T-72", "BMP-3", "BTR-80", "Ural-4320", "Zorgmobile")


@st.composite
def frames(draw):
    records = []
    for n in range(draw(st.integers(1, 12))):
        located = draw(st.booleans())
        lat = draw(st.floats(-90, 90, allow_nan=False)) if located else None
        lon = draw(st.floats(-180, 180, allow_nan=False)) if located else None
        base = {"sighting_id": f"s{n}", "convoy": draw(st.sampled_from([None, "c1", "c2"])),
                "observed_at": f"2025-01-{draw(st.integers(1, 28)):02d}", "lat": lat, "lon": lon,
                "actor": draw(st.sampled_from([None, "FAMa", "Africa Corps"]))}
        for i in range(draw(st.integers(1, 3))):
            records.append({**base, "equipment": draw(st.sampled_from(_EQUIPMENT)) + ("" if i == 0 else f" {i}"),
                            "count": draw(st.integers(0, 20)), "event": draw(st.sampled_from(EVENTS))})
    return make_frame(records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), events=st.none() | st.sets(st.sampled_from(EVENTS), min_size=1),
       actor=st.sampled_from([None, "FAMa", "Africa Corps"]))
def test_points_are_the_located_sightings_under_any_filter(catalog, frame, events, actor):
    rows = filter_events(frame, events)
    if actor is not None:
        rows = rows[rows["actor"].astype(object) == actor]
    layers = build_map_layers(rows, catalog)
    located = rows.dropna(subset=["lat", "lon"])["sighting_id"]
    assert sorted(p.sighting_id for p in layers.points) == sorted(set(located))
    assert layers.sightings == rows["sighting_id"].nunique() == len(layers.points) + len(layers.unlocated)
    assert all(-180 <= p.lon <= 180 and -90 <= p.lat <= 90 for p in layers.points)
    for track in layers.tracks:
        assert len(set(track.coordinates)) >= 2


def test_empty_frame_gives_empty_layers(catalog, mali):
    layers = build_map_layers(mali.iloc[0:0], catalog)
    assert layers.points == [] and layers.tracks == [] and layers.sightings == 0
    assert isinstance(mali, pd.DataFrame)
