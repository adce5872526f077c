"""ORBAT Mapper scenarios (orbat/formats/orbat_mapper.py) and the ORBAT sheet, validated and read back."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from _frames import make_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.formats.orbat_mapper import SCENARIO_VERSION, scenario
from orbat.units import ECHELONS, Orbat, build_register, load_unit_rules

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "data" / "orbat-mapper" / "scenario.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

HOSTILE = '=cmd|"/c calc"!A1 <script>alert`1`</script> [/bold] **Brigade** \\x'


def all_units(data: dict) -> list[dict]:
    out = []

    def walk(items):
        for item in items:
            out.append(item)
            walk(item.get("subUnits", []))

    for side in data["sides"]:
        for group in side["groups"]:
            walk(group["subUnits"])
    return out


def test_the_schema_is_a_valid_schema_and_rejects_what_orbat_mapper_would():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {"type": "ORBAT-mapper", "id": "x", "version": "3.4.0", "name": "n", "sides": [], "events": []}
    VALIDATOR.validate(good)
    for bad in ({**good, "type": "orbat"}, {**good, "version": "9.9.9"},
                {**good, "sides": [{"id": "s", "name": "S", "standardIdentity": "1", "groups": [
                    {"id": "g", "name": "G", "subUnits": [{"id": "u", "name": "U", "sidc": "1001"}]}]}]},
                {**good, "sides": [{"id": "s", "name": "S", "standardIdentity": "1", "groups": [
                    {"id": "g", "name": "G", "subUnits": [{"id": "u", "name": "U", "sidc": "1" * 20,
                                                           "equipment": [{"name": "T-72", "cnt": 1}]}]}]}]}):
        assert not VALIDATOR.is_valid(bad)


@pytest.fixture
def db(tmp_path, cli) -> str:
    path = tmp_path / "s.csv"
    path.write_text(
        "sighting_id,convoy,observed_at,lat,lon,actor,equipment,count,event,unit\n"
        "v1,c1,2022-02-24,50.05,36.36,Russia,BMP-2,8,sighting,423rd Motor Rifle Regiment\n"
        "v2,c1,2022-02-25T10:00:00,50.10,36.40,Russia,BMP-2,6,sighting,423rd Motor Rifle Regiment\n"
        "l1,,2022-02-27,,,Russia,BMP-2,2,destroyed,423rd Motor Rifle Regiment\n"
        f"l2,,2022-02-28,,,Russia,T-72B3,1,destroyed,\"{HOSTILE.replace(chr(34), chr(34) * 2)}\"\n",
        encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    assert cli("import", path, "--db", url).exit_code == 0
    assert cli("units", "set", "4th Guards Tank Division", "--actor", "Russia", "--db", url).exit_code == 0
    assert cli("units", "set", "423rd Motor Rifle Regiment", "--parent", "4th Guards Tank Division",
               "--db", url).exit_code == 0
    return url


def test_export_orbat_mapper_scenario(cli, db, tmp_path):
    out = tmp_path / "orbat.json"
    result = cli("export", out, "--format", "orbat-mapper", "--identity", "hostile", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {out}: an ORBAT Mapper scenario (format 3.4.0) of 1 side(s) and 3 unit(s).\n"
    data = json.loads(out.read_text(encoding="utf-8"))
    VALIDATOR.validate(data)
    assert (data["type"], data["version"]) == ("ORBAT-mapper", SCENARIO_VERSION)
    assert data["events"] == [] and data["layers"] == [] and data["mapLayers"] == []
    side = data["sides"][0]
    assert (side["name"], side["standardIdentity"]) == ("Russia", "6")
    division = side["groups"][0]["subUnits"][0]
    assert (division["name"], division["sidc"]) == ("4th Guards Tank Division", "10061000211205000000")
    regiment = division["subUnits"][0]
    assert regiment["name"] == "423rd Motor Rifle Regiment"
    assert regiment["equipment"] == [{"name": "BMP-2", "count": 8, "onHand": 6}]
    assert regiment["location"] == [36.36, 50.05]
    assert [s["t"] for s in regiment["state"]] == [1645660800000, 1645783200000]
    assert [s["location"] for s in regiment["state"]] == [[36.36, 50.05], [36.4, 50.1]]
    assert data["startTime"] == 1645660800000
    assert {e["name"] for e in data["equipment"]} == {"BMP-2", "T-72B3"}
    # the unit nobody confirmed is kept, unplaced, its hostile name only ever a JSON string
    unplaced = side["groups"][1]
    assert unplaced["name"].startswith("Unplaced")
    assert unplaced["subUnits"][0]["name"] == HOSTILE
    assert HOSTILE not in data["description"]
    assert all(len(u["sidc"]) == 20 for u in all_units(data))


def test_export_orbat_mapper_bad_input(cli, db, tmp_path):
    wrong = cli("export", tmp_path / "o.geojson", "--format", "orbat-mapper", "--db", db)
    assert wrong.exit_code == 2 and "an ORBAT Mapper scenario is a .json file" in wrong.stderr
    other = cli("export", tmp_path / "o.json", "--format", "kmz", "--db", db)
    assert other.exit_code == 2 and "expected orbat-mapper" in other.stderr
    identity = cli("export", tmp_path / "o.json", "--format", "orbat-mapper", "--identity", "foe", "--db", db)
    assert identity.exit_code == 2 and "unknown identity 'foe'" in identity.stderr
    assert not (tmp_path / "o.json").exists()


def test_no_units_is_an_error_and_writes_nothing(cli, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sighting_id,observed_at,equipment,count\na,2022-01-01,BMP-2,1\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    assert cli("import", path, "--db", url).exit_code == 0
    result = cli("export", tmp_path / "o.json", "--format", "orbat-mapper", "--db", url)
    assert result.exit_code == 1 and "no units in" in result.stderr
    assert not (tmp_path / "o.json").exists()


def test_orbat_sheet_in_the_workbook(cli, db, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "report.xlsx"
    result = cli("export", out, "--db", db)
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    ws = wb["ORBAT"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    header = rows[0]
    assert header[:12] == ["unit", "level", "unit id", "echelon", "branch", "sidc", "actor", "placed",
                           "equipment seen", "lost", "on hand", "evidence"]
    assert [r[0] for r in rows[1:]] == ["4th Guards Tank Division", "    423rd Motor Rifle Regiment", HOSTILE]
    regiment = dict(zip(header, rows[2]))
    assert (regiment["sidc"], regiment["equipment seen"], regiment["lost"], regiment["on hand"],
            regiment["evidence"]) == ("10011000171211040000", 8, 2, 6, 3)
    assert regiment["estimate"].startswith("a ") and "convoy c1" in regiment["estimate"]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f"  # the hostile name is text, not a formula
    assert ws.tables["Orbat"].ref.startswith("A1:")


# ------------------------------------------------------------------ invariants

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda t: any(c.isalnum() for c in t))
echelon_words = st.sampled_from(["Regiment", "Brigade", "Division", "Battalion", "Company", "Army", "Corps",
                                 "Military District", "Group", ""])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, echelon_words, st.integers(0, 5), st.booleans()), min_size=1, max_size=8))
def test_every_unit_in_a_scenario_has_a_20_digit_sidc_matching_its_echelon(catalog, units):
    rules = load_unit_rules()
    records = []
    for i, (name, word, count, located) in enumerate(units):
        records.append({"sighting_id": f"s{i}", "observed_at": "2022-03-01", "equipment": "BMP-2", "count": count,
                        "unit": f"{name} {word}".strip(), "actor": "Russia",
                        "lat": 50.0 if located else None, "lon": 36.0 if located else None,
                        "event": "sighting" if i % 2 else "destroyed"})
    frame = make_frame(records)
    register = build_register(rules, named=frame)
    orbat = Orbat(register, frame)
    data = scenario(orbat.sides(catalog), name="t")
    VALIDATOR.validate(data)
    written = all_units(data)
    assert len(written) == len(register)
    for unit in written:
        echelon = register.items[unit["id"]].echelon
        assert len(unit["sidc"]) == 20 and unit["sidc"].isdigit()
        assert unit["sidc"][8:10] == (ECHELONS[echelon] if echelon else "00")
        for item in unit.get("equipment", []):
            assert 0 <= item["onHand"] <= item["count"]


@pytest.mark.libreoffice
@pytest.mark.slow
def test_orbat_sheet_opens_in_libreoffice(cli, db, tmp_path):
    from test_libreoffice import convert

    out = tmp_path / "report.xlsx"
    assert cli("export", out, "--db", db).exit_code == 0
    rows = convert(tmp_path, out)["ORBAT"]
    assert [r[0] for r in rows[1:]] == ["4th Guards Tank Division", "    423rd Motor Rifle Regiment", HOSTILE]
    got = dict(zip(rows[0], rows[2]))
    assert (got["sidc"], got["equipment seen"], got["lost"], got["on hand"]) == ("10011000171211040000", "8", "2", "6")
