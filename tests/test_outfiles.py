"""Output files appear only once complete (orbat/outfiles.py)."""

from __future__ import annotations

import pytest

from orbat.errors import OrbatError
from orbat.outfiles import replaced_when_done


def test_the_target_is_replaced_only_when_the_block_ends(tmp_path):
    target = tmp_path / "map.geojson"
    target.write_text("old")
    with replaced_when_done(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["map.geojson"]


def test_a_failure_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_text("old")
    with pytest.raises(ZeroDivisionError):
        with replaced_when_done(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_an_os_error_names_the_file(tmp_path):
    target = tmp_path / "missing-folder" / "out.kml"
    with pytest.raises(OrbatError, match=r"out\.kml: cannot write \(No such file or directory\)"):
        with replaced_when_done(target) as tmp:
            tmp.write_text("x")


def _fails_half_way(write):
    """A writer that writes part of its file, then fails (a full disk, a bug in the middle)."""

    def half(self, target, *args, **kwargs):
        with open(target, "w", encoding="utf-8") as out:
            out.write("half a file")
        raise RuntimeError("failed half-way")

    return half


def test_a_rejects_file_that_fails_half_way_leaves_no_file(tmp_path, monkeypatch):
    import pandas as pd

    from orbat.sightings import write_rejects

    target = tmp_path / "sightings.rejects.csv"
    monkeypatch.setattr(pd.DataFrame, "to_csv", _fails_half_way(pd.DataFrame.to_csv))
    with pytest.raises(RuntimeError, match="half-way"):
        write_rejects(target, pd.DataFrame({"row": ["2"], "problem": ["bad count"]}))
    assert list(tmp_path.iterdir()) == []  # neither the rejects file nor a temporary file


def test_an_entry_template_that_fails_half_way_leaves_the_old_file(tmp_path, monkeypatch):
    from openpyxl import Workbook

    from orbat.catalog import load_catalog
    from orbat.excel.template import write_template

    target = tmp_path / "template.xlsx"
    target.write_text("old")
    monkeypatch.setattr(Workbook, "save", _fails_half_way(Workbook.save))
    with pytest.raises(RuntimeError, match="half-way"):
        write_template(target, load_catalog())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["template.xlsx"]


def test_a_rejects_file_in_a_missing_folder_is_a_user_error(tmp_path):
    import pandas as pd

    from orbat.sightings import write_rejects

    with pytest.raises(OrbatError, match=r"rejects\.csv: cannot write"):
        write_rejects(tmp_path / "gone" / "s.rejects.csv", pd.DataFrame({"row": ["2"]}))
