"""The interchange format: readers, validation rules, the canonical frame, formula escaping."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbat.errors import InputFileError, InvalidSightings, OrbatError
from orbat.sightings import (
    CANONICAL_COLUMNS, COLUMNS, MAX_CELL_CHARS, WITH_SIGHTING, build_sighting, escape_formula_text,
    frame_to_nested, frame_to_records, read_sightings, read_sightings_lenient, read_sightings_located,
    rejects_path, unescape_formula_text, validate_frame, write_rejects,
)

TODAY = dt.date(2025, 6, 1)
HEADER = ",".join(COLUMNS)


def row(**values) -> str:
    base = {"sighting_id": "s1", "observed_at": "2025-01-17", "equipment": "T-72B3", "count": "6"}
    base.update(values)
    cells = []
    for c in COLUMNS:
        v = str(base.get(c, ""))
        cells.append('"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n') else v)
    return ",".join(cells)


def write_csv(tmp_path: Path, *rows: str, name="s.csv", header=HEADER, encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def problems_of(path: Path, cat) -> list:
    with pytest.raises(InvalidSightings) as info:
        read_sightings(path, cat, today=TODAY)
    return info.value.problems


def only(problems, column):
    found = [p for p in problems if p.column == column]
    assert found, [str(p) for p in problems]
    return found


# ---------------------------------------------------------------- a valid file


def test_valid_csv_gives_the_canonical_frame(tmp_path, cat):
    path = write_csv(tmp_path,
                     row(convoy="c1", lat="12.5", lon="-8.1", count_max="7", reliability="B", credibility="2"),
                     row(equipment="БМП-3", count="4", lat="12.5", lon="-8.1", reliability="B", credibility="2",
                         convoy="c1", mode="Carried"))
    frame = read_sightings(path, cat, today=TODAY)
    assert list(frame.columns) == list(CANONICAL_COLUMNS)
    assert frame["equipment_id"].tolist() == ["test-t-72b3", "test-bmp-3"]
    assert frame["equipment"].tolist() == ["T-72B3", "БМП-3"]  # as the analyst wrote it
    assert frame["count"].dtype == "int64" and frame["count"].tolist() == [6, 4]
    assert str(frame["count_max"].dtype) == "Int64" and frame["count_max"].isna().tolist() == [False, True]
    assert str(frame["credibility"].dtype) == "Int64"
    assert frame["lat"].dtype == "float64"
    assert frame["mode"].tolist() == ["driven", "carried"]
    assert frame["event"].tolist() == ["sighting", "sighting"]
    assert frame["place"].isna().all()


def test_the_mali_case_reads_with_the_bundled_catalog(mali_csv, catalog):
    frame = read_sightings(mali_csv, catalog)
    assert len(frame) == 18
    assert frame["sighting_id"].unique().tolist() == ["capmali-video-01", "social-photo-02"]
    # max-merged per type, the convoy totals 112 vehicles
    assert int(frame.groupby("equipment_id")["count"].max().sum()) == 112


def test_optional_columns_may_be_absent_and_headers_are_forgiving(tmp_path, cat):
    path = tmp_path / "s.csv"
    path.write_text(" Sighting_ID ,OBSERVED_AT,Equipment,count\ns1,2025-01-17,T-72B3,3\n", encoding="utf-8")
    frame = read_sightings(path, cat, today=TODAY)
    assert frame["count"].tolist() == [3] and frame["mode"].tolist() == ["driven"]


def test_datetimes_with_a_zone_become_utc(tmp_path, cat):
    path = write_csv(tmp_path, row(observed_at="2025-01-17T10:30+02:00"),
                     row(observed_at="2025-01-17T10:30+02:00", equipment="BMP-3"))
    assert read_sightings(path, cat, today=TODAY)["observed_at"].tolist() == ["2025-01-17T08:30:00"] * 2


def test_combined_grade_is_split(tmp_path, cat):
    frame = read_sightings(write_csv(tmp_path, row(reliability="b2")), cat, today=TODAY)
    assert frame["reliability"].tolist() == ["B"] and frame["credibility"].tolist() == [2]


def test_blank_rows_are_skipped_and_row_numbers_stay_true(tmp_path, cat):
    path = write_csv(tmp_path, row(), ",,,,", "", row(sighting_id="s2", count="x"))
    problems = problems_of(path, cat)
    assert [(p.row, p.column) for p in problems] == [(5, "count")]


# ---------------------------------------------------------------- every rule names row and column


@pytest.mark.parametrize("values, column, words", [
    ({"sighting_id": ""}, "sighting_id", "required"),
    ({"observed_at": ""}, "observed_at", "required"),
    ({"observed_at": "17/01/2025"}, "observed_at", "ISO date"),
    ({"observed_at": "2025-02-30"}, "observed_at", "calendar date"),
    ({"observed_at": "2030-01-01"}, "observed_at", "not in the future"),
    ({"equipment": ""}, "equipment", "required"),
    ({"equipment": "T-27B"}, "equipment", "did you mean T-72"),  # a typo; "T-72BZ" now resolves (variant-base)
    ({"count": ""}, "count", "required"),
    ({"count": "six"}, "count", "whole number"),
    ({"count": "-1"}, "count", "whole number"),
    ({"count": "2.5"}, "count", "whole number"),
    ({"count": "1000000000"}, "count", "at most 10,000"),
    ({"count": "10001"}, "count", "at most 10,000"),
    ({"count": "6", "count_max": "5"}, "count_max", ">= count"),
    ({"count_max": "many"}, "count_max", "whole number"),
    ({"lat": "91", "lon": "0"}, "lat", "between -90 and 90"),
    ({"lat": "0", "lon": "-180.5"}, "lon", "between -180 and 180"),
    ({"lat": "north", "lon": "1"}, "lat", "decimal number"),
    ({"lat": "nan", "lon": "1"}, "lat", "decimal number"),
    ({"lat": "12.5"}, "lon", "required when lat"),
    ({"mode": "flying"}, "mode", "driven, carried"),
    ({"event": "parade"}, "event", "sighting, arrival"),
    ({"reliability": "G"}, "reliability", "A-F"),
    ({"credibility": "7"}, "credibility", "1-6"),
    ({"reliability": "B2", "credibility": "3"}, "reliability", "combined grade"),
    ({"captor": "Ukraine"}, "captor", "only meaningful with event 'captured'"),
])
def test_each_invalid_value_is_reported_with_row_and_column(tmp_path, cat, values, column, words):
    path = write_csv(tmp_path, row(sighting_id="ok"), row(**values))
    problems = problems_of(path, cat)
    found = only(problems, column)
    assert [p.row for p in found] == [3]
    text = str(found[0])
    assert text.startswith(f"{path}, row 3, column {column}: "), text
    assert words in text


def test_problem_reads_like_the_spec(tmp_path, cat):
    path = write_csv(tmp_path, *[row(sighting_id=f"s{i}", count="6") for i in range(5)], row(count="six"))
    assert str(problems_of(path, cat)[0]) == f"{path}, row 7, column count: expected a whole number >= 0, got 'six'"


def test_every_problem_is_reported_at_once(tmp_path, cat):
    path = write_csv(tmp_path, row(count="x"), row(sighting_id="s2", equipment="nope"),
                     row(sighting_id="s3", observed_at="soon"))
    problems = problems_of(path, cat)
    assert [(p.row, p.column) for p in problems] == [(2, "count"), (3, "equipment"), (4, "observed_at")]


def test_sighting_level_fields_that_disagree_name_both_rows(tmp_path, cat):
    path = write_csv(tmp_path, row(place="Bamako"), row(place="Gao", equipment="BMP-3"))
    (p,) = only(problems_of(path, cat), "place")
    assert p.row == 3 and "row 2" in str(p) and "'Bamako'" in str(p) and "'Gao'" in str(p)


def test_same_equipment_twice_after_resolution_adds_up(tmp_path, cat):
    """One row per vehicle is how people tally: rows of one type, mode, event and actor add up."""
    path = write_csv(tmp_path, row(equipment="T-72B3", count="2"), row(equipment="Т-72Б3", count="3"))
    result = read_sightings_lenient(path, cat, today=TODAY)
    assert not result.problems and result.added_up == 1
    assert result.frame["count"].tolist() == [5] and result.frame["equipment"].tolist() == ["T-72B3"]


def test_rows_that_add_up_keep_every_marking_once_and_say_which_rows_they_were(tmp_path, cat):
    """Markings of rows that add up are their union; the located read names every row behind a frame row."""
    path = write_csv(tmp_path, row(count="2", markings="231;245"), row(count="2", markings="245; 260"),
                     row(sighting_id="s2", count="1"))
    frame = read_sightings(path, cat, today=TODAY)
    assert frame["count"].tolist() == [4, 1] and frame["markings"].tolist()[0] == "231;245;260"
    located, where = read_sightings_located(path, cat, today=TODAY)
    pd.testing.assert_frame_equal(located, frame)
    assert where == [f"{path}, row 2, row 3", f"{path}, row 4"]


def test_a_sighting_is_refused_whole(tmp_path, cat):
    path = write_csv(tmp_path, row(), row(equipment="BMP-3", count="x"), row(sighting_id="s2"))
    result = read_sightings_lenient(path, cat, today=TODAY)
    assert result.frame["sighting_id"].tolist() == ["s2"]
    collateral = [p for p in result.problems if p.kind == WITH_SIGHTING]
    assert [p.row for p in collateral] == [2] and "row" in collateral[0].message and "3" in collateral[0].message
    assert result.rejected_sightings == 1 and result.rejected_rows == 2
    assert result.rejects["row"].tolist() == [2, 3]


def test_huge_cell_is_refused_with_row_and_column(tmp_path, cat):
    path = write_csv(tmp_path, row(notes="x" * (MAX_CELL_CHARS + 1)))
    (p,) = only(problems_of(path, cat), "notes")
    assert p.row == 2 and "32,767" in str(p)


# ---------------------------------------------------------------- headers


def test_unknown_column_suggests_the_nearest(tmp_path, cat):
    path = write_csv(tmp_path, "s1,2025-01-17,T-72B3,6", header="sighting_id,observed_at,equipement,count")
    problems = problems_of(path, cat)
    messages = [str(p) for p in problems]
    assert any("column equipement: unknown column (did you mean equipment?)" in m for m in messages), messages
    assert any("missing required column" in m for m in messages)
    assert all(p.row == 1 for p in problems)


def test_duplicated_header_is_an_error(tmp_path, cat):
    path = write_csv(tmp_path, "s1,2025-01-17,T-72B3,6,7", header="sighting_id,observed_at,equipment,count,Count")
    (p,) = problems_of(path, cat)
    assert p.row == 1 and "duplicated column" in str(p)


def test_header_problems_refuse_even_with_skip_invalid(tmp_path, cat):
    path = write_csv(tmp_path, "s1,2025-01-17,T-72B3,6,x", header="sighting_id,observed_at,equipment,count,colour")
    with pytest.raises(InvalidSightings):
        read_sightings_lenient(path, cat, today=TODAY)


# ---------------------------------------------------------------- encodings and broken files


def test_utf8_bom_and_semicolons_and_decimal_commas(tmp_path, cat):
    path = tmp_path / "excel.csv"
    line = row(lat="12.5", lon="-8.25", place="Ségou").replace(",", ";").replace("12.5", "12,5").replace("-8.25", "-8,25")
    text = HEADER.replace(",", ";") + "\r\n" + line + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    frame = read_sightings(path, cat, today=TODAY)
    assert frame["lat"].tolist() == [12.5] and frame["lon"].tolist() == [-8.25]
    assert frame["place"].tolist() == ["Ségou"]


def test_tab_separated(tmp_path, cat):
    path = tmp_path / "s.tsv"
    path.write_text(HEADER.replace(",", "\t") + "\n" + row().replace(",", "\t") + "\n", encoding="utf-8")
    assert len(read_sightings(path, cat, today=TODAY)) == 1


def test_cp1252_is_accepted_with_a_note(tmp_path, cat):
    path = write_csv(tmp_path, row(place="Ségou – Mopti"), encoding="cp1252")
    result = read_sightings_lenient(path, cat, today=TODAY)
    assert result.frame["place"].tolist() == ["Ségou – Mopti"]
    assert result.notes and "Windows-1252" in result.notes[0] and "row" not in result.notes[0].split(":")[0]


def test_undecodable_bytes_name_offset_line_and_the_fix(tmp_path, cat):
    path = tmp_path / "bad.csv"
    path.write_bytes((HEADER + "\n" + row() + "\n").encode() + b"s2,\x81\x8d\x90,x\n")
    with pytest.raises(InputFileError) as info:
        read_sightings(path, cat, today=TODAY)
    message = str(info.value)
    assert "line 3" in message and "offset" in message and "CSV UTF-8" in message and "iconv" in message


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, cat, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match="empty"):
        read_sightings(path, cat, today=TODAY)


def test_header_only_file_has_no_rows(tmp_path, cat):
    with pytest.raises(InputFileError, match="no rows"):
        read_sightings(write_csv(tmp_path), cat, today=TODAY)


def test_random_bytes_named_csv(tmp_path, cat):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(OrbatError):
        read_sightings(path, cat, today=TODAY)


def test_ragged_row_names_the_row(tmp_path, cat):
    path = write_csv(tmp_path, row(), row() + ",extra")
    with pytest.raises(InputFileError, match="row 3"):
        read_sightings(path, cat, today=TODAY)


def test_unknown_extension(tmp_path, cat):
    path = tmp_path / "s.pdf"
    path.write_text("x")
    with pytest.raises(InputFileError, match="unknown file type"):
        read_sightings(path, cat, today=TODAY)


# ---------------------------------------------------------------- JSON


def test_json_rows_and_nested_forms_read_the_same(tmp_path, cat):
    csv_frame = read_sightings(write_csv(tmp_path, row(count_max="7", lat="1.5", lon="2"),
                                         row(equipment="BMP-3", lat="1.5", lon="2")), cat, today=TODAY)
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps(frame_to_records(csv_frame)), encoding="utf-8")
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps(frame_to_nested(csv_frame)), encoding="utf-8")
    pd.testing.assert_frame_equal(read_sightings(flat, cat, today=TODAY), csv_frame)
    pd.testing.assert_frame_equal(read_sightings(nested, cat, today=TODAY), csv_frame)


def test_json_problems_name_the_sighting_and_entry(tmp_path, cat):
    path = tmp_path / "n.json"
    path.write_text(json.dumps([{"sighting_id": "s1", "observed_at": "2025-01-17",
                                 "entries": [{"equipment": "T-72B3", "count": 1},
                                             {"equipment": "BMP-3", "count": "lots"}]}]))
    (p,) = problems_of(path, cat)
    assert str(p).startswith(f"{path}, sighting 1, entry 2, column count: ")


def test_json_that_is_not_an_array(tmp_path, cat):
    path = tmp_path / "n.json"
    path.write_text('{"a": 1}')
    with pytest.raises(InputFileError, match="expected a JSON array"):
        read_sightings(path, cat, today=TODAY)


def test_nested_shows_entries(cat, tmp_path):
    frame = read_sightings(write_csv(tmp_path, row(), row(equipment="BMP-3")), cat, today=TODAY)
    (sighting,) = frame_to_nested(frame)
    assert sighting["sighting_id"] == "s1" and [e["equipment_id"] for e in sighting["entries"]] == [
        "test-t-72b3", "test-bmp-3"]
    assert set(sighting["entries"][0]) == {"equipment", "equipment_id", "count", "count_max", "mode", "notes",
                                           "event", "captor", "actor", "unit", "tags", "markings"}


# ---------------------------------------------------------------- rejects, formula escaping, orbat add


def test_write_rejects_escapes_formulas_and_reimports(tmp_path, cat):
    path = write_csv(tmp_path, row(notes="=HYPERLINK(\"http://evil\")", count="x"), row(sighting_id="s2"))
    result = read_sightings_lenient(path, cat, today=TODAY)
    out = write_rejects(rejects_path(path), result.rejects)
    assert out == tmp_path / "s.rejects.csv"
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "count: expected a whole number" in text
    # fix the count and the rejects file imports as it is (row and reason are ignored)
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(text.replace(",x,", ",3,"), encoding="utf-8")
    frame = read_sightings(fixed, cat, today=TODAY)
    assert frame["notes"].tolist() == ['=HYPERLINK("http://evil")'] and frame["count"].tolist() == [3]


@given(st.text(max_size=20))
@settings(max_examples=200, deadline=None)
def test_unescape_undoes_escape(text):
    escaped = escape_formula_text(text)
    assert unescape_formula_text(escaped) == text
    assert not escaped or escaped[0] not in "=+-@\t\r"


def test_escape_examples():
    assert escape_formula_text("=1+1") == "'=1+1"
    assert escape_formula_text("-8.1") == "'-8.1"
    assert escape_formula_text("Bamako") == "Bamako"
    assert unescape_formula_text("'Bamako") == "'Bamako"  # only before a formula character
    assert escape_formula_text(None) is None
    assert escape_formula_text("'=x") == "''=x" and unescape_formula_text("''=x") == "'=x"
    assert escape_formula_text("''-1") == "'''-1" and unescape_formula_text("'''-1") == "''-1"


def test_build_sighting_names_the_entry(cat):
    with pytest.raises(InvalidSightings) as info:
        build_sighting({"sighting_id": "a", "observed_at": "2025-01-17"},
                       [{"equipment": "T-72B3", "count": "1"}, {"equipment": "T-80", "count": "2"}],
                       cat, today=TODAY)
    assert "entry 2, column equipment" in str(info.value)


def test_validate_frame_first_row(cat):
    raw = pd.DataFrame({"sighting_id": ["a", "b"], "observed_at": ["2025-01-17", "x"],
                        "equipment": ["T-72B3", "T-72B3"], "count": ["1", "1"]})
    frame, problems = validate_frame(raw, cat, source="paste", first_row=10, today=TODAY)
    assert frame["sighting_id"].tolist() == ["a"] and [(p.row, p.column) for p in problems] == [(11, "observed_at")]


@given(cells=st.lists(st.lists(st.sampled_from(["", " ", "  \t", "x", " T-72 ", "0"]), min_size=3, max_size=3),
                      min_size=0, max_size=12))
@settings(max_examples=60, deadline=None)
def test_blank_rows_are_the_rows_with_only_empty_cells(cells):
    """The column-by-column scan with its early stop finds exactly the rows whose every cell is empty."""
    from orbat.sightings import _blank_rows

    raw = pd.DataFrame(cells, columns=["a", "b", "c"], dtype=object) if cells else pd.DataFrame(
        {"a": [], "b": [], "c": []}, dtype=object)
    expected = [all(not cell.strip() for cell in row) for row in cells]
    assert _blank_rows(raw).tolist() == expected


def test_a_row_blank_but_in_its_last_column_is_not_skipped(tmp_path, cat):
    path = tmp_path / "s.csv"
    lines = [HEADER, row(), ",".join([""] * (len(COLUMNS) - 1) + ["note only"]), ",".join([""] * len(COLUMNS)), row()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_sightings_lenient(path, cat, today=TODAY)
    assert result.rows == 3  # the wholly blank row is skipped, the one with a last cell is not
    assert {p.row for p in result.invalid} == {3}
