"""orbat.confidence: which templates give the winner's answer and so count in its confidence."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from orbat.confidence import answer_echelons, combine


def _combine(mean):
    mean = np.asarray(mean, dtype=np.float64)
    n, n_t = mean.shape
    ranks = np.full(n_t, 3, dtype=np.int64)  # every template a platoon (rank 3) of one kind
    answer = answer_echelons(mean, ranks, np.full(n, -1), 0.5, 1)
    return combine(mean, answer, ranks, np.zeros(n_t, dtype=np.int64), np.ones(n))


def test_a_ruled_out_template_is_not_the_same_answer():
    # Convoy 0: nothing fits (every score 0); convoy 1: the first fits, the second is ruled out.
    answers = _combine([[0.0, 0.0, 0.0], [0.9, 0.0, 0.6]])
    assert answers.same_answer[0].tolist() == [True, False, False]  # the winner is the estimate itself
    assert answers.same_answer[1].tolist() == [True, False, True]
    assert answers.confidence[0] == answers.probability[0, 0]


@given(st.lists(st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0]), min_size=3, max_size=3),
                min_size=1, max_size=5))
def test_same_answer_needs_a_score_above_zero_unless_it_is_the_winner(rows):
    mean = np.asarray(rows)
    answers = _combine(mean)
    best = answers.order[:, 0]
    for i in range(len(rows)):
        for j in range(3):
            if j != best[i] and answers.same_answer[i, j]:
                assert mean[i, j] > 0
        assert answers.same_answer[i, best[i]]
        assert answers.confidence[i] >= answers.probability[i, best[i]] - 1e-12
