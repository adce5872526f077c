"""notebooks/mali-convoy.ipynb runs top to bottom, and is committed without outputs."""

from __future__ import annotations

import sys

import nbformat
import pytest
from openpyxl import load_workbook

from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "mali-convoy.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"cell {cell.get('id')} has outputs: strip them before committing"
        assert cell.execution_count is None


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("ORBAT_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # jupyter_client runs a "python3" kernel with this interpreter (sys.executable): the venv's, with orbat.
    client = NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "vehicles, max-merged: 112" in text
    assert "2 sightings, 2 on the map; 1 convoy track" in text  # the map cell
    assert (tmp_path / "mali-convoy.geojson").exists() and (tmp_path / "mali-convoy.kml").exists()
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the composition and the alternatives charts
    assert any("text/markdown" in o.get("data", {}) for o in outputs)
    workbook = load_workbook(tmp_path / "mali-convoy.xlsx")
    assert workbook.sheetnames[0] == "Summary"
    assert sys.executable  # the kernel ran under the same interpreter as the tests
