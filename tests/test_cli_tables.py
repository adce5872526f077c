"""The plain-text tables of many rows (orbat/cli/tables.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orbat.cli.tables import plain_table

HEADERS = ("convoy", "vehicles", "top reason")


def test_columns_are_aligned_and_the_last_cut_to_the_width():
    lines = plain_table(HEADERS, [["a", "12-14", "pass: tank count 10 within 10-14"], ["convoy-long", "3", "x"]],
                        width=40)
    assert lines == [
        "convoy       vehicles  top reason",
        "-----------  --------  ----------",
        "a            12-14     pass: tank count ...",
        "convoy-long  3         x",
    ]


def test_control_characters_never_reach_the_output():
    lines = plain_table(HEADERS, [["\x1b[31mred", "1", "fail: \x07bell"]])
    assert not any(ch in "".join(lines) for ch in "\x1b\x07")
    assert lines[2].startswith("?[31mred")


@given(st.lists(st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
                         min_size=3, max_size=3), max_size=20))
def test_every_cell_starts_where_its_header_does(rows):
    lines = plain_table(HEADERS, rows)
    assert len(lines) == len(rows) + 2
    starts = [lines[0].index(h) for h in HEADERS]
    for line, row in zip(lines[2:], rows):
        for start, cell, nxt in zip(starts, row, [*starts[1:], None]):
            # A line's trailing spaces are cut (blank cells at its end included): pad them back.
            line = line.ljust(start + len(cell))
            assert line[start:start + len(cell)] == cell
            if nxt is not None:  # padded with spaces up to the next column
                assert line[start + len(cell):nxt].strip() == ""
