"""How the report prints (orbat/excel/pages.py): page setup of every sheet read back, the Summary's map picture, a LibreOffice PDF.

The PDF test converts the demo report with LibreOffice (skipped without
``soffice`` or poppler's ``pdfinfo``/``pdftotext``/``pdfimages``, failed when
missing in CI) and checks what a reader of the printout sees.
"""

from __future__ import annotations

import io
import re
import subprocess
import uuid

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from PIL import Image

from _gdal import tool
from conftest import MALI_CSV, ROOT
from _frames import make_frame
from orbat.excel.pages import MARGIN_IN, MIN_PRINT_SCALE, PAGE_WIDTH_IN, column_pages, print_scale
from orbat.excel.report import write_workbook
from orbat.mapfigure import extent, map_png
from orbat.maplayers import build_map_layers
from orbat.report import build_report
from orbat.sightings import COLUMNS, read_sightings

LEDGER = ROOT / "estimates" / "mali-ledger" / "sightings.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, catalog):
    """The demo report (the Bamako case and the Mali ledger), written and read back."""
    import pandas as pd

    frame = pd.concat([read_sightings(MALI_CSV, catalog), read_sightings(LEDGER, catalog)], ignore_index=True)
    report = build_report(frame, catalog)
    path = write_workbook(report, tmp_path_factory.mktemp("print") / "demo.xlsx")
    return report, path, load_workbook(path)


def test_every_sheet_prints_landscape_at_a_legible_scale_with_titles_and_print_area(demo):
    report, _, wb = demo
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.orientation == "landscape", ws.title
        assert setup.paperSize == 9, ws.title  # A4
        assert MIN_PRINT_SCALE <= setup.scale <= 100, ws.title
        assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_cols == "$A:$A", ws.title
        assert ws.print_area, ws.title
        assert ws.oddFooter.center.text == "&A, page &P of &N"
    assert wb["Summary"].print_title_rows == "$6:$6"  # the convoy table's header
    for name in ("Sightings", "Equipment", "Estimates", "Trace", "Inventory"):
        assert wb[name].print_title_rows == "$1:$1", name


def test_print_area_covers_the_table(demo):
    report, _, wb = demo
    ws = wb["Sightings"]
    area = ws.print_area.split("!")[1].replace("$", "")
    last = get_column_letter(len(COLUMNS))  # every interchange column
    assert area == f"A1:{last}{len(report.tables['sightings']) + 1}"


def test_print_scale_is_bounded():
    assert print_scale([10] * 3) == 100
    assert print_scale([60] * 40) == MIN_PRINT_SCALE
    assert MIN_PRINT_SCALE < print_scale([12] * 16) < 100


def test_summary_drawings_are_not_cut_by_a_page_edge(demo):
    _, _, wb = demo
    ws = wb["Summary"]
    scale = ws.page_setup.scale
    widths = [ws.column_dimensions[get_column_letter(i + 1)].width or 8.43 for i in range(40)]
    where = column_pages(widths, scale)
    # Manual column breaks (id: the columns before the break) where the planned pages end.
    breaks = [b.id for b in ws.col_breaks.brk]
    assert breaks and breaks == [i for i in range(1, 40) if where[i][0] != where[i - 1][0]][:len(breaks)]
    page_cm = (PAGE_WIDTH_IN - 2 * MARGIN_IN) * 2.54 * 100 / scale
    assert len(ws._images) == 1 and len(ws._charts) == 2
    for drawing in [*ws._charts, *ws._images]:
        column = drawing.anchor._from.col  # 0-based
        assert column >= 1, "no drawing in column A (it repeats on every page)"
        size = drawing.width if drawing in ws._charts else drawing.width / 96 * 2.54
        assert where[column][1] + size <= page_cm, f"a drawing at column {column + 1} crosses a page edge"


def test_summary_map_picture(demo):
    report, _, wb = demo
    [picture] = wb["Summary"]._images
    image = Image.open(io.BytesIO(picture._data()))
    assert image.format == "PNG" and image.size[0] > 500
    # Every sighting of the demo has coordinates (the ledger repeats the Bamako video with its losses).
    assert len(report.map_layers.points) == report.map_layers.sightings == 12


def test_no_picture_without_coordinates(catalog, tmp_path):
    frame = make_frame([{"sighting_id": "a", "observed_at": "2025-01-01", "equipment": "T-72", "count": 2}])
    path = write_workbook(build_report(frame, catalog), tmp_path / "r.xlsx")
    assert load_workbook(path)["Summary"]._images == []


def test_map_png_with_hostile_place_names(catalog):
    frame = make_frame([{"sighting_id": f"s{i}", "observed_at": "2025-01-01", "lat": 12.0 + i, "lon": -8.0 + i,
                         "place": place, "equipment": "T-72", "count": 1}
                        for i, place in enumerate(["$\\frac{1}{0}$", "a $x^2$ b", "Т-72 </name>", "\u4e2d\u6587"])])
    png = map_png(build_map_layers(frame, catalog))
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_extent_pads_and_keeps_a_minimum_span():
    assert extent([-8.0], [12.0]) == pytest.approx((-8.1, -7.9, 11.9, 12.1))
    west, east, south, north = extent([-10.0, 10.0], [0.0, 80.0])
    assert (west, east, south, north) == pytest.approx((-12.0, 12.0, -8.0, 88.0))
    assert extent([-179.0, 179.0], [-89.0, 89.0])[0] == -180.0


# --- a printout, as LibreOffice makes it ---------------------------------------------------------------


def _tool(name: str) -> str:
    return tool(name, "libreoffice-calc" if name == "soffice" else "poppler-utils")


@pytest.mark.libreoffice
@pytest.mark.slow
def test_libreoffice_pdf_of_the_demo_report(demo, tmp_path):
    _, path, _ = demo
    profile = tmp_path / f"lo-profile-{uuid.uuid4().hex}"
    done = subprocess.run(
        [_tool("soffice"), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "demo.pdf"
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert width > height and round(width) == 842  # A4 landscape
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))

    def page_text(n: int) -> str:
        return subprocess.run([_tool("pdftotext"), "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout

    first = page_text(1)
    # Both charts whole on the first page, beside the start of the convoy table.
    assert "Vehicles by category" in first and "Vehicles by role" in first
    assert "bamako-2025-01-17" in first and "Summary, page 1 of" in first
    # The second page across repeats the convoy names (column A) beside the estimates.
    second = page_text(2)
    assert "bamako-2025-01-17" in second and "best estimate" in second
    images = subprocess.run([_tool("pdfimages"), "-list", "-f", "1", "-l", "3", str(pdf)],
                            capture_output=True, text=True, check=True).stdout
    assert len(images.splitlines()) > 2, "the map picture is in the Summary's printout"
    # Every sheet's pages carry their footer, so no sheet was left out of the printout.
    footers = " ".join(page_text(n) for n in range(1, pages + 1))
    for sheet in ("Summary", "Sightings", "Equipment", "Estimates", "Trace", "Inventory"):
        assert re.search(rf"{sheet}, page \d+ of {pages}", footers), sheet
