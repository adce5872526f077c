"""The kind of a convoy follows what its vehicles are: a lone SAM or gun is combat support, not combat."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimate_helpers import frame_of
from orbat.catalog import load_catalog
from orbat.doctrine import load_doctrine
from orbat.estimate import estimate_convoys

DOCTRINE = load_doctrine()
CATALOG = load_catalog()
# Ground vehicles by catalog role (aircraft and drones have their own aviation templates).
GROUND = [e for e in CATALOG.entries.values() if e.category not in ("helicopter", "aircraft", "uav")]
SUPPORTING = sorted(e.id for e in GROUND if e.role == "combat-support")
FIGHTING = sorted(e.id for e in GROUND if e.role == "combat")
LOGISTICS = sorted(e.id for e in GROUND if e.role == "logistics")


def _estimate(rows):
    [result] = estimate_convoys(frame_of(rows, CATALOG), CATALOG, DOCTRINE)
    return result


def _row(entry_id: str, count: int = 1) -> dict:
    return {"equipment": CATALOG.entries[entry_id].name, "equipment_id": entry_id, "count": count}


@pytest.mark.parametrize("name", ["Pantsir-S1", "Buk-M2", "Tor-M2", "Strela-10", "ZSU-23-4", "2S19 Msta-S",
                                  "BM-21 Grad", "Krasukha-4", "TMM-3"])
def test_a_lone_fires_or_air_defence_vehicle_is_combat_support(name):
    entry = CATALOG.lookup(name)
    assert entry is not None and entry.role == "combat-support", name
    result = _estimate([{"equipment": name, "count": 1}])
    assert (result.kind, result.echelon) == ("combat-support", "section"), (result.template_id, result.alternatives)
    assert result.template_id == "few-combat-support-vehicles"


def test_a_sam_with_its_truck_is_still_combat_support():
    result = _estimate([{"equipment": "Pantsir-S1", "count": 1}, {"equipment": "Ural-4320", "count": 1}])
    assert result.kind == "combat-support"


def test_a_tank_with_a_sam_fights():
    result = _estimate([{"equipment": "Pantsir-S1", "count": 1}, {"equipment": "T-72B3", "count": 1}])
    assert result.kind == "combat"


def test_a_lone_tank_or_truck_keeps_its_kind():
    assert _estimate([{"equipment": "T-72B3", "count": 1}]).kind == "combat"
    assert _estimate([{"equipment": "Ural-4320", "count": 1}]).kind == "logistics"


@settings(max_examples=60, deadline=None)
@given(support=st.sampled_from(SUPPORTING), truck=st.one_of(st.none(), st.sampled_from(LOGISTICS)))
def test_one_combat_support_vehicle_alone_is_combat_support_whatever_its_name(support, truck):
    # The kind comes from the catalog's role of what was seen, not from a table of system names.
    rows = [_row(support)] + ([_row(truck)] if truck else [])
    result = _estimate(rows)
    assert result.kind == "combat-support", (support, truck, result.template_id)


@settings(max_examples=60, deadline=None)
@given(fighting=st.sampled_from(FIGHTING), support=st.one_of(st.none(), st.sampled_from(SUPPORTING)))
def test_one_fighting_vehicle_makes_one_or_two_vehicles_combat(fighting, support):
    rows = [_row(fighting)] + ([_row(support)] if support else [])
    assert _estimate(rows).kind == "combat", (fighting, support)
