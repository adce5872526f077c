"""Convoy aggregation: max-merge per type across sightings, ranges, modes, losses, unknown names."""

from __future__ import annotations

import numpy as np

from estimate_helpers import frame_of
from orbat.convoy import FeatureSpace, aggregate_convoys, feature_matrix, type_codes


def _types(table):
    return {r["equipment_key"]: r for r in table.types.to_dict("records")}


def test_same_convoy_is_max_merged_not_summed(catalog):
    frame = frame_of([
        {"sighting_id": "a", "equipment": "T-72B3", "count": 6, "count_max": 7},
        {"sighting_id": "b", "equipment": "T-72B3", "count": 4},
        {"sighting_id": "b", "equipment": "BMP-3", "count": 5},
    ], catalog)
    table = aggregate_convoys(frame, catalog)
    assert table.convoys == ["c1"]
    types = _types(table)
    assert types["t-72b3"]["count"] == 6 and types["t-72b3"]["count_max"] == 7
    assert types["bmp-3"]["count"] == 5 and types["bmp-3"]["count_max"] == 5
    assert table.sightings == {"c1": ["a", "b"]}
    totals = table.totals().loc["c1"]
    assert totals["total"] == 11 and totals["total_max"] == 12


def test_count_max_merges_by_max_of_count_or_count_max(catalog):
    frame = frame_of([
        {"sighting_id": "a", "equipment": "BTR-82A", "count": 3, "count_max": 5},
        {"sighting_id": "b", "equipment": "BTR-82A", "count": 6},  # exact: its upper bound is 6
    ], catalog)
    row = _types(aggregate_convoys(frame, catalog))["btr-82a"]
    assert (row["count"], row["count_max"]) == (6, 6)


def test_rows_of_one_sighting_add_up_and_carried_is_tracked(catalog):
    frame = frame_of([
        {"equipment": "T-72B3", "count": 2},
        {"equipment": "T-72B3", "count": 3, "mode": "carried"},
    ], catalog)
    row = _types(aggregate_convoys(frame, catalog))["t-72b3"]
    assert (row["count"], row["carried"]) == (5, 3)


def test_no_convoy_means_own_convoy(catalog):
    frame = frame_of([
        {"sighting_id": "a", "convoy": None, "equipment": "T-72B3", "count": 3},
        {"sighting_id": "b", "convoy": None, "equipment": "T-72B3", "count": 4},
    ], catalog)
    table = aggregate_convoys(frame, catalog)
    assert table.convoys == ["a", "b"]


def test_loss_rows_are_left_out_and_counted(catalog):
    frame = frame_of([
        {"sighting_id": "a", "equipment": "T-72B3", "count": 3},
        {"sighting_id": "b", "equipment": "T-72B3", "count": 9, "event": "destroyed"},
    ], catalog)
    table = aggregate_convoys(frame, catalog)
    assert _types(table)["t-72b3"]["count"] == 3
    assert table.loss_rows == {"c1": 1}


def test_unknown_names_are_kept_not_dropped(catalog):
    frame = frame_of([
        {"equipment": "T-72B3", "count": 3},
        {"equipment": "mystery wagon", "count": 2, "equipment_id": None},
        {"equipment": "other", "count": 1, "equipment_id": "not-in-catalog"},
    ], catalog)
    table = aggregate_convoys(frame, catalog)
    types = _types(table)
    assert types["?mystery wagon"]["category"] == "unknown"
    assert types["?other"]["count"] == 1
    totals = table.totals().loc["c1"]
    assert totals["total"] == 6 and totals["unknown"] == 3


def test_personnel_min_from_crews_max_with_dismounts(catalog):
    bmp = catalog.lookup("BMP-3")
    frame = frame_of([{"equipment": "BMP-3", "count": 2, "count_max": 3}], catalog)
    people = aggregate_convoys(frame, catalog).personnel().loc["c1"]
    assert people["min"] == 2 * bmp.crew
    assert people["max"] == 3 * (bmp.crew + bmp.passengers)


def test_feature_matrix_counts_every_convoy_at_once(catalog):
    frame = frame_of([
        {"convoy": "x", "equipment": "T-72B3", "count": 3},
        {"convoy": "y", "equipment": "BMP-3", "count": 4},
        {"convoy": "y", "equipment": "KamAZ truck", "count": 2},
    ], catalog)
    table = aggregate_convoys(frame, catalog)
    space = FeatureSpace.build()
    t = table.types
    matrix = feature_matrix(type_codes(table, space), space, len(table), t["count"].to_numpy(), t["carried"].to_numpy())
    col = space.columns
    assert matrix.shape == (2, len(space))
    np.testing.assert_array_equal(matrix[:, col["total"]], [3, 6])
    np.testing.assert_array_equal(matrix[:, col["category:tank"]], [3, 0])
    np.testing.assert_array_equal(matrix[:, col["role:logistics"]], [0, 2])
    np.testing.assert_array_equal(matrix[:, col["armoured"]], [3, 4])


def test_pivot_by_category(catalog):
    frame = frame_of([
        {"convoy": "x", "equipment": "T-72B3", "count": 3},
        {"convoy": "y", "equipment": "BMP-3", "count": 4},
    ], catalog)
    pivot = aggregate_convoys(frame, catalog).pivot("category")
    assert pivot.loc["x", "tank"] == 3 and pivot.loc["y", "ifv"] == 4 and pivot.loc["x", "ifv"] == 0
