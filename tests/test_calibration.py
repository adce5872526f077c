"""Calibration: perturbed doctrinal cases, the observation model, and confidence as a probability."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimate_helpers import frame_of
from orbat.calibration import calibrate, draw_cases, score_answers
from orbat.estimate import estimate_convoys
from orbat.observation import COUNT_ERROR, MISIDENTIFICATION, evidence_noise, trust

RELIABILITY = ["A", "B", "C", "D", "E"]  # best to worst


@pytest.fixture(scope="module")
def doctrine():
    from orbat.doctrine import load_doctrine

    return load_doctrine()
CREDIBILITY = [1, 2, 3, 4, 5]


def test_a_small_seeded_case_set_is_calibrated(catalog, doctrine):
    """ECE over 10 bins stays within 0.1 on a small seeded set (the full figures are in the benchmark)."""
    result = calibrate(doctrine, catalog, cases=12, seed=3, samples=50)
    assert result.cases == 12 * len(doctrine.templates)
    assert result.ece <= 0.1, result.reliability
    assert result.accuracy >= 0.85, [t for t in result.templates if t["accuracy"] < 0.8]
    assert sum(b["cases"] for b in result.reliability) == result.cases


def test_cases_are_drawn_from_the_typical_composition_under_the_observation_model(catalog, doctrine):
    frame, truth = draw_cases(doctrine, catalog, cases=30, seed=1, templates=["tank-company"])
    assert set(truth["template"]) == {"tank-company"} and len(truth) == 30
    per_case = frame.groupby("convoy")["sighting_id"].nunique()
    assert per_case.between(1, 3).all() and per_case.nunique() > 1
    # Names at more than one level, some ranges, every row graded or "cannot be judged".
    levels = {catalog.entries[i].generic for i in frame["equipment_id"]}
    assert levels == {True, False}
    assert frame["count_max"].notna().any()
    assert frame["credibility"].notna().all()
    # Never more tanks than the unit has (10), beyond count error.
    tanks = frame[frame["equipment_id"].map(lambda i: catalog.entries[i].category == "tank")]
    assert tanks.groupby("sighting_id")["count"].sum().max() <= 14


def test_the_same_seed_gives_the_same_cases(catalog, doctrine):
    a, _ = draw_cases(doctrine, catalog, cases=5, seed=9)
    b, _ = draw_cases(doctrine, catalog, cases=5, seed=9)
    c, _ = draw_cases(doctrine, catalog, cases=5, seed=10)
    assert a.equals(b) and not a.equals(c)


def test_scores_of_answers():
    figures = score_answers(np.array([0.95, 0.95, 0.15, 0.15]), np.array([True, True, False, False]))
    assert figures["accuracy"] == 0.5
    assert figures["ece"] == pytest.approx(0.1)
    assert figures["brier"] == pytest.approx((0.05 ** 2 * 2 + 0.15 ** 2 * 2) / 4)
    assert [b["cases"] for b in figures["reliability"]] == [2, 2]


def test_grades_set_the_noise_and_cannot_be_judged_is_not_good():
    assert MISIDENTIFICATION["A"] < MISIDENTIFICATION["C"] < MISIDENTIFICATION["E"]
    assert MISIDENTIFICATION["F"] > MISIDENTIFICATION["B"] and COUNT_ERROR[6] > COUNT_ERROR[2]
    assert MISIDENTIFICATION[None] == MISIDENTIFICATION["F"] and COUNT_ERROR[None] == COUNT_ERROR[6]
    noise = evidence_noise(np.array([0.02, 0.2]), np.array([0.03, 0.2]))
    assert trust(noise)[0] > trust(noise)[1]


COMPOSITIONS = st.dictionaries(st.sampled_from(["T-72B3", "BMP-3", "BTR-82A", "GAZ Tigr", "2S19 Msta-S",
                                                "BM-21 Grad", "Ural-4320", "Tor-M2"]),
                               st.integers(1, 30), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(composition=COMPOSITIONS, rel=st.integers(0, 3), cred=st.integers(0, 3),
       worse_rel=st.integers(0, 1), worse_cred=st.integers(0, 1))
def test_worse_grades_never_raise_confidence(catalog, composition, rel, cred, worse_rel, worse_cred):
    def estimate(r, c):
        frame = frame_of([{"equipment": n, "count": k} for n, k in composition.items()], catalog)
        frame["reliability"] = RELIABILITY[r]
        frame["credibility"] = frame["credibility"].astype("Int64").fillna(CREDIBILITY[c])
        [e] = estimate_convoys(frame, catalog)
        return e

    good = estimate(rel, cred)
    bad = estimate(rel + worse_rel, cred + worse_cred)
    assert bad.template_id == good.template_id  # grades weigh the evidence, they do not change it
    assert bad.confidence <= good.confidence


def test_the_bamako_convoy_reflects_its_grades(catalog, mali_csv):
    from orbat.sightings import read_sightings

    frame = read_sightings(mali_csv, catalog)
    [graded] = estimate_convoys(frame, catalog)
    best = frame.copy()
    best["reliability"], best["credibility"] = "A", 1
    [perfect] = estimate_convoys(best, catalog)
    assert graded.template_id == perfect.template_id == "expeditionary-btg"
    assert graded.confidence < perfect.confidence <= 1.0
    assert graded.confidence >= 0.9  # every rule holds: only the grades leave room for doubt


def test_alternatives_probabilities_add_up_to_at_most_one(catalog, mali_csv):
    from orbat.sightings import read_sightings

    [e] = estimate_convoys(read_sightings(mali_csv, catalog), catalog)
    data = e.to_dict()
    total = data["best"]["probability"] + sum(a["probability"] for a in data["alternatives"])
    assert total <= 1.0 + 1e-9
    assert data["best"]["confidence"] >= data["best"]["probability"]


def test_cli_calibrate_json_and_table(cli):
    import json

    result = cli("doctrine", "calibrate", "--cases", "3", "--template", "tank-company", "--template",
                 "logistics-column", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cases"] == 6 and {t["template"] for t in data["templates"]} == {"tank-company", "logistics-column"}
    assert {"accuracy", "ece", "brier", "sure", "sure_accuracy", "reliability"} <= set(data)
    table = cli("doctrine", "calibrate", "--cases", "2", "--template", "tank-company")
    assert table.exit_code == 0, table.output
    assert "expected calibration error" in table.stdout and "tank-company" in table.stdout


def test_cli_calibrate_names_an_unknown_template(cli):
    result = cli("doctrine", "calibrate", "--template", "no-such-unit")
    assert result.exit_code != 0
    assert "no-such-unit" in result.stderr and "tank-company" in result.stderr
    assert "Traceback" not in result.output


def test_calibrate_warns_of_a_template_the_ladder_overrules(cli, tmp_path):
    own = tmp_path / "patrol.yaml"
    own.write_text("""templates:
  - id: big-patrol
    label: patrol
    kind: combat
    echelon: platoon
    description: seven armoured cars, which the ladder calls a company
    sources: ["a test"]
    typical: {mrap: 7}
    rules:
      - {rule: count-in-range, of: {category: mrap}, min: 5, max: 9, required: true}
""", encoding="utf-8")
    result = cli("doctrine", "calibrate", "--doctrine", own, "--template", "big-patrol", "--cases", "3")
    assert result.exit_code == 0, result.output
    assert "warning: big-patrol" in result.stdout and "company" in result.stdout


@pytest.mark.parametrize("templates", [
    ["recon-platoon", "recon-company", "recon-battalion"],
    ["uav-platoon", "uav-company"],
    ["few-combat-support-vehicles"],
])
def test_the_reconnaissance_drone_and_lone_support_templates_can_be_told_apart(catalog, doctrine, templates):
    """Their own perturbed cases come out as their echelon and kind, with a confidence that means it."""
    result = calibrate(doctrine, catalog, cases=40, seed=11, samples=50, templates=templates)
    assert result.accuracy >= 0.85, result.templates
    assert result.ece <= 0.15, result.reliability
