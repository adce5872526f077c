"""The report workbook opens in LibreOffice, and its values and text survive (headless conversion).

Skipped when ``soffice`` is not installed, except in CI (env ``CI`` set), where
a missing LibreOffice is a failure: install it with
``apt-get install -y --no-install-recommends libreoffice-calc``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import MALI_CSV
from orbat.excel.report import write_workbook
from orbat.report import build_report
from orbat.sightings import COLUMNS, read_sightings

pytestmark = [pytest.mark.libreoffice, pytest.mark.slow]

CONVOY = "bamako-2025-01-17"
#: CSV export of every sheet (token 12 = -1), UTF-8 (76), cells "as shown" (token 9) so formats are checked too.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        message = "LibreOffice (soffice) is not installed: apt-get install -y --no-install-recommends libreoffice-calc"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def convert(tmp_path, workbook) -> dict[str, list[list[str]]]:
    """Every sheet of ``workbook`` as LibreOffice reads it, via a headless CSV conversion."""
    profile = tmp_path / f"lo-profile-{uuid.uuid4().hex}"
    out = tmp_path / "converted"
    result = subprocess.run(
        [soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", CSV_FILTER, "--outdir", str(out), str(workbook)],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    sheets = {}
    for path in sorted(out.glob("*.csv")):
        sheet = path.stem.removeprefix(workbook.stem + "-")
        with path.open(encoding="utf-8", newline="") as handle:
            sheets[sheet] = list(csv.reader(handle))
    assert sheets, f"LibreOffice wrote nothing: {result.stdout} {result.stderr}"
    return sheets


@pytest.fixture(scope="module")
def converted(tmp_path_factory, catalog):
    tmp = tmp_path_factory.mktemp("lo")
    frame = read_sightings(MALI_CSV, catalog)
    frame.loc[0, "notes"] = '=HYPERLINK("http://evil")'
    frame.loc[1, "notes"] = "+cmd|' /C calc'!A0"
    frame.loc[2, "notes"] = "@SUM(1)"
    frame.loc[3, "notes"] = "-2+3"
    report = build_report(frame, catalog, filters={"convoy": CONVOY})
    path = write_workbook(report, tmp / "report.xlsx")
    return report, convert(tmp, path)


def test_every_sheet_opens(converted):
    _, sheets = converted
    assert sorted(sheets) == sorted(["Summary", "Sightings", "Equipment", "Estimates", "Trace", "Inventory", "Timeline"])


def test_summary_values_survive(converted):
    report, sheets = converted
    rows = sheets["Summary"]
    assert rows[0][0] == "orbat report"
    assert rows[2][:2] == ["Filters", f"convoy = {CONVOY}"]
    header, row = rows[5], rows[6]
    got = dict(zip(header, row))
    expected = report.tables["summary"].iloc[0]
    assert got["convoy"] == CONVOY
    assert got["first seen"] == "2025-01-17"  # a real date, shown in ISO format
    assert got["vehicles"] == "112"
    assert got["vehicles (range)"] == expected["vehicles_range"]
    assert got["best estimate"] == expected["best_estimate"]
    assert got["confidence"] == f"{round(expected['confidence'] * 100)}%"
    assert got["best grade"] == "B2"
    assert any(r[:2] == ["category", CONVOY] for r in rows)  # the chart data


def test_untrusted_text_is_shown_as_written_not_evaluated(converted):
    _, sheets = converted
    rows = sheets["Sightings"]
    assert tuple(rows[0]) == COLUMNS
    notes = [r[COLUMNS.index("notes")] for r in rows[1:5]]
    assert notes == ['=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]
    assert rows[1][COLUMNS.index("lon")] == "-8.120543"
