"""orbat.grouping gives what np.unique gives (it only finds it by one sort)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from orbat.grouping import concat_ranges, distinct, distinct_counts, distinct_inverse, distinct_rows, groups, run_starts

columns = hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-5, 5))


@given(columns)
def test_distinct_and_counts_as_np_unique(values):
    expected, counts = np.unique(values, return_counts=True)
    assert distinct(values).tolist() == expected.tolist()
    got, got_counts = distinct_counts(values)
    assert got.tolist() == expected.tolist() and got_counts.tolist() == counts.tolist()


@given(columns)
def test_distinct_inverse_as_np_unique(values):
    expected, inverse = np.unique(values, return_inverse=True)
    got, got_inverse = distinct_inverse(values)
    assert got.tolist() == expected.tolist()
    assert got_inverse.tolist() == inverse.reshape(-1).tolist()


@given(columns)
def test_groups_as_flatnonzero(values):
    assert [(v, idx.tolist()) for v, idx in groups(values)] == [
        (v, np.flatnonzero(values == v).tolist()) for v in np.unique(values).tolist()]


@given(st.integers(1, 4).flatmap(
    lambda width: hnp.arrays(np.int64, st.tuples(st.integers(0, 40), st.just(width)), elements=st.integers(-2, 2))))
def test_distinct_rows_as_np_unique_axis0(rows):
    first, inverse = distinct_rows(rows)
    if not len(rows):
        assert len(first) == 0 and len(inverse) == 0
        return
    _, expected_first, expected_inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    assert first.tolist() == expected_first.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 6)), max_size=20))
def test_runs_as_python_loops(pairs):
    starts = np.array([s for s, _ in pairs], dtype=np.int64)
    lengths = np.array([n for _, n in pairs], dtype=np.int64)
    assert concat_ranges(starts, lengths).tolist() == [i for s, n in pairs for i in range(s, s + n)]
    assert run_starts(lengths).tolist() == [sum(n for _, n in pairs[:k]) for k in range(len(pairs))]
