"""What must always hold for the estimator, whatever the convoy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimate_helpers import frame_of, representative, typical_frame
from orbat.catalog import load_catalog
from orbat.doctrine import echelon_rank, load_doctrine
from orbat.estimate import estimate_convoys

SETTINGS = settings(max_examples=40, deadline=None)
CATEGORIES = ["tank", "ifv", "apc", "mrap", "recon", "sp-artillery", "towed-artillery", "mrl", "sam", "aa-gun",
              "cargo-truck", "fuel-truck", "repair", "ambulance", "bus", "transporter", "utility"]
COMBAT = ["tank", "ifv", "apc", "mrap"]

DOCTRINE = load_doctrine()
# Module-level rather than the fixture: hypothesis prints a test's arguments, and the catalog is large.
CATALOG = load_catalog()

compositions = st.dictionaries(st.sampled_from(CATEGORIES), st.integers(1, 60), min_size=1, max_size=8)


def _rows(composition, catalog, **extra):
    return [{"equipment": representative(catalog, c).name, "count": n, **extra} for c, n in composition.items()]


@pytest.mark.parametrize("template_id", sorted(DOCTRINE.templates))
def test_each_template_recognises_its_own_typical_composition(template_id, catalog):
    template = DOCTRINE.get(template_id)
    [result] = estimate_convoys(typical_frame(template, catalog), catalog, DOCTRINE)
    if any(rule.params.of.family or rule.params.of.type for rule in DOCTRINE.compiled[template_id]
           if hasattr(rule.params, "of")):
        # A template told apart by families (airborne: BMD) cannot be from one type per category; its
        # answer (kind and echelon) must still be its own.
        assert (result.kind, result.echelon) == (template.kind, template.echelon), result.alternatives
        return
    assert result.template_id == template_id, result.alternatives


@SETTINGS
@given(base=compositions, added=st.sampled_from(COMBAT), more=st.integers(1, 80))
def test_adding_combat_vehicles_never_lowers_the_echelon(base, added, more):
    catalog = CATALOG
    before = estimate_convoys(frame_of(_rows(base, catalog), catalog), catalog, DOCTRINE)
    grown = dict(base)
    grown[added] = grown.get(added, 0) + more
    after = estimate_convoys(frame_of(_rows(grown, catalog), catalog), catalog, DOCTRINE)
    if before and after:
        assert echelon_rank(after[0].echelon) >= echelon_rank(before[0].echelon), (
            f"{before[0].template_id} {before[0].echelon} -> {after[0].template_id} {after[0].echelon}")


@SETTINGS
@given(composition=compositions, spans=st.lists(st.integers(0, 5), min_size=8, max_size=8),
       data=st.data())
def test_row_order_and_repeated_sightings_change_nothing(composition, spans, data):
    catalog = CATALOG
    rows = [dict(r, count_max=r["count"] + s if s else None, sighting_id="s1")
            for r, s in zip(_rows(composition, catalog), spans)]
    # Another sighting that saw part of the convoy (never more), and a repeat of the first
    # under another id, change no count.
    partial = [dict(r, sighting_id="s2", count=r["count"] // 2, count_max=None) for r in rows]
    repeat = [dict(r, sighting_id="s3") for r in rows]
    shuffled = data.draw(st.permutations(rows + partial + repeat))
    one = [r.to_dict() for r in estimate_convoys(frame_of(rows, catalog), catalog, DOCTRINE)]
    many = [r.to_dict() for r in estimate_convoys(frame_of(shuffled, catalog), catalog, DOCTRINE)]
    for item in one + many:
        item["sightings"] = ["(ignored)"]
        item["vehicles"]["merged"] = ["(which sighting set each figure: ignored)"]
    assert one == many


@SETTINGS
@given(composition=compositions, spans=st.lists(st.integers(0, 30), min_size=8, max_size=8),
       carried=st.booleans())
def test_confidence_and_personnel_are_sane(composition, spans, carried):
    catalog = CATALOG
    rows = [dict(r, count_max=r["count"] + s if s else None, mode="carried" if carried and i == 0 else "driven")
            for i, (r, s) in enumerate(zip(_rows(composition, catalog), spans))]
    for result in estimate_convoys(frame_of(rows, catalog), catalog, DOCTRINE, samples=50):
        data = result.to_dict()
        assert 0.0 <= data["best"]["confidence"] <= 1.0
        assert 0 <= data["best"]["personnel"]["min"] <= data["best"]["personnel"]["max"]
        assert data["vehicles"]["total"] <= data["vehicles"]["total_max"]
        listed = [data["best"]["wins"], *(a["wins"] for a in data["alternatives"])]
        # Each share is rounded to 3 decimals, so their sum may pass 1 by half a thousandth each.
        assert sum(listed) <= 1.0 + 0.0005 * len(listed) + 1e-9
        # Probabilities: the best template is the likeliest, all of them add up to at most 1, and the
        # best answer's confidence holds at least its template's probability.
        probabilities = [data["best"]["probability"], *(a["probability"] for a in data["alternatives"])]
        assert data["best"]["probability"] >= max(probabilities[1:], default=0)
        assert sum(probabilities) <= 1.0 + 0.0005 * len(probabilities) + 1e-9
        assert data["best"]["confidence"] >= data["best"]["probability"] - 0.001
