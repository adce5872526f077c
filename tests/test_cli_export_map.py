"""`orbat export OUT.geojson` and `orbat export OUT.kml`, run as a user would, read back by GDAL."""

from __future__ import annotations

import json

import pytest

import _gdal
from conftest import ROOT

CONVOY = "bamako-2025-01-17"
LEDGER = ROOT / "estimates" / "mali-ledger" / "sightings.csv"

EXTRA = """sighting_id,convoy,observed_at,place,lat,lon,actor,equipment,count,event
nowhere-1,,2025-02-01,somewhere near Gao,,,FAMa,T-72,1,destroyed
"""


@pytest.fixture
def loaded(cli, db_url, mali_csv, tmp_path):
    """The Mali case, the Mali ledger and one loss without coordinates."""
    extra = tmp_path / "extra.csv"
    extra.write_text(EXTRA, encoding="utf-8")
    for path in (mali_csv, LEDGER, extra):
        result = cli("import", path, "--db", db_url)
        assert result.exit_code == 0, result.output
    return db_url


def test_export_geojson(cli, loaded, tmp_path):
    out = tmp_path / "map.geojson"
    result = cli("export", out, "--db", loaded)
    assert result.exit_code == 0, result.output
    assert result.output == (f"Wrote {out}: 13 sightings, 12 on the map, 1 without coordinates; "
                             "1 convoy track; filters: none.\n")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["orbat"]["without_coordinates"] == ["nowhere-1"]
    [layer] = _gdal.layers(out).values()
    assert layer["Feature Count"] == "13"
    [track] = [f for f in _gdal.features(out) if f["geometry"]["type"] == "LineString"]
    # The convoy's estimate, as `orbat estimate` gives it.
    estimate = cli("estimate", "--convoy", CONVOY, "--db", loaded, "--json")
    assert estimate.exit_code == 0, estimate.output
    best = json.loads(estimate.stdout)[0]["best"]
    assert track["properties"]["unit"] == best["label"] and track["properties"]["echelon"] == best["echelon"]
    assert track["properties"]["confidence"] == pytest.approx(best["confidence"], abs=1e-4)


def test_export_kml_with_filters(cli, loaded, tmp_path):
    out = tmp_path / "bamako.kml"
    result = cli("export", out, "--db", loaded, "--convoy", CONVOY, "--since", "2025-01-01")
    assert result.exit_code == 0, result.output
    assert "2 sightings, 2 on the map; 1 convoy track; filters: convoy = bamako-2025-01-17; since 2025-01-01" \
        in result.output
    found = _gdal.layers(out)
    assert found["Sightings"]["Feature Count"] == "2" and found["Convoy tracks"]["Feature Count"] == "1"
    points = _gdal.features(out, "Sightings")
    video = next(f for f in points if f["properties"]["id"] == "capmali-video-01")
    assert video["geometry"]["coordinates"] == [-8.120543, 12.545009]


def test_export_losses_only(cli, loaded, tmp_path):
    out = tmp_path / "losses.geojson"
    result = cli("export", out, "--db", loaded, "--events", "destroyed,damaged,abandoned,captured")
    assert result.exit_code == 0, result.output
    assert "without coordinates" in result.output and "events = destroyed,damaged,abandoned,captured" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["features"], "the ledger has located losses"
    for feature in doc["features"]:
        assert feature["properties"]["event"] in ("destroyed", "damaged", "abandoned", "captured")
        assert feature["properties"]["status"]


@pytest.mark.parametrize("args, message", [
    (("--events", "destroyed,lost"), "unknown event 'lost'"),
    (("--actor", "nobody"), "match the filters (actor = nobody)"),
])
def test_bad_filters_write_nothing(cli, loaded, tmp_path, args, message):
    out = tmp_path / "m.kml"
    result = cli("export", out, "--db", loaded, *args)
    assert result.exit_code in (1, 2) and message in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_events_is_for_maps_only(cli, loaded, tmp_path):
    result = cli("export", tmp_path / "r.xlsx", "--db", loaded, "--events", "destroyed")
    assert result.exit_code == 2 and "--events applies to maps" in result.stderr


def test_missing_folder_is_an_error(cli, loaded, tmp_path):
    result = cli("export", tmp_path / "no" / "m.geojson", "--db", loaded)
    assert result.exit_code == 1 and "does not exist" in result.stderr
