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
