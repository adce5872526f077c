"""Fleet estimates from identifiers: the textbook cases, coverage on simulated fleets, invariants, bad markings."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbat.actors import load_actors
from orbat.errors import UsageError
from orbat.fleet import (
    CAPTURE_RECAPTURE, SERIAL, chapman_interval, fleet_estimates, fleet_table, median_split, read_serial,
    serial_interval,
)
from orbat.sightings import raw_from_records, validate_frame

TODAY = dt.date(2025, 6, 1)


def frame_of(records, catalog):
    frame, problems = validate_frame(raw_from_records(records), catalog, source="records", first_row=1, today=TODAY)
    assert not problems, [str(p) for p in problems]
    return frame


def row(sid, day, markings, equipment="T-72B3", actor="Wagner", count=None):
    count = count if count is not None else max(1, len(markings.split(";")))
    return {"sighting_id": sid, "observed_at": day, "actor": actor, "equipment": equipment, "count": count,
            "markings": markings}


# --------------------------------------------------------------------------- the textbook cases


def test_german_tank_textbook_case():
    found = serial_interval([19, 40, 42, 60], 0.9)
    assert found.estimate == 74  # 60 + 60/4 - 1
    assert (found.low, found.high) == (60, 125)
    # 125 is the largest N with C(60,4)/C(N,4) >= 0.05
    assert math.comb(60, 4) / math.comb(125, 4) >= 0.05 > math.comb(60, 4) / math.comb(126, 4)


def test_serial_interval_lower_end_can_exceed_the_highest_serial():
    # one serial, 100: N = 100 would make a maximum of 100 a 1-in-100 event, below the 5% tail
    found = serial_interval([100], 0.9)
    assert found.estimate == 199
    assert found.low == 105 and 1 - 99 / 105 >= 0.05 > 1 - 99 / 104
    assert found.high == 2000  # 100/N >= 0.05


def test_chapman_textbook_case():
    found = chapman_interval(50, 40, 10, 0.9)
    assert found.estimate == pytest.approx(51 * 41 / 11 - 1) == pytest.approx(189.09, abs=0.01)
    assert found.low < 189 < found.high
    assert found.low >= 50 + 40 - 10  # never below the vehicles seen


def test_chapman_has_no_interval_with_fewer_than_three_resighted():
    found = chapman_interval(20, 20, 2)
    assert found.estimate == pytest.approx(21 * 21 / 3 - 1)
    assert found.low is None and found.high is None


def test_a_wider_level_gives_a_wider_interval():
    narrow, wide = serial_interval([3, 17, 25, 31], 0.8), serial_interval([3, 17, 25, 31], 0.95)
    assert wide.low <= narrow.low and wide.high >= narrow.high
    narrow, wide = chapman_interval(40, 30, 8, 0.8), chapman_interval(40, 30, 8, 0.95)
    assert wide.low <= narrow.low and wide.high >= narrow.high


@pytest.mark.parametrize("level", [0, 0.3, 1, 1.5, float("nan")])
def test_a_level_outside_one_half_to_one_is_refused(level):
    with pytest.raises(UsageError, match="--level"):
        serial_interval([1, 2], level)


# --------------------------------------------------------------------------- coverage


def test_serial_intervals_cover_the_truth_about_90_percent_of_the_time():
    # The interval's true coverage over these fleets is about 94.8% (benchmarks/bench_fleet.py): its
    # lower tail is nearly empty, a fleet never being smaller than its highest serial seen.
    rng = random.Random(2026)
    covered = 0
    fleets = 1000
    for _ in range(fleets):
        size = rng.randint(20, 200)
        seen = rng.sample(range(1, size + 1), rng.randint(6, 15))
        found = serial_interval(seen, 0.9)
        covered += found.low <= size <= found.high
    assert 0.85 <= covered / fleets <= 0.95, covered / fleets


@pytest.mark.parametrize(("size", "k"), [(20, 6), (57, 9), (200, 15), (120, 1)])
def test_the_serial_interval_is_exact_at_least_90_percent_for_every_fleet(size, k):
    # P(max = m | N, k) = C(m-1, k-1) / C(N, k): the coverage summed over every possible maximum
    coverage = 0.0
    for m in range(k, size + 1):
        found = serial_interval(range(m - k + 1, m + 1), 0.9)  # only k and m matter
        if found.low <= size <= found.high:
            coverage += math.comb(m - 1, k - 1) / math.comb(size, k)
    assert 0.9 <= coverage <= 0.96, coverage


def test_capture_recapture_intervals_cover_the_truth_about_90_percent_of_the_time():
    rng = random.Random(1920)
    covered = fleets = 0
    while fleets < 400:
        size = rng.randint(30, 150)
        p1, p2 = rng.uniform(0.3, 0.6), rng.uniform(0.3, 0.6)
        first = {v for v in range(size) if rng.random() < p1}
        second = {v for v in range(size) if rng.random() < p2}
        found = chapman_interval(len(first), len(second), len(first & second), 0.9)
        if found.low is None:
            continue  # fewer than 3 re-sighted: no interval to judge
        fleets += 1
        covered += found.low <= size <= found.high
    assert 0.85 <= covered / fleets <= 0.95, covered / fleets


# --------------------------------------------------------------------------- invariants

serial_sets = st.sets(st.integers(1, 5000), min_size=1, max_size=40)


@given(serial_sets, st.integers(1, 5000))
def test_a_higher_highest_serial_never_lowers_the_estimate(serials, raise_by):
    # the same number of serials, the highest one higher: N and both ends of the interval never fall
    top = max(serials)
    raised = (serials - {top}) | {top + raise_by}
    before, after = serial_interval(serials), serial_interval(raised)
    assert after.estimate >= before.estimate
    assert after.low >= before.low and after.high >= before.high


def test_adding_a_serial_can_lower_the_estimate_when_it_is_the_new_highest_by_a_little():
    # Not a bug: one serial of 100 says "about 199"; a second at 101 says the serials are dense, "about 150".
    assert serial_interval([100]).estimate == 199
    assert serial_interval([100, 101]).estimate == 150.5


@given(serial_sets)
def test_the_serial_estimate_never_falls_below_the_distinct_serials(serials):
    found = serial_interval(serials)
    assert found.estimate >= len(serials)
    assert found.low >= max(serials) >= len(serials)
    assert found.low <= found.high


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300))
def test_chapman_never_falls_below_the_distinct_markings(n1, n2, m):
    m = min(m, n1, n2)
    found = chapman_interval(n1, n2, m)
    assert found.estimate >= n1 + n2 - m - 1e-9
    if found.low is not None:
        assert n1 + n2 - m <= found.low <= found.high


# --------------------------------------------------------------------------- from sightings


def test_serials_from_the_catalog_pattern(catalog):
    frame = frame_of([
        row("a", "2023-03-16", "TZ-19D", equipment="TB2", actor="FAMa"),
        row("b", "2023-06-01", "TZ-40D;tz-42d", equipment="TB2", actor="Malian Armed Forces"),
        row("c", "2024-01-04", "TZ-60D;TZ-19D", equipment="Bayraktar TB2", actor="FAMa"),
    ], catalog)
    result = fleet_estimates(frame, catalog, load_actors())
    (found,) = result.estimates
    assert (found.actor, found.equipment, found.method) == ("FAMa", "bayraktar-tb2", SERIAL)
    assert (found.estimate, found.low, found.high, found.distinct) == (74, 60, 125, 4)
    assert found.arithmetic == "4 distinct serials, highest 60: N = 60 + 60/4 - 1 = 74, 90% interval 60-125"
    assert found.evidence == ("a", "b", "c") and result.rejected == []


def test_a_marking_that_is_not_a_serial_is_reported_with_its_row_and_not_used(catalog):
    frame = frame_of([
        row("a", "2023-03-16", "TZ-19D;TZ-7", equipment="TB2", actor="FAMa"),
        row("b", "2023-06-01", "TZ-40D", equipment="TB2", actor="FAMa"),
    ], catalog)
    result = fleet_estimates(frame, catalog, row_labels=["f.csv, row 2", "f.csv, row 3"])
    (bad,) = result.rejected
    assert str(bad) == ("f.csv, row 2, column markings: does not match the serial pattern 'TZ-(\\d+)D', "
                        "got 'TZ-7'; not used")
    assert result.estimates[0].distinct == 2 and result.estimates[0].identifiers == ("TZ-19D", "TZ-40D")


def test_duplicates_in_one_sighting_count_once(catalog):
    frame = frame_of([row("a", "2023-03-16", "TZ-19D;TZ-19D; tz-19d", equipment="TB2", count=1),
                      row("b", "2023-04-16", "TZ-20D", equipment="TB2")], catalog)
    assert frame.loc[0, "markings"] == "TZ-19D"
    (found,) = fleet_estimates(frame, catalog).estimates
    assert found.distinct == 2 and found.estimate == 20 + 20 / 2 - 1


def test_serial_zero_and_patterns_without_a_number_are_not_used():
    import re

    assert read_serial("TZ-00D", re.compile(r"TZ-(\d+)D")) == (None, "serial 0: fleets are numbered from 1")
    assert read_serial("TZ-AD", re.compile(r"TZ-(\w+)D"))[0] is None
    assert read_serial("0042", re.compile(r"\d+")) == (42, None)


def test_capture_recapture_splits_at_the_median_sighting_date(catalog):
    first = [row(f"p1-{i}", "2024-03-01", ";".join(str(100 + j) for j in range(i * 5, i * 5 + 5))) for i in range(4)]
    second = [row(f"p2-{i}", "2024-09-01", ";".join(str(110 + j) for j in range(i * 5, i * 5 + 5))) for i in range(4)]
    frame = frame_of(first + second, catalog)
    (found,) = fleet_estimates(frame, catalog).estimates
    # period 1: 100..119 (20), period 2: 110..129 (20), both: 110..119 (10)
    assert found.method == CAPTURE_RECAPTURE
    assert found.figures == {"n1": 20, "n2": 20, "m": 10, "split": "2024-09-01"}
    assert found.estimate == pytest.approx(21 * 21 / 11 - 1)
    assert found.distinct == 30 and found.low >= 30
    assert found.arithmetic.startswith("20 distinct markings before 2024-09-01, 20 from 2024-09-01 on, "
                                       "10 seen in both: N = (20+1)(20+1)/(10+1) - 1 = 39.1, 90% interval ")


def test_capture_recapture_warns_when_few_are_resighted(catalog):
    frame = frame_of([row("a", "2024-01-01", "1;2;3;4"), row("b", "2024-06-01", "4;5;6")], catalog)
    (found,) = fleet_estimates(frame, catalog, split="2024-03-01").estimates
    assert (found.low, found.high) == (None, None) and found.figures["m"] == 1
    assert "only 1 re-sighted (fewer than 3)" in found.warnings[0]


def test_capture_recapture_needs_two_periods(catalog):
    frame = frame_of([row("a", "2024-01-01", "1;2"), row("b", "2024-01-01", "2;3")], catalog)
    (found,) = fleet_estimates(frame, catalog).estimates
    assert found.estimate is None and "every marked sighting is on one day" in found.warnings[0]
    assert fleet_table([found])["estimate"].isna().all()


def test_serials_flag_reads_plain_numbers_and_a_pattern_applies_to_every_type(catalog):
    frame = frame_of([row("a", "2024-01-01", "231;245"), row("b", "2024-02-01", "Z-12", count=1)], catalog)
    result = fleet_estimates(frame, catalog, serials=True)
    assert result.estimates[0].figures == {"k": 2, "m": 245}
    assert [r.marking for r in result.rejected] == ["Z-12"]
    result = fleet_estimates(frame, catalog, serial_pattern=r"Z-(\d+)")
    assert result.estimates[0].figures == {"k": 1, "m": 12}
    assert [r.marking for r in result.rejected] == ["231", "245"]


def test_filters_as_of_actor_and_equipment(catalog):
    frame = frame_of([row("a", "2024-01-01", "TZ-5D", equipment="TB2", actor="FAMa"),
                      row("b", "2024-06-01", "TZ-9D", equipment="TB2", actor="FAMa"),
                      row("c", "2024-06-01", "1;2", actor="Wagner")], catalog)
    assert fleet_estimates(frame, catalog, as_of="2024-03-01", equipment="TB2").estimates[0].figures["m"] == 5
    assert [e.actor for e in fleet_estimates(frame, catalog, actor="Wagner").estimates] == ["Wagner"]


def test_a_succession_hands_the_markings_over_with_the_vehicles(catalog):
    """Wagner's rows and Africa Corps' after the hand-over (2025-06-06) see the same vehicles: one fleet."""
    actors = load_actors()
    before = [row(f"w{i}", "2025-03-01", ";".join(str(100 + j) for j in range(i * 5, i * 5 + 5))) for i in range(4)]
    after = [row(f"a{i}", "2025-09-01", ";".join(str(110 + j) for j in range(i * 5, i * 5 + 5)),
                 actor="Africa Corps") for i in range(4)]
    frame, problems = validate_frame(raw_from_records(before + after), catalog, source="records", first_row=1,
                                     today=dt.date(2026, 1, 1))
    assert not problems
    (found,) = fleet_estimates(frame, catalog, actors).estimates
    assert found.actor == "Africa Corps" and found.figures["m"] == 10  # re-sighted across the hand-over
    assert found.notes == ("includes the markings of Wagner Group (succeeded by Africa Corps on 2025-06-06): "
                           "the same vehicles under their new holder",)
    assert found.to_dict()["notes"] == list(found.notes)
    assert fleet_table([found])["notes"].tolist() == [found.notes[0]]
    # as of a day before the hand-over, each its own (Africa Corps' rows are later still: none)
    assert [(e.actor, e.notes) for e in fleet_estimates(frame, catalog, actors, as_of="2025-06-05").estimates] == [
        ("Wagner Group", ())]
    assert [e.actor for e in fleet_estimates(frame, catalog, actors, actor="Wagner").estimates] == []
    assert [e.actor for e in fleet_estimates(frame, catalog, actors, actor="Wagner",
                                             as_of="2025-06-05").estimates] == ["Wagner Group"]
    # without an actor list, names are kept as written and nothing is handed over
    assert sorted(e.actor for e in fleet_estimates(frame, catalog).estimates) == ["Africa Corps", "Wagner"]


@pytest.mark.parametrize(("options", "message"), [
    ({"serial_pattern": "TZ-("}, "not a regular expression"),
    ({"serial_pattern": r"(\d)(\d)"}, "at most one group"),
    ({"split": "01/02/2024"}, "--split '01/02/2024': expected a date YYYY-MM-DD"),
    ({"as_of": "soon"}, "--as-of 'soon'"),
    ({"level": 2}, "--level"),
])
def test_bad_options_are_usage_errors(catalog, options, message):
    frame = frame_of([row("a", "2024-01-01", "1")], catalog)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fleet_estimates(frame, catalog, **options)


def test_median_split_leaves_sightings_in_both_periods():
    assert median_split(["2024-01-01"] * 3) is None
    assert median_split(["2024-01-01", "2024-01-01", "2024-01-01", "2024-02-01"]) == "2024-02-01"
    assert median_split(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]) == "2024-03-01"


def test_markings_validation(catalog):
    frame, problems = validate_frame(raw_from_records([
        {"sighting_id": "a", "observed_at": "2024-01-01", "equipment": "T-72B3", "count": 2, "markings": "1;2;3"},
        {"sighting_id": "b", "observed_at": "2024-01-01", "equipment": "T-72B3", "count": 2, "count_max": 3,
         "markings": "1; 2 ;3;;"},
        {"sighting_id": "c", "observed_at": "2024-01-01", "equipment": "T-72B3", "count": 1, "markings": "x" * 65},
    ]), catalog, source="f.json", first_row=1, today=TODAY, spreadsheet=False)
    assert [str(p) for p in problems] == [
        "f.json, row 1, column markings: expected at most 2 identifiers (the row's vehicles), found 3, got '1;2;3'",
        "f.json, row 3, column markings: expected identifiers of at most 64 characters separated by ';' "
        "(one is 65 long), got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'",
    ]
    assert frame["markings"].tolist() == ["1;2;3"]


def test_the_coverage_benchmark_runs(catalog):
    # a smoke test of benchmarks/fleet_coverage.py: nothing timed is asserted
    from benchmarks.fleet_coverage import markdown, run

    data = run(fleets=40, seed=3, timing_rows=400)
    assert {(r["method"], r["level"]) for r in data["coverage"]} >= {("serial", 0.9), ("capture-recapture", 0.9)}
    assert all(0 <= r["coverage"] <= 1 for r in data["coverage"] if r["fleets"])
    assert data["timing"]["rows"] == 400 and data["timing"]["estimates"] >= 2
    assert "| serial | issue: N 20-200, k 6-15 | 90% |" in markdown(data)


marked_rows = st.lists(
    st.tuples(st.sampled_from(["2024-01-05", "2024-02-10", "2024-05-01", "2024-09-09"]),
              st.sampled_from(["TB2", "T-72B3"]),
              st.lists(st.integers(1, 60), min_size=1, max_size=6, unique=True)),
    min_size=1, max_size=12)


@given(marked_rows, st.randoms(use_true_random=False))
def test_estimates_never_fall_below_the_distinct_identifiers_and_ignore_row_order(catalog, rows, rnd):
    records = [row(f"s{i}", day, ";".join(f"TZ-{n}D" if kind == "TB2" else str(n) for n in numbers),
                   equipment=kind) for i, (day, kind, numbers) in enumerate(rows)]
    found = fleet_estimates(frame_of(records, catalog), catalog)
    for e in found.estimates:
        assert e.distinct == len(e.identifiers)
        if e.estimate is not None:
            assert e.estimate >= e.distinct
        if e.low is not None:
            assert e.distinct <= e.low <= e.high
    shuffled = list(records)
    rnd.shuffle(shuffled)
    again = fleet_estimates(frame_of(shuffled, catalog), catalog)
    assert [(e.equipment, e.estimate, e.low, e.high, e.distinct, set(e.evidence)) for e in again.estimates] == [
        (e.equipment, e.estimate, e.low, e.high, e.distinct, set(e.evidence)) for e in found.estimates]
