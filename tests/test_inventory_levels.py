"""The ledger across naming levels: a loss named `tank` or `T-72` counts against the actor's tanks."""

from __future__ import annotations

from estimate_helpers import frame_of
from orbat.actors import load_actors
from orbat.inventory import holdings


def _frame(records, catalog):
    frame = frame_of([{k: v for k, v in r.items() if k not in ("actor", "captor")} for r in records], catalog)
    frame["actor"] = [r.get("actor", "Africa Corps") for r in records]
    frame["captor"] = [r.get("captor") for r in records]
    frame["convoy"] = [r.get("convoy") for r in records]
    return frame


def _lines(found):
    return {h.equipment: (h.holdings, h.holdings_max) for h in found}


def test_a_loss_named_by_category_comes_off_the_only_type_held(catalog):
    frame = _frame([
        {"sighting_id": "arr", "equipment": "T-72B3", "count": 6, "event": "arrival"},
        {"sighting_id": "loss", "equipment": "tank", "count": 2, "event": "captured", "captor": "FLA"},
    ], catalog)
    actors = load_actors()
    by_type = _lines(holdings(frame, catalog, actors, actor="Africa Corps"))
    assert by_type["t-72b3"] == (4, 4) and by_type["generic-tank"] == (0, 0)
    [t72b3] = [h for h in holdings(frame, catalog, actors, actor="Africa Corps") if h.equipment == "t-72b3"]
    assert t72b3.placed == 2 and "tank" in t72b3.reason
    # The same story per family and per category.
    assert _lines(holdings(frame, catalog, actors, actor="Africa Corps", by="family"))["T-72"] == (4, 4)
    assert _lines(holdings(frame, catalog, actors, actor="Africa Corps", by="category")) == {"tank": (4, 4)}
    # The captor gains them, under the name they were reported by.
    assert _lines(holdings(frame, catalog, actors, actor="FLA")) == {"generic-tank": (2, 2)}


def test_a_loss_that_cannot_be_placed_on_one_type_gives_ranges(catalog):
    frame = _frame([
        {"sighting_id": "arr", "equipment": "T-72B3", "count": 6, "event": "arrival"},
        {"sighting_id": "arr", "equipment": "T-90M", "count": 3, "event": "arrival"},
        {"sighting_id": "loss", "equipment": "tank", "count": 2, "event": "destroyed"},
    ], catalog)
    actors = load_actors()
    lines = _lines(holdings(frame, catalog, actors))
    assert lines["t-72b3"] == (4, 6) and lines["t-90m"] == (1, 3)
    assert _lines(holdings(frame, catalog, actors, by="category")) == {"tank": (7, 7)}


def test_a_family_level_loss_stays_in_its_family(catalog):
    frame = _frame([
        {"sighting_id": "arr", "equipment": "T-72B3", "count": 6, "event": "arrival"},
        {"sighting_id": "arr", "equipment": "T-90M", "count": 3, "event": "arrival"},
        {"sighting_id": "loss", "equipment": "T-72", "count": 1, "event": "abandoned"},
    ], catalog)
    lines = _lines(holdings(frame, catalog, load_actors()))
    assert lines["t-72b3"] == (5, 5) and lines["t-90m"] == (3, 3)


def test_a_generic_loss_within_generic_arrivals_changes_no_other_line(catalog):
    frame = _frame([
        {"sighting_id": "arr", "equipment": "T-72B3", "count": 6, "event": "arrival"},
        {"sighting_id": "arr2", "equipment": "tank", "count": 2, "event": "arrival"},
        {"sighting_id": "loss", "equipment": "tank", "count": 1, "event": "destroyed"},
    ], catalog)
    lines = _lines(holdings(frame, catalog, load_actors()))
    assert lines["t-72b3"] == (6, 6) and lines["generic-tank"] == (1, 1)


def test_the_timeline_places_losses_the_same_way(catalog):
    from orbat.inventory import timeline

    frame = _frame([
        {"sighting_id": "arr", "equipment": "T-72B3", "count": 6, "event": "arrival", "observed_at": "2024-01-10"},
        {"sighting_id": "loss", "equipment": "tank", "count": 2, "event": "captured", "captor": "FLA",
         "observed_at": "2024-03-05"},
    ], catalog)
    table = timeline(frame, catalog, load_actors(), actor="Africa Corps")
    assert table["t-72b3"].tolist()[:3] == [6, 6, 4]
