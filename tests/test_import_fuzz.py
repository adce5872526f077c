"""Hostile input: any bytes as .csv, .json or .xlsx give a frame or an OrbatError, never another exception."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.errors import OrbatError
from orbat.sightings import COLUMNS, read_sightings

TODAY = dt.date(2025, 6, 1)
HEADER = ",".join(COLUMNS).encode()


def outcome(path: Path, cat) -> None:
    try:
        frame = read_sightings(path, cat, today=TODAY)
    except OrbatError as exc:
        assert exc.message  # a message for the user, not an empty error
        return
    assert isinstance(frame, pd.DataFrame)


_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(data=st.binary(max_size=2000))
@_settings
def test_any_bytes_as_csv(tmp_path, cat, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    outcome(path, cat)


@given(body=st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), max_size=8),
       delimiter=st.sampled_from([",", ";", "\t"]))
@_settings
def test_any_text_under_a_valid_header(tmp_path, cat, body, delimiter):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(HEADER.replace(b",", delimiter.encode()) + b"\n" + "\n".join(body).encode("utf-8", "surrogatepass"))
    outcome(path, cat)


@given(data=st.binary(max_size=500))
@_settings
def test_any_bytes_as_json(tmp_path, cat, data):
    path = tmp_path / "fuzz.json"
    path.write_bytes(data)
    outcome(path, cat)


def _valid_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sightings"
    ws.append(list(COLUMNS))
    ws.append(["a", None, dt.datetime(2025, 1, 17), "Bamako", 12.5, -8.1, "AC", "T-72B3", 6])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


VALID_XLSX = _valid_xlsx()


@given(data=st.binary(max_size=2000))
@_settings
def test_any_bytes_as_xlsx(tmp_path, cat, data):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(data)
    outcome(path, cat)


@given(cut=st.integers(0, len(VALID_XLSX)),
       flips=st.lists(st.tuples(st.integers(0, len(VALID_XLSX) - 1), st.integers(0, 255)), max_size=6))
@_settings
def test_damaged_xlsx(tmp_path, cat, cut, flips):
    data = bytearray(VALID_XLSX)
    for at, value in flips:
        data[at] = value
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(bytes(data[: max(cut, len(data) // 2)] if cut < len(data) // 2 else data))
    outcome(path, cat)
