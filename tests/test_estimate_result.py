"""Each convoy's estimate and JSON (orbat/estimate_result.py): made column-wise and a block at a time, the same objects."""

from __future__ import annotations

import pytest

from benchmarks.generate import generate_csv
from orbat import estimate_result, estimate_stream
from orbat.doctrine import load_doctrine
from orbat.estimate import estimate_convoys, run_estimator
from orbat.sightings import read_sightings

DOCTRINE = load_doctrine()


@pytest.fixture(scope="module")
def frame(catalog, tmp_path_factory):
    """300 synthetic convoys of 1-3 sightings each: merged categories, ranges, unknown names, loss rows."""
    path = generate_csv(tmp_path_factory.mktemp("result") / "convoys.csv", convoys=300, seed=5, catalog=catalog)
    return read_sightings(path, catalog)


def test_block_merge_notes_are_the_convoy_tables(frame, catalog, monkeypatch):
    """The merge notes made a few convoys at a time are the convoy table's, note for note (and there are some)."""
    monkeypatch.setattr(estimate_result, "OUTPUT_BLOCK", 7)
    estimates = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    expected = estimates[0]._run.table.merge_notes()
    assert sum(map(len, expected.values())) > 50
    for e in estimates:
        assert e.vehicles["merged"] == expected.get(e.convoy, []), e.convoy


def test_json_does_not_depend_on_blocks_or_the_order_estimates_are_read(frame, catalog, monkeypatch):
    whole = [e.to_dict() for e in estimate_convoys(frame, catalog, DOCTRINE, samples=20)]
    monkeypatch.setattr(estimate_result, "OUTPUT_BLOCK", 16)
    backwards = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    # Read last first, and each twice: blocks are made again, or all at once, never wrong.
    assert [e.to_dict() for e in reversed(backwards)][::-1] == whole
    assert [e.to_dict("full") for e in backwards] == whole
    assert [e.to_dict("best") for e in backwards] == [{**d, "trace": d["trace"][:len(e.trace_for(e.template_id))]}
                                                      for d, e in zip(whole, backwards)]


def test_shared_traces_are_each_convoys_own(frame, catalog):
    """The winner's and runner-up's traces, made per distinct outcome, equal the rules evaluated convoy by convoy."""
    run = run_estimator(frame, catalog, DOCTRINE, samples=20)
    estimates = [estimate_result.ConvoyEstimate(run, i) for i in range(len(run.table))]
    entries = [entry for trace in run.best_traces for entry in trace]
    assert 1 < len({id(entry) for entry in entries}) < len(entries)  # a rule's outcome is shared, not copied
    for e in estimates:
        assert e.trace_for(e.template_id) == e._trace_of(e.template_id)
        assert e.trace_for(e.runner_up) == e._trace_of(e.runner_up)
        assert e.trace == e._trace_of(e.template_id) + e._trace_of(e.runner_up)


def test_a_trace_is_a_copy_of_the_shared_list(frame, catalog):
    e = estimate_convoys(frame, catalog, DOCTRINE, samples=20)[0]
    first = e.trace_for(e.template_id)
    first.append({"changed": True})
    assert e.trace_for(e.template_id) != first
    assert len(e.to_dict()["trace"]) == len(e.trace)


def test_the_parts_agree_with_the_json(frame, catalog):
    for e in estimate_convoys(frame, catalog, DOCTRINE, samples=20)[:60]:
        data = e.to_dict()
        assert data["vehicles"] == e.vehicles
        assert data["best"] == e.best
        assert data["indicators"] == e.indicators
        assert data["alternatives"] == e.alternatives
        assert (e.total, e.total_max) == (data["vehicles"]["total"], data["vehicles"]["total_max"])
        assert data["best"]["breakdown"] == e.breakdown
        assert data["best"]["personnel"] == e.personnel
        assert {k: v for k, v in e.by_category.items() if k != "unknown"} == data["vehicles"]["by_category"]


def test_estimates_streamed_a_block_of_convoys_at_a_time_are_the_same(frame, catalog):
    whole = [e.to_dict("best") for e in estimate_convoys(frame, catalog, DOCTRINE, samples=20)]
    stream = estimate_result.EstimateStream(frame, catalog, DOCTRINE, samples=20, block=37)
    assert stream.blocks > 5
    assert [e.to_dict("best") for e in stream] == whole


def test_the_cli_streams_blocks_of_convoys_with_the_same_output(cli, catalog, tmp_path, monkeypatch):
    path = generate_csv(tmp_path / "convoys.csv", convoys=60, seed=8, catalog=catalog)
    whole = cli("estimate", path, "--jsonl")
    assert whole.exit_code == 0, whole.output
    monkeypatch.setattr(estimate_stream, "STREAM_CONVOYS", 9)
    blocks = cli("estimate", path, "--jsonl")
    assert blocks.exit_code == 0, blocks.output
    assert blocks.stdout == whole.stdout
    assert len(whole.stdout.splitlines()) == 60


def test_the_top_reason_is_the_heaviest_rule_of_the_whole_trace(frame, catalog):
    from orbat.overview import top_reason

    estimates = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    assert len({e.top_reason for e in estimates}) > 5
    for e in estimates:
        assert e.top_reason == top_reason(e.trace_for(e.template_id))


def test_the_overview_rows_made_for_a_whole_run_are_those_of_each_estimate(frame, catalog):
    from orbat.overview import OverviewRow, overview_rows, top_reason

    estimates = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    assert len(estimates) > 5
    for e in estimates:
        # what the table showed of each estimate, read one property at a time
        assert e.overview_row == OverviewRow(
            convoy=str(e.convoy), vehicles=int(e.total), vehicles_max=int(e.total_max), estimate=str(e.label),
            echelon=str(e.echelon), kind=str(e.kind), confidence=float(e.confidence),
            top_reason=top_reason(e.trace_for(e.template_id)))

    class Plain:  # an estimate-like object without the run's rows: overview_rows reads its properties
        def __init__(self, e):
            self._e = e

        def __getattr__(self, name):
            if name in ("overview_row", "top_reason"):
                raise AttributeError(name)
            return getattr(self._e, name)

    for sort in ("convoy", "vehicles", "confidence", "echelon"):
        assert overview_rows([Plain(e) for e in estimates], sort) == overview_rows(estimates, sort)


def test_the_vehicles_by_category_and_role_are_the_sums_of_the_type_rows(frame, catalog):
    from orbat.convoy import UNKNOWN

    estimates = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    run = estimates[0]._run
    assert run._type_arrays["coded"]  # the sums on whole columns
    for e in estimates:
        categories, roles = {}, {}
        for row in e.type_rows:
            categories[row["category"]] = categories.get(row["category"], 0) + row["count"]
            if row["role"] != UNKNOWN:
                roles[row["role"]] = roles.get(row["role"], 0) + row["count"]
        assert e.by_category == {k: v for k, v in sorted(categories.items()) if v}
        assert list(e.by_category) == sorted(e.by_category)
        assert e.vehicles["by_role"] == {k: v for k, v in sorted(roles.items()) if v}
        assert list(e.vehicles["by_role"]) == sorted(e.vehicles["by_role"])
        ranged = any(r["count_max"] > r["count"] for r in e.type_rows)
        drawn = bool(run.drawn[e.index])
        assert not drawn or ranged  # exact counts are never drawn
        assert e.indicators["sampled"] == (int(run.draws[e.index]) if drawn else 0)
    # the row-by-row sums (taken when a category or role is missing) give the same objects
    whole = [e.to_dict("best") for e in estimates]
    again = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    again[0]._run._type_arrays["coded"] = False
    assert [e.to_dict("best") for e in again] == whole


def test_json_numbers_made_on_whole_columns_are_each_values_own():
    """_nums gives what _num gives value by value: the same ints and floats, exact ties and edge cases too."""
    import numpy as np

    rng = np.random.default_rng(3)
    values = np.concatenate([
        rng.random(20_000), rng.random(5_000) * 10 - 5, rng.random(2_000) * 1e7,
        np.arange(-64, 64) / 16, np.arange(4_000) / 2_000, np.arange(4_000) / 1_000,  # halves and exact ties
        [0.0, -0.0, 1.0, -1.0, 0.0005, 0.0015, 0.0625, 2.675, 2.0 ** 40, 1e20, -1e20, 1e300, 5e-324,
         float("nan"), float("inf"), -float("inf"), 2.0 ** 31 + 0.0005],
    ])
    made = estimate_result._nums(values)
    expected = [estimate_result._num(float(v)) for v in values]
    assert [(type(x), repr(x)) for x in made] == [(type(x), repr(x)) for x in expected]


def test_the_indicator_shares_made_on_whole_columns_are_each_convoys_own(frame, catalog):
    """carried, armoured and logistics shares: round(part / total, 3) of the convoy's own vehicles (0.0 without any)."""
    for e in estimate_convoys(frame, catalog, DOCTRINE, samples=20):
        indicators, vehicles = e.indicators, e.vehicles
        total = vehicles["total"]
        logistics = vehicles["by_role"].get("logistics", 0)
        carried = sum(row["carried"] for row in e.type_rows)
        for name, part in (("logistics_share", logistics), ("armoured_share", indicators["armoured"]["min"]),
                           ("carried_share", carried)):
            expected = round(part / total, 3) if total else 0.0
            assert type(indicators[name]) is float and indicators[name] == expected, (e.convoy, name)
        support = indicators["organic_support"]
        assert support["present"] == (sum(1 for v in support["vehicles"].values() if v) >= 2)


def test_alternatives_made_a_block_at_a_time_are_each_convoys_own(frame, catalog, monkeypatch):
    """Per convoy, its runners-up after the best, in score order, as the run's columns have them (any block size)."""
    monkeypatch.setattr(estimate_result, "OUTPUT_BLOCK", 9)
    estimates = estimate_convoys(frame, catalog, DOCTRINE, samples=20)
    run = estimates[0]._run
    labels = {t.id: t.label for t in DOCTRINE}
    for e in estimates:
        order = run.order[e.index].tolist()[1:1 + estimate_result.MAX_ALTERNATIVES]
        alternatives = e.alternatives
        assert [a["template"] for a in alternatives] == [run.ids[j] for j in order]
        assert all(a["label"] == labels[a["template"]] for a in alternatives)
        assert [a["score"] for a in alternatives] == [estimate_result._num(float(run.mean[e.index, j])) for j in order]
        assert alternatives is not e.alternatives  # a list of its own each time


def test_a_breakdown_takes_greedily_in_the_templates_order():
    units = [("company", ("tank",), 10), ("platoon", ("tank",), 3), ("battery", ("sp", "towed"), 6),
             ("section", ("sp", "towed"), 3)]
    made = estimate_result.RunOutput._make_breakdown(units, ("tank", "sp", "towed"), (24, 4, 7))
    assert made == [{"unit": "company", "count": 2, "size": 10}, {"unit": "platoon", "count": 1, "size": 3},
                    {"unit": "battery", "count": 1, "size": 6}, {"unit": "section", "count": 1, "size": 3},
                    {"unit": "remainder", "category": "tank", "vehicles": 1},
                    {"unit": "remainder", "category": "towed", "vehicles": 2}]
    assert estimate_result.RunOutput._make_breakdown(units[:1], ("tank",), (9,)) == [
        {"unit": "remainder", "category": "tank", "vehicles": 9}]
