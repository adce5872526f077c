"""A coded canonical frame (rows made when taken) gives the frame, blocks and block rows of the plain one."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.coded_frame import CodedFrame
from orbat.estimate_stream import ConvoyBlocks, cut_for
from orbat.sightings import raw_from_records, read_sightings, validate_frame

TODAY = dt.date(2026, 12, 1)
SIGHTINGS = ["s1", "s2", "s3", "a"]
#: Convoy cells: missing, spaced, one named like a sighting (its key is that sighting's too).
CONVOYS = ["", "a", " a ", "b", "s2", "ä"]


def _assert_same_blocks(plain: pd.DataFrame, coded, jobs: int) -> None:
    left, right = ConvoyBlocks(plain), ConvoyBlocks(coded)
    assert left._index.tolist() == right._index.tolist()
    assert (left.convoys, left.estimated) == (right.convoys, right.estimated)
    assert cut_for(left, jobs) == cut_for(right, jobs)
    for b in range(left.blocks):
        made, taken = left.frame_of(b), right.frame_of(b)
        pd.testing.assert_frame_equal(made, taken, check_exact=True)
        assert made.index.dtype == taken.index.dtype


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(convoy_of=st.fixed_dictionaries({s: st.sampled_from(CONVOYS) for s in SIGHTINGS}),
       rows=st.lists(st.tuples(st.sampled_from(SIGHTINGS), st.sampled_from(["sighting", "destroyed", "", "arrival"]),
                               st.sampled_from(["3", "1", "x"]), st.sampled_from(["T-72B3", "BMP-3"])),
                     min_size=1, max_size=25),
       jobs=st.integers(1, 3))
def test_the_coded_frame_gives_the_plain_frame_and_blocks(catalog, convoy_of, rows, jobs):
    """Refused rows, rows that add up, missing convoys: the frame and every block's rows are the same."""
    records = [{"sighting_id": s, "convoy": convoy_of[s], "observed_at": "2025-01-17", "equipment": name,
                "count": count, "event": event} for s, event, count, name in rows]
    raw = raw_from_records(records)
    plain, problems = validate_frame(raw, catalog, source="x", first_row=2, today=TODAY)
    coded, coded_problems = validate_frame(raw, catalog, source="x", first_row=2, today=TODAY, coded=True)
    assert [str(p) for p in problems] == [str(p) for p in coded_problems]
    whole = coded.frame() if isinstance(coded, CodedFrame) else coded
    pd.testing.assert_frame_equal(plain, whole, check_exact=True)
    assert len(coded) == len(plain) and coded.empty == plain.empty
    _assert_same_blocks(plain, coded, jobs)


def test_a_file_read_coded_takes_its_rows_as_iloc_does(catalog, mali_csv):
    plain = read_sightings(mali_csv, catalog, today=TODAY)
    coded = read_sightings(mali_csv, catalog, today=TODAY, coded=True)
    assert isinstance(coded, CodedFrame)
    pd.testing.assert_frame_equal(coded.frame(), plain, check_exact=True)
    rows = np.array([0, 2, 3, len(plain) - 1])
    pd.testing.assert_frame_equal(coded.take(rows), plain.iloc[rows], check_exact=True)
    assert coded.take(np.zeros(0, dtype=np.intp)).dtypes.equals(plain.dtypes)
