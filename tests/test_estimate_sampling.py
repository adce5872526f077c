"""Adaptive sampling of the count scenarios: a first batch of draws, the rest only where the scores are unsettled."""

from __future__ import annotations

import numpy as np
import pytest

from orbat import estimate
from orbat.doctrine import load_doctrine

DOCTRINE = load_doctrine()


@pytest.fixture(scope="module")
def varied(catalog, tmp_path_factory):
    """300 synthetic convoys (the benchmark generator): exact, enumerated and sampled count ranges."""
    from benchmarks.generate import generate_csv
    from orbat.sightings import read_sightings

    path = generate_csv(tmp_path_factory.mktemp("sampling") / "convoys.csv", convoys=300, seed=11, catalog=catalog)
    return read_sightings(path, catalog)


@pytest.fixture(scope="module")
def adaptive(varied, catalog):
    return estimate.run_estimator(varied, catalog, DOCTRINE, samples=200)


def _run_with(varied, catalog, name: str, value):
    saved = getattr(estimate, name)
    setattr(estimate, name, value)
    try:
        return estimate.run_estimator(varied, catalog, DOCTRINE, samples=200)
    finally:
        setattr(estimate, name, saved)


@pytest.fixture(scope="module")
def full(varied, catalog):
    """The plain 200-draw estimate: every convoy's draws in one batch (a first batch larger than the draws)."""
    return _run_with(varied, catalog, "FIRST_DRAWS", 10_000)


@pytest.fixture(scope="module")
def never_settled(varied, catalog):
    """Two batches, but no convoy ever settled after the first."""
    return _run_with(varied, catalog, "SETTLED_ERROR", -1.0)


def _sampled(run, samples: int) -> np.ndarray:
    """Which convoys' scenarios are drawn (more of them than ``samples``), not enumerated."""
    plan = estimate._plan_scenarios(run.table, samples, 0)
    out = np.zeros(len(run.table), dtype=bool)
    out[plan.targets[plan.sampled]] = True
    return out


def test_first_batch_is_a_quarter_of_the_draws_and_at_least_fifty():
    assert estimate.first_batch(200) == 50
    assert estimate.first_batch(1000) == 250
    assert estimate.first_batch(100) == 50
    assert estimate.first_batch(99) == 99  # too few to split: all at once
    assert estimate.first_batch(20) == 20


def test_some_convoys_stop_after_the_first_batch_and_others_get_every_draw(adaptive, full):
    sampled = _sampled(adaptive, 200)
    stopped = adaptive.draws == estimate.first_batch(200)
    assert set(np.unique(adaptive.draws[sampled])) == {estimate.first_batch(200), 200}
    assert stopped.sum() >= 10
    assert (adaptive.draws[sampled] == 200).sum() >= 10
    # Without early stops every sampled convoy gets all its draws; the others are as they were.
    assert (full.draws[sampled] == 200).all()
    assert (adaptive.draws[~sampled] == full.draws[~sampled]).all()


def test_two_batches_add_up_to_the_one_batch_numbers(never_settled, full):
    assert (never_settled.draws == full.draws).all()
    np.testing.assert_allclose(never_settled.mean, full.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(never_settled.wins, full.wins, rtol=0, atol=1e-12)


def test_a_convoy_given_every_draw_has_the_numbers_of_the_full_run(adaptive, full):
    same = adaptive.draws == full.draws
    assert same.sum() > len(same) // 2
    np.testing.assert_allclose(adaptive.mean[same], full.mean[same], rtol=0, atol=1e-12)
    np.testing.assert_allclose(adaptive.wins[same], full.wins[same], rtol=0, atol=1e-12)


def test_a_stopped_convoy_is_within_the_stated_error_of_the_full_run(adaptive, full):
    stopped = _sampled(adaptive, 200) & (adaptive.draws == estimate.first_batch(200))
    gap = np.abs(adaptive.mean[stopped] - full.mean[stopped]).max(axis=1)
    # One standard error of the first batch is at most SETTLED_ERROR; five is far beyond chance.
    assert gap.max() <= 5 * estimate.SETTLED_ERROR
    # A stopped convoy's scores hardly vary, so its answer is the full run's.
    assert (adaptive.order[stopped, 0] == full.order[stopped, 0]).mean() >= 0.98


def test_a_convoy_is_sampled_the_same_alone_as_among_others(varied, catalog, adaptive):
    names = adaptive.table.convoys
    picked = [i for i in range(len(names)) if adaptive.draws[i] in (estimate.first_batch(200), 200)][:6]
    assert {int(adaptive.draws[i]) for i in picked} == {estimate.first_batch(200), 200}
    for i in picked:
        alone = estimate.run_estimator(varied, catalog, DOCTRINE, samples=200, convoys=[names[i]])
        assert alone.draws[0] == adaptive.draws[i]
        np.testing.assert_array_equal(alone.mean[0], adaptive.mean[i])
        np.testing.assert_array_equal(alone.wins[0], adaptive.wins[i])


def test_few_samples_are_drawn_in_one_batch(varied, catalog):
    run = estimate.run_estimator(varied, catalog, DOCTRINE, samples=60)
    sampled = _sampled(run, 60)
    assert sampled.sum() >= 10
    assert (run.draws[sampled] == 60).all()


def test_chunks_and_their_order_do_not_change_the_adaptive_numbers(varied, catalog, adaptive, monkeypatch):
    def backwards(work, chunks):
        for first, last in reversed(chunks):
            work(first, last)

    monkeypatch.setattr(estimate, "CHUNK", 37)
    monkeypatch.setattr(estimate, "_run_chunks", backwards)
    again = estimate.run_estimator(varied, catalog, DOCTRINE, samples=200)
    for name in ("wins", "mean", "order", "confidence", "draws"):
        assert getattr(again, name).tobytes() == getattr(adaptive, name).tobytes(), name


def test_the_sampled_indicator_counts_the_random_draws_an_estimate_rests_on(adaptive):
    """50 for a convoy its first batch settled, 200 for the others drawn; 0 for exact or enumerated counts."""
    from orbat.estimate import ConvoyEstimate

    said = np.array([ConvoyEstimate(adaptive, i).indicators["sampled"] for i in range(len(adaptive.table))])
    drawn = adaptive.drawn
    assert set(said[drawn].tolist()) <= {estimate.first_batch(200), 200}
    assert (said[~drawn] == 0).all()
    # the benchmark generator gives all three kinds of convoy
    assert drawn.any() and (~drawn).any() and (said[drawn] == estimate.first_batch(200)).any()
    assert (adaptive.draws[~drawn] >= 1).all()
