"""The estimator's tabulated rule scores (used for the count scenarios) are the direct scores, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from orbat.convoy import FeatureSpace
from orbat.doctrine import load_doctrine
from orbat.estimate import _score, _Tables
from orbat.rules import RULES, Features, TotalRange, _range_outcome, register

DOCTRINE = load_doctrine()
IDS = list(DOCTRINE.templates)
SPACE = FeatureSpace.build(DOCTRINE.families(), DOCTRINE.types())


def _matrix(seed: int, rows: int = 3000, top: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, top, size=(rows, len(SPACE))).astype(np.float64)
    matrix[rng.random(matrix.shape) < 0.6] = 0.0  # most types absent, as in real convoys
    total = SPACE.index("total")
    others = [i for i in range(len(SPACE)) if i != total]
    matrix[:, total] = matrix[:, others].sum(axis=1) // 3
    return matrix


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tabulated_scores_equal_direct_scores(seed):
    matrix = _matrix(seed)
    upper = matrix.max(axis=0, keepdims=True)
    tables = _Tables(DOCTRINE, IDS, SPACE, upper, limit=1 << 20)
    assert any(t is not None for t in tables.tables.values())  # some rules really are looked up
    direct = _score(DOCTRINE, IDS, Features(matrix, SPACE.columns)).score
    assert np.array_equal(tables.score(tables.of(matrix)).T, direct)


def test_values_beyond_the_tables_are_scored_directly():
    matrix = _matrix(3)
    tables = _Tables(DOCTRINE, IDS, SPACE, matrix[:1] * 0, limit=1 << 20)  # bounds far too small
    direct = _score(DOCTRINE, IDS, Features(matrix, SPACE.columns)).score
    assert np.array_equal(tables.score(tables.of(matrix)).T, direct)


def test_a_rule_reading_the_matrix_is_evaluated_on_it():
    if "test-matrix-total" not in RULES:
        @register("test-matrix-total", TotalRange, lambda p, v, ok: "total")
        def matrix_total(f, p):
            """Reads the matrix itself, not through count/column."""
            return _range_outcome(f.matrix[:, f.columns["total"]], p.min, p.max, share=False)

    matrix = _matrix(4)
    direct = _score(DOCTRINE, IDS, Features(matrix, SPACE.columns)).score
    renamed = []
    try:
        for rules in DOCTRINE.compiled.values():
            for rule in rules:
                if rule.rule == "total-in-range":
                    rule.rule = "test-matrix-total"
                    renamed.append(rule)
        tables = _Tables(DOCTRINE, IDS, SPACE, matrix.max(axis=0, keepdims=True), limit=1 << 20)
        assert not tables.matrix_free
        assert np.array_equal(tables.score(tables.of(matrix), matrix).T, direct)
    finally:
        for rule in renamed:
            rule.rule = "total-in-range"
        RULES.pop("test-matrix-total", None)


@pytest.fixture(scope="module")
def varied(catalog, tmp_path_factory):
    """300 synthetic convoys (the benchmark generator): count ranges, sampled and enumerated convoys."""
    from benchmarks.generate import generate_csv
    from orbat.sightings import read_sightings

    path = generate_csv(tmp_path_factory.mktemp("varied") / "convoys.csv", convoys=300, seed=11, catalog=catalog)
    return read_sightings(path, catalog)


@pytest.mark.parametrize("limit", [0, 1 << 12])
def test_the_table_size_limit_changes_no_number(varied, catalog, monkeypatch, limit):
    """Rules over grids beyond the limit (all of them, or the big ones) are scored directly: the same numbers."""
    from orbat import estimate

    def _numbers(run):
        return run.wins.tobytes(), run.mean.tobytes(), run.order.tobytes(), run.confidence.tobytes()

    default = estimate.run_estimator(varied, catalog, DOCTRINE, samples=200)
    monkeypatch.setattr(estimate, "_table_limit", lambda convoys, samples: limit)
    assert _numbers(estimate.run_estimator(varied, catalog, DOCTRINE, samples=200)) == _numbers(default)


def test_scenario_chunks_and_their_order_do_not_change_any_number(varied, catalog, monkeypatch):
    """Many small chunks, scored one after the other, last first: the very numbers of the default run."""
    from orbat import estimate

    def _numbers(run):
        return run.wins.tobytes(), run.mean.tobytes(), run.order.tobytes(), run.confidence.tobytes()

    default = estimate.run_estimator(varied, catalog, DOCTRINE, samples=40)
    assert (default.wins[np.arange(len(default.wins)), default.order[:, 0]] < 1).sum() > 10  # really sampled

    def backwards(work, chunks):
        for first, last in reversed(chunks):
            work(first, last)

    monkeypatch.setattr(estimate, "CHUNK", 37)
    monkeypatch.setattr(estimate, "_run_chunks", backwards)
    assert _numbers(estimate.run_estimator(varied, catalog, DOCTRINE, samples=40)) == _numbers(default)
    monkeypatch.setattr(estimate, "_PATTERN_BITS", 3)  # the grouping of doctrines with many templates
    assert _numbers(estimate.run_estimator(varied, catalog, DOCTRINE, samples=40)) == _numbers(default)


def test_one_thread_s_larger_chunks_change_no_number(varied, catalog, monkeypatch):
    """On one thread the chunks are ONE_THREAD_CHUNKS times larger: the numbers of two threads' chunks."""
    from orbat import estimate

    def _numbers(run):
        return run.wins.tobytes(), run.mean.tobytes(), run.order.tobytes(), run.confidence.tobytes()

    monkeypatch.setattr(estimate, "CHUNK", 41)
    sizes = []
    searched = np.searchsorted

    def spy(a, v, *args, **kwargs):  # the chunk starts score_blocks asks for: arange(0, total, size)
        if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) > 1 and v[0] == 0:
            sizes.append(int(v[1]))
        return searched(a, v, *args, **kwargs)

    monkeypatch.setattr(estimate.np, "searchsorted", spy)
    runs = {}
    for threads in (1, 2):
        monkeypatch.setattr(estimate, "free_cpus", lambda most=None, threads=threads: threads)
        sizes.clear()
        runs[threads] = _numbers(estimate.run_estimator(varied, catalog, DOCTRINE, samples=40))
        assert 41 * estimate.ONE_THREAD_CHUNKS ** (threads == 1) in sizes
    assert runs[1] == runs[2]


def test_the_pattern_order_keys_equal_rows_alike_and_puts_rare_templates_first():
    from orbat import estimate

    rng = np.random.default_rng(5)
    alive = rng.random((300, 9)) < np.linspace(0.05, 0.9, 9)  # template 0 the rarest
    rows = [r.tobytes() for r in alive]
    for bits in (62, 3):  # one whole number, and packed bytes
        estimate._PATTERN_BITS, before = bits, estimate._PATTERN_BITS
        try:
            key = estimate._pattern_order(alive)
        finally:
            estimate._PATTERN_BITS = before
        for i in range(0, 300, 7):
            assert ((key == key[i]) == np.array([r == rows[i] for r in rows])).all()
        ordered = alive[np.argsort(key, kind="stable")]
        assert (np.diff(ordered[:, 0].astype(int)) >= 0).all()  # the rarest template's rows together, last


@pytest.mark.parametrize("seed", [3, 4])
def test_a_template_ruled_out_for_a_box_of_counts_scores_0_everywhere_in_it(seed):
    """_Tables.possible: False only where every count between low and high scores the template exactly 0."""
    rng = np.random.default_rng(seed)
    low = np.floor(_matrix(seed, rows=400, top=30) * rng.random((400, len(SPACE))))
    high = _matrix(seed, rows=400, top=30)
    high = np.maximum(high, low)
    tables = _Tables(DOCTRINE, IDS, SPACE, high.max(axis=0, keepdims=True), limit=1 << 20)
    q_low, q_high = tables.of(low), tables.of(high)
    possible = tables.possible(q_low, q_high)
    assert (~possible).mean() > 0.3  # most templates are ruled out for most boxes
    assert possible.any(axis=0).sum() > len(IDS) // 2
    for _ in range(25):  # points of each box, corners included
        pick = rng.random(q_low.shape)
        point = np.where(pick < 0.2, q_low, np.where(pick > 0.8, q_high, q_low + np.floor(
            rng.random(q_low.shape) * (q_high - q_low + 1))))
        point = np.minimum(point, q_high)
        scores = tables.score(point).T
        assert (scores[~possible] == 0).all()
    # With the ruled-out templates left out the scores are the same numbers.
    live, compact = tables.score_live(q_high, only=possible.any(axis=0))
    full = tables.score(q_high)
    assert np.array_equal(full[live], compact)
    assert (np.delete(full, live, axis=0) == 0).all()


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_the_pairs_of_the_kept_quantities_add_what_each_row_adds(seed):
    """_PairLayout.added: per kept quantity and scenario, the sum of its rows' offsets times what a vehicle adds."""
    from orbat.estimate import _PairLayout

    rng = np.random.default_rng(seed)
    kinds, quantities, rows, scenarios = 30, 20, 2000, 150
    per_vehicle = rng.integers(0, 3, size=(kinds, quantities)) * (rng.random((kinds, quantities)) < 0.3)
    per_vehicle[0] = 0  # a kind that adds to none of them
    need = rng.random(quantities) < 0.5
    carried_q = np.flatnonzero(rng.random(quantities) < 0.3)
    layout = _PairLayout.build(per_vehicle, need, carried_q, np.ones(len(carried_q)))
    kind = rng.integers(0, kinds, size=rows)
    scenario = rng.integers(0, scenarios, size=rows)
    offset = rng.integers(0, 9, size=rows).astype(np.float64)
    expected = np.zeros((quantities, scenarios))
    np.add.at(expected.T, scenario, offset[:, None] * per_vehicle[kind])
    assert np.array_equal(layout.which, np.flatnonzero(need))
    assert np.array_equal(layout.added(kind, scenario, offset, scenarios), expected[need])
    assert [q for q, _ in layout.carried] == [int(np.searchsorted(layout.which, q)) for q in carried_q if need[q]]
    # Rows that add to none of the kept quantities (here: kind 0 only) add zeros, as numbers.
    none = layout.added(np.zeros(rows, dtype=np.intp), scenario, offset, scenarios)
    assert none.dtype == np.float64 and none.shape == (need.sum(), scenarios) and not none.any()


def test_scoring_from_only_the_quantities_the_templates_read_gives_the_same_numbers():
    matrix = _matrix(8)
    tables = _Tables(DOCTRINE, IDS, SPACE, matrix.max(axis=0, keepdims=True), limit=1 << 20)
    quantities = tables.of(matrix)
    rng = np.random.default_rng(8)
    for _ in range(5):
        only = rng.random(len(IDS)) < 0.3
        which = np.flatnonzero(tables.needs[only].any(axis=0))
        assert len(which) < len(tables.quantities)
        live, compact = tables.score_live(quantities, bounded=True, only=only)
        live_w, compact_w = tables.score_live(quantities[which], bounded=True, only=only, which=which)
        assert np.array_equal(live, live_w) and np.array_equal(compact, compact_w)


def test_chunks_stay_on_the_calling_thread_when_every_cpu_is_busy(monkeypatch):
    import os
    import threading

    from orbat import estimate

    def threads_used(load: float) -> set[int]:
        seen: set[int] = set()
        lock = threading.Lock()

        def work(first, last):
            with lock:
                seen.add(threading.get_ident())

        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
        estimate._run_chunks(work, [(i, i + 1) for i in range(64)])
        return seen

    assert threads_used(2.0) == {threading.get_ident()}
    assert threading.get_ident() not in threads_used(0.1)  # (a pool of two runs them)


@pytest.mark.parametrize("seed", [0, 1])
def test_what_the_rules_read_does_not_depend_on_the_convoys(seed):
    """The reads found once on a row of zeros (RuleReads) are those each rule reads on real convoys."""
    from orbat.estimate import RuleReads
    from orbat.rules import ReadRecorder

    reads = RuleReads(DOCTRINE, IDS, SPACE)
    matrix = _matrix(seed, rows=50)
    for (tid, k), found in reads.reads.items():
        recorder = ReadRecorder(matrix, SPACE.columns)
        DOCTRINE.compiled[tid][k].evaluate(recorder)
        assert found == (list(recorder.read) or None)


def test_reads_found_once_give_every_block_the_numbers_of_its_own(varied, catalog):
    """Blocks given one RuleReads (as --jobs gives them) score as blocks that find it themselves."""
    from orbat.estimate import RuleReads, run_estimator

    def _numbers(run):
        return run.wins.tobytes(), run.mean.tobytes(), run.order.tobytes(), run.confidence.tobytes()

    reads = RuleReads.of(DOCTRINE)
    keys = sorted(set(varied["convoy"].dropna()))
    for part in (keys[:100], keys[100:]):
        block = varied[varied["convoy"].isin(part)]
        assert _numbers(run_estimator(block, catalog, DOCTRINE, samples=100, reads=reads)) == \
            _numbers(run_estimator(block, catalog, DOCTRINE, samples=100))


def test_reads_of_another_doctrine_are_not_used(varied, catalog):
    """RuleReads made for another doctrine object is ignored (found anew): the same numbers."""
    from orbat.estimate import RuleReads, _Tables

    other = RuleReads.of(load_doctrine())
    assert not other.serves(DOCTRINE, IDS, SPACE)
    tables = _Tables(DOCTRINE, IDS, SPACE, _matrix(5).max(axis=0, keepdims=True), limit=1 << 20, reads=other)
    assert tables.rules == {tid: DOCTRINE.compiled[tid] for tid in IDS}
    assert tables.reads is not other.reads


def test_pairs_of_no_kept_quantity_and_rows_without_pairs_add_nothing():
    """PairLayout: a layout keeping no quantity sums to a 0 x n array; rows of a kind with no pairs add nothing."""
    from orbat.scenario_sums import PairLayout

    per_vehicle = np.array([[0, 2, 1], [0, 0, 0], [1, 0, 1]])
    empty = PairLayout.build(per_vehicle, np.zeros(3, dtype=bool), np.zeros(0, dtype=np.int64), np.zeros(0))
    assert empty.added(np.array([0, 2]), np.array([0, 1]), np.array([1.0, 2.0]), 2).shape == (0, 2)
    layout = PairLayout.build(per_vehicle, np.ones(3, dtype=bool), np.zeros(0, dtype=np.int64), np.zeros(0))
    assert not layout.unit  # (kind 0 adds 2 to quantity 1)
    kinds, scenario, offset = np.array([1, 0, 1, 2, 1]), np.array([0, 0, 1, 1, 2]), np.array([5.0, 3.0, 4.0, 2.0, 7.0])
    expected = np.array([[0.0, 2.0, 0.0], [6.0, 0.0, 0.0], [3.0, 2.0, 0.0]])
    assert np.array_equal(layout.added(kinds, scenario, offset, 3), expected)
