"""Merging across naming levels: a type, its family and its category describe the same vehicles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimate_helpers import frame_of
from orbat.convoy import aggregate_convoys, naming_levels


def _by_category(table) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for r in table.types.to_dict("records"):
        lo, hi = out.setdefault(r["category"], [0, 0])
        out[r["category"]] = [lo + r["count"], hi + r["count_max"]]
    return {k: tuple(v) for k, v in out.items()}


def test_naming_levels_follow_the_catalog(catalog):
    levels = naming_levels(catalog)
    assert levels["t-72b3"] == 0  # a type
    assert levels["t-72"] == 1  # a family-level entry: T-72B3 shares its family
    assert levels["generic-tank"] == 2  # "tank": only the category
    assert levels["generic-truck"] == 2


def test_the_issue_example_seven_tanks_and_25_trucks(catalog):
    frame = frame_of([
        {"sighting_id": "a", "equipment": "T-72", "count": 6},
        {"sighting_id": "a", "equipment": "Ural-4320", "count": 20},
        {"sighting_id": "b", "equipment": "T-72B3", "count": 7},
        {"sighting_id": "b", "equipment": "truck", "count": 25},
    ], catalog)
    table = aggregate_convoys(frame, catalog)
    assert _by_category(table) == {"tank": (7, 7), "cargo-truck": (25, 25)}
    totals = table.totals().loc["c1"]
    assert (totals["total"], totals["total_max"]) == (32, 32)
    rows = {r["equipment_key"]: (r["count"], r["count_max"]) for r in table.types.to_dict("records")}
    # The specific names say which vehicles they are; the generic truck holds only the 5 not placed.
    assert rows["t-72b3"] == (7, 7) and rows["t-72"] == (0, 0)
    assert rows["ural-4320"] == (20, 20) and rows["generic-truck"] == (5, 5)


def test_an_uncertain_partition_becomes_a_range(catalog):
    # One source saw 2 BMD, another 6 BMP-3: the same 6 vehicles misnamed, or 8 different ones.
    frame = frame_of([
        {"sighting_id": "a", "equipment": "BMD-2", "count": 2},
        {"sighting_id": "b", "equipment": "BMP-3", "count": 6},
    ], catalog)
    assert _by_category(aggregate_convoys(frame, catalog)) == {"ifv": (6, 8)}


def test_the_merge_trace_says_which_sighting_sets_each_figure(catalog):
    frame = frame_of([
        {"sighting_id": "video", "equipment": "T-72", "count": 6, "count_max": 7},
        {"sighting_id": "bmpd", "equipment": "T-72B3", "count": 7},
    ], catalog)
    [line] = aggregate_convoys(frame, catalog).merge_notes()["c1"]
    assert line["category"] == "tank" and line["count"] == 7 and line["set_by"] == ["bmpd"]
    assert "bmpd" in line["reason"] and "video" in line["reason"] and "same vehicles" in line["reason"]


def test_one_sighting_is_not_changed(catalog):
    frame = frame_of([
        {"sighting_id": "a", "equipment": "T-72", "count": 2},
        {"sighting_id": "a", "equipment": "T-72B3", "count": 3, "count_max": 4},
        {"sighting_id": "a", "equipment": "tank", "count": 1},
    ], catalog)
    rows = {r["equipment_key"]: (r["count"], r["count_max"])
            for r in aggregate_convoys(frame, catalog).types.to_dict("records")}
    assert rows == {"t-72": (2, 2), "t-72b3": (3, 4), "generic-tank": (1, 1)}


# --- invariants ---------------------------------------------------------------------------------

# Per category: a generic name, a family-level name and types of that family.
LADDERS = {
    "tank": ("tank", "T-72", ["T-72B3", "T-72B", "T-72AV"]),
    "cargo-truck": ("truck", "Ural truck", ["Ural-4320", "Ural-43206"]),
}


@st.composite
def _sightings(draw):
    n = draw(st.integers(1, 3))
    out = []
    for s in range(n):
        for cat, (generic, family, types) in LADDERS.items():
            if draw(st.booleans()):
                name = draw(st.sampled_from([generic, family, *types]))
                lo = draw(st.integers(0, 12))
                out.append({"sighting_id": f"s{s}", "equipment": name, "count": lo,
                            "count_max": lo + draw(st.integers(0, 3))})
    return out or [{"sighting_id": "s0", "equipment": "tank", "count": 1, "count_max": 1}]


def _finer(catalog, row, draw):
    """Split one row's vehicles over names one level finer (or more): the same vehicles, more precisely named."""
    entry = catalog.resolve(row["equipment"])
    cat = entry.category
    generic, family, types = LADDERS[cat]
    finer = [family, *types] if entry.id == catalog.resolve(generic).id else types if entry.generic else [row["equipment"]]
    names = draw(st.lists(st.sampled_from(finer), min_size=1, max_size=3))
    lo = row["count"]
    cuts = sorted(draw(st.lists(st.integers(0, lo), min_size=len(names) - 1, max_size=len(names) - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, lo])]
    extra = row["count_max"] - lo
    return [{**row, "equipment": name, "count": part, "count_max": part + (extra if i == 0 else 0)}
            for i, (name, part) in enumerate(zip(names, parts))]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_finer_naming_never_changes_the_merged_low_totals(catalog, data):
    rows = data.draw(_sightings())
    k = data.draw(st.integers(0, len(rows) - 1))
    split = rows[:k] + _finer(catalog, rows[k], data.draw) + rows[k + 1:]
    before = _by_category(aggregate_convoys(frame_of(rows, catalog), catalog))
    after = _by_category(aggregate_convoys(frame_of(split, catalog), catalog))
    assert {c: v[0] for c, v in before.items()} == {c: v[0] for c, v in after.items()}
    if len({r["sighting_id"] for r in rows}) == 1:  # one sighting: nothing is uncertain, ranges too
        assert before == after


@settings(max_examples=60, deadline=None)
@given(rows=_sightings())
def test_the_same_evidence_in_a_second_sighting_never_changes_counts(catalog, rows):
    again = [{**r, "sighting_id": r["sighting_id"] + "-again"} for r in rows]
    once = aggregate_convoys(frame_of(rows, catalog), catalog)
    twice = aggregate_convoys(frame_of(rows + again, catalog), catalog)
    key = ["equipment_key", "count", "count_max"]
    assert once.types[key].to_dict("records") == twice.types[key].to_dict("records")


@settings(max_examples=60, deadline=None)
@given(rows=_sightings())
def test_a_node_holds_at_least_each_sightings_count_of_it(catalog, rows):
    merged = _by_category(aggregate_convoys(frame_of(rows, catalog), catalog))
    for s in {r["sighting_id"] for r in rows}:
        seen: dict[str, int] = {}
        for r in rows:
            if r["sighting_id"] == s:
                cat = catalog.resolve(r["equipment"]).category
                seen[cat] = seen.get(cat, 0) + r["count"]
        for cat, n in seen.items():
            if n:
                assert merged[cat][0] >= n
                assert merged[cat][1] >= merged[cat][0]


@pytest.mark.parametrize("name", ["T-72AV", "Ural-43206"])
def test_ladder_names_resolve(catalog, name):
    assert catalog.resolve(name).generic is False
