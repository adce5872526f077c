"""The grades' noise per row does not depend on how the grade column is stored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orbat.observation import COUNT_ERROR, MISIDENTIFICATION, count_error, misidentification


def test_a_numeric_credibility_column_gives_the_same_count_errors_as_its_values():
    column = pd.Series([1, None, 6, 3, None, 2, 9], dtype="Int64")
    expected = [COUNT_ERROR.get(v, COUNT_ERROR[None]) for v in (1, None, 6, 3, None, 2, 9)]
    assert count_error(column).tolist() == expected
    assert count_error(column.to_numpy(dtype=object)).tolist() == expected
    assert count_error(column.astype("float64")).tolist() == expected


def test_reliability_letters_in_any_case_and_unknown_ones():
    column = pd.Series(["a", "B", None, "Z", "", "F"], dtype="str")
    got = misidentification(column)
    default = MISIDENTIFICATION[None]
    assert got.tolist() == [MISIDENTIFICATION["A"], MISIDENTIFICATION["B"], default, default,
                            MISIDENTIFICATION.get("", default), MISIDENTIFICATION["F"]]
    assert np.array_equal(got, misidentification(column.to_numpy(dtype=object)))
