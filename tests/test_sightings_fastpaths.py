"""The fast paths of reading a big file give what the plain per-value and per-chunk ones give.

Reading and validating a sightings file works per distinct value, and the
usual column (coordinates, dates, plain text) is checked in one go; a value
the fast path is unsure of sends the whole column back to the per-value
parser, which gives the message. These tests hold the two to the same answers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbat.cells import dates_at_once, numbers_at_once, parse_number, parse_observed_at
from orbat.formats import csv as csv_format
from orbat.sightings import _blank_values, _clean, _cleaned, read_sightings

TODAY = dt.date(2026, 12, 1)
numberish = st.text(alphabet="0123456789+-.,eE \n\u0661\uff11x", max_size=8)
dateish = st.one_of(
    st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2100, 1, 1)).map(dt.date.isoformat),
    st.datetimes(min_value=dt.datetime(1890, 1, 1)).map(lambda d: d.isoformat(sep=" " if d.second % 2 else "T")),
    st.text(alphabet="0123456789-T:Z+. ", max_size=26),
)


def _per_value(texts, parse):
    results = [parse(t) for t in texts]
    return [r[0] for r in results], [r[1] for r in results]


@settings(max_examples=300, deadline=None)
@given(st.lists(numberish, max_size=12))
def test_numbers_at_once_agree_with_parse_number(texts):
    array = np.array([t.strip() for t in texts], dtype=object)
    values, errors = _per_value(array, lambda t: parse_number(t, -90, 90))
    fast = numbers_at_once(array, -90, 90)
    if fast is not None:  # the fast path answers only when no value is refused
        assert all(e is None for e in errors)
        assert [repr(v) for v in fast] == [repr(v) for v in values]  # repr: -0.0 stays -0.0


def test_numbers_at_once_takes_the_usual_column():
    texts = np.array(["49.038540", "-0,5", "", "+7", "007.50", ".5", "3."], dtype=object)
    assert list(numbers_at_once(texts, -90, 90)) == [49.03854, -0.5, None, 7.0, 7.5, 0.5, 3.0]
    # refused or unsure: the per-value parser decides (and says why)
    for odd in ("91", "1e1", "\u0661", "1.2.3", "nan", "1_0"):
        assert numbers_at_once(np.array(["1", odd], dtype=object), -90, 90) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(dateish, max_size=10))
def test_dates_at_once_agree_with_parse_observed_at(texts):
    array = np.array([t.strip() for t in texts], dtype=object)
    values, errors = _per_value(array, lambda t: parse_observed_at(t, TODAY))
    fast = dates_at_once(array, TODAY)
    if fast is not None:
        assert all(e is None for e in errors)
        assert list(fast) == values


def test_dates_at_once_takes_the_usual_column():
    texts = np.array(["2024-01-02", "", "2024-01-02 10:00:00", "2024-01-02T10:00+02:00"], dtype=object)
    assert list(dates_at_once(texts, TODAY)) == ["2024-01-02", None, "2024-01-02T10:00:00", "2024-01-02T08:00:00"]
    for odd in ("2024-02-30", "2099-01-01", "1899-12-31", "2024-1-2"):
        assert dates_at_once(np.array(["2024-01-02", odd], dtype=object), TODAY) is None


@given(st.lists(st.text(alphabet=" '=+ab\t\n", max_size=5), max_size=10))
def test_cleaned_agrees_with_clean(texts):
    array = np.array(texts, dtype=object)
    assert list(_cleaned(array, True)) == [_clean(t) for t in texts]
    assert list(_blank_values(array)) == [not t.strip() for t in texts]


def test_blank_values_of_numbers():
    assert list(_blank_values(np.array([" ", 3, 0.5, ""], dtype=object))) == [True, False, False, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "", "c", None]), max_size=30), min_size=1, max_size=3),
       st.booleans())
def test_chunks_coded_by_object_then_joined_are_factorize(chunks, shared):
    # the C parser hands back one object per distinct text of a chunk; other readers may not
    objects = {c: c for c in ("a", "b", "", "c")}
    arrays = [np.array([np.nan if c is None else (objects[c] if shared else "".join(list(c))) for c in cells],
                       dtype=object) for cells in chunks]
    pieces = []
    for array in arrays:
        codes, found = csv_format._code_objects(array)
        text = [None if c < 0 or isinstance(v, float) else v for v, c in zip(found[np.maximum(codes, 0)], codes)]
        assert text == [None if isinstance(v, float) else v for v in array]  # NaN: a missing cell
        pieces.append((codes, found))
    joined = csv_format._joined_codes(pieces)
    expected_codes, expected_uniques = pd.factorize(np.concatenate(arrays))
    assert joined.codes.tolist() == expected_codes.tolist()
    assert list(joined.categories) == list(expected_uniques)


def test_chunks_join_to_the_frame_of_one_read(tmp_path, monkeypatch, catalog):
    header = "sighting_id,observed_at,equipment,count,lat,lon,notes"
    rows = [f"s{i % 7},2024-01-0{1 + i % 7},BTR-60PB,{1 + i % 3},{i % 5}.5,1,{'n' * (i % 4)}" for i in range(40)]
    rows[11] = "s4,2024-01-05"  # a short row across a chunk's end
    rows[12] = ""  # a blank row
    rows[25] = "s9,2024-01-05,T-72B3,2,,,new in a later chunk"
    path = tmp_path / "chunks.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    whole = csv_format.read_csv(path, [], None)
    monkeypatch.setattr(csv_format, "CHUNK_ROWS", 3)
    chunked = csv_format.read_csv(path, [], None)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert chunked["notes"].cat.categories.tolist() == ["notes", "", "n", "nn", "nnn", "new in a later chunk"]
    with pytest.raises(Exception, match="row 13"):  # the short row: equipment and count required
        read_sightings(path, catalog, today=TODAY)


_TEXT = "sighting_id,observed_at,equipment,count,place\ns1,2024-01-01,BTR-60PB,1,{place}\n"


@pytest.mark.parametrize("content", [
    _TEXT.format(place="Mopti").encode(),
    _TEXT.format(place="Ségou – Mopti").encode(),
    b"\xef\xbb\xbf" + _TEXT.format(place="Ségou").encode(),
    _TEXT.format(place="Ségou").encode("cp1252"),  # not UTF-8: read as Windows-1252, with a note
    _TEXT.format(place="G\x81o").encode("latin-1"),  # neither
    _TEXT.format(place="Gao").encode() + b"\xc3",  # a character cut short at the end
    _TEXT.format(place="G\xe9o").encode("latin-1").replace(b"count,", b"count,x,"),  # ragged, and not UTF-8
    b" " * 5000 + b"\n\x81\n",  # blank at first sight, then bytes no encoding takes
    b" " * 5000 + b"\n\xe9\n",
    _TEXT.format(place="G\xe9o").encode("cp1252") + b"\x00",  # a NUL byte after a Windows-1252 one
    _TEXT.format(place="Gao").encode("utf-16"),
])
def test_the_plain_utf8_read_gives_what_the_checked_read_gives(tmp_path, content):
    """read_csv parses the usual file as UTF-8 without a decoding pass first; the result is the checked one's."""
    path = tmp_path / "file.csv"
    path.write_bytes(content)

    def outcome(read):
        notes: list[str] = []
        try:
            return read(notes), notes
        except Exception as exc:  # noqa: BLE001  (the error is the outcome compared)
            return f"{type(exc).__name__}: {exc}", notes

    def checked(notes):
        encoding, note = csv_format._check_encoding(path, path.stat().st_size)
        notes.extend([note] if note else [])
        return csv_format._read_text(path, encoding, path.stat().st_size, None)

    fast, fast_notes = outcome(lambda notes: csv_format.read_csv(path, notes, None))
    slow, slow_notes = outcome(checked)
    assert fast_notes == slow_notes
    if isinstance(slow, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    else:
        assert fast == slow


def test_only_the_names_of_rows_are_resolved(tmp_path, catalog, monkeypatch):
    """The header's word 'equipment' is among the CSV column's values, but no row's: it is not resolved."""
    path = tmp_path / "exact.csv"
    path.write_text("sighting_id,observed_at,equipment,count\ns1,2024-01-01,BTR-60PB,1\n", encoding="utf-8")
    asked: list[str] = []
    lookup = type(catalog).lookup
    monkeypatch.setattr(type(catalog), "lookup", lambda self, name: asked.append(name) or lookup(self, name))
    frame = read_sightings(path, catalog, today=TODAY)
    assert frame["equipment"].tolist() == ["BTR-60PB"]
    assert "equipment" not in asked and "BTR-60PB" in asked
