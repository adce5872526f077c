"""The map benchmark (benchmarks/maps.py) runs end to end on a small size (nothing is judged on time)."""

from __future__ import annotations

from benchmarks.maps import load_frame, main


def test_map_benchmark_smoke(capsys):
    assert main(["--sightings", "300", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("300 sightings") and "| geojson |" in out and "| bare |" in out
    assert "| export |" in out and "| cli |" in out  # the whole command, as a user runs it


def test_benchmark_frame_has_the_sightings_asked_for(tmp_path):
    frame, _ = load_frame(250, tmp_path)
    assert frame["sighting_id"].nunique() == 250
    assert frame["lat"].isna().any() and frame["lat"].notna().any()  # some without coordinates, as in real data
