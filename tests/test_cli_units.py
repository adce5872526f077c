"""`orbat units ...`, `orbat inventory --by unit` and the WarSpotting training file end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from orbat.units import ECHELONS, load_unit_rules

ROOT = Path(__file__).resolve().parent.parent
WARSPOTTING = ROOT / "tests" / "data" / "real" / "warspotting-2022-02" / "losses.csv"

SIGHTINGS = """\
sighting_id,convoy,observed_at,place,lat,lon,actor,equipment,count,event,unit,source
v1,c1,2022-02-24,Kharkiv,50.05,36.36,Russia,BMP-2,8,sighting,"1st Battalion, 423rd Motor Rifle Regiment",https://example.org/v1
v2,c1,2022-02-24,Kharkiv,50.06,36.37,Russia,BMP-2,6,sighting,"1st Battalion, 423rd Motor Rifle Regiment",
v3,c1,2022-02-24,Kharkiv,,,Russia,T-72B3,2,sighting,,
l1,,2022-02-27,Izium,49.2,37.25,Russia,BMP-2,2,destroyed,"1st Battalion, 423rd Motor Rifle Regiment",
l2,,2022-03-01,Izium,,,Russia,T-72B3,3,captured,13th Guards Tank Regiment,
c9,c9,2022-03-05,Belgorod,50.6,36.6,Russia,T-72B3,10,sighting,,
c9,c9,2022-03-05,Belgorod,50.6,36.6,Russia,BMP-2,30,sighting,,
c9,c9,2022-03-05,Belgorod,50.6,36.6,Russia,Ural-4320,12,sighting,,
"""


@pytest.fixture
def db(tmp_path, cli) -> str:
    path = tmp_path / "sightings.csv"
    path.write_text(SIGHTINGS, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    result = cli("import", path, "--db", url)
    assert result.exit_code == 0, result.output
    return url


def build_tree(cli, db: str) -> None:
    for args in (["4th Guards Tank Division", "--echelon", "division", "--branch", "tank", "--actor", "Russia"],
                 ["423rd Motor Rifle Regiment", "--parent", "4th Guards Tank Division"],
                 ["1st Battalion, 423rd Motor Rifle Regiment", "--parent", "423rd Motor Rifle Regiment"],
                 ["13th Guards Tank Regiment", "--parent", "4th Guards Tank Division"]):
        result = cli("units", "set", *args, "--db", db)
        assert result.exit_code == 0, result.output


def test_set_creates_and_confirms_units(cli, db):
    result = cli("units", "set", "423rd Motor Rifle Regiment", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == ("Created 423rd Motor Rifle Regiment [regiment, motorised infantry] "
                             "10011000171211040000; parent: none\n")
    build_tree(cli, db)
    listed = cli("units", "list", "--json", "--db", db)
    assert listed.exit_code == 0, listed.output
    units = {u["name"]: u for u in json.loads(listed.output)}
    assert units["1st Battalion, 423rd Motor Rifle Regiment"]["parent"] == "423rd-motor-rifle-regiment"
    assert units["1st Battalion, 423rd Motor Rifle Regiment"]["echelon"] == "battalion"
    assert all(u["placed"] for u in units.values())


GOLDEN_TREE = """\
4th Guards Tank Division [division, armour] 10011000211205000000: 0 seen, 0 lost, 0 on hand, 0 sightings
  13th Guards Tank Regiment [regiment, armour] 10011000171205000000: 3 seen, 3 lost, 0 on hand, 1 sighting
  423rd Motor Rifle Regiment [regiment, motorised infantry] 10011000171211040000: 0 seen, 0 lost, 0 on hand, 0 sightings
    1st Battalion, 423rd Motor Rifle Regiment [battalion, motorised infantry] 10011000161211040000: 8 seen, 2 lost, 6 on hand, 3 sightings
"""


def test_tree_golden(cli, db):
    build_tree(cli, db)
    result = cli("units", "tree", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == GOLDEN_TREE
    early = cli("units", "tree", "--as-of", "2022-02-25", "--actor", "Russia", "--db", db)
    assert early.exit_code == 0, early.output
    assert "1st Battalion, 423rd Motor Rifle Regiment [battalion, motorised infantry] 10011000161211040000: " \
           "8 seen, 0 lost, 8 on hand, 2 sightings" in early.output
    assert cli("units", "tree", "--actor", "Ukraine", "--db", db).output == "No units for Ukraine.\n"


def test_attach_joins_the_estimate_to_the_unit_and_detach_undoes_it(cli, db):
    build_tree(cli, db)
    before = cli("inventory", "--json", "--db", db).output
    result = cli("units", "attach", "c9", "423rd Motor Rifle Regiment", "--db", db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Attached convoy c9 to 423rd Motor Rifle Regiment."
    assert lines[1].startswith("423rd Motor Rifle Regiment: a")
    assert lines[1].endswith("convoy c9)")
    shown = cli("units", "show", "423rd Motor Rifle Regiment", "--json", "--db", db)
    info = json.loads(shown.output)
    assert info["attached"] == ["c9"] and info["estimates"] == [lines[1]]
    assert {e["label"]: e["count"] for e in info["equipment"]} == {"BMP-2": 30, "T-72B3": 10, "Ural-4320": 12}
    assert cli("inventory", "--json", "--db", db).output == before  # attaching moves nothing between actors
    tree = cli("units", "tree", "--db", db).output
    assert "423rd Motor Rifle Regiment [regiment, motorised infantry] 10011000171211040000: 52 seen" in tree
    assert cli("units", "detach", "c9", "--db", db).exit_code == 0
    assert cli("units", "tree", "--db", db).output == GOLDEN_TREE
    again = cli("units", "detach", "c9", "--db", db)
    assert again.exit_code == 1 and "convoy 'c9' is not attached to a unit" in again.stderr


def test_a_convoy_named_by_its_sightings_is_reported_as_its_unit(cli, db):
    shown = cli("units", "show", "1st Battalion, 423rd Motor Rifle Regiment", "--db", db)
    assert shown.exit_code == 0, shown.output
    assert "  estimate: 1st Battalion, 423rd Motor Rifle Regiment: a" in shown.output
    assert "(unplaced: read from sightings, not confirmed)" in shown.output


def test_estimate_reports_the_unit_a_convoy_is(cli, db):
    named = cli("estimate", "--convoy", "c1", "--db", db)
    assert named.exit_code == 0, named.output
    assert "unit" in named.output and "1st Battalion, 423rd Motor Rifle Regiment (named by its" in named.output
    assert cli("units", "attach", "c9", "13th Guards Tank Regiment", "--db", db).exit_code == 0
    attached = cli("estimate", "--convoy", "c9", "--db", db)
    assert "13th Guards Tank Regiment (attached)" in attached.output
    assert "unit" not in cli("estimate", "--convoy", "c1", "--json", "--db", db).output.split('"best"')[0]


def test_inventory_by_unit(cli, db):
    result = cli("inventory", "--by", "unit", "--json", "--db", db)
    assert result.exit_code == 0, result.output
    rows = {(h["unit"], h["label"]): h for h in json.loads(result.output)}
    assert (rows[("1st Battalion, 423rd Motor Rifle Regiment", "BMP-2")]["count"],
            rows[("1st Battalion, 423rd Motor Rifle Regiment", "BMP-2")]["on_hand"]) == (8, 6)
    assert rows[("13th Guards Tank Regiment", "T-72B3")]["captured"] == 3
    table = cli("inventory", "--by", "unit", "--db", db)
    assert "1st Battalion, 423rd Motor Rifle Regiment: 8 known, 2 lost, 6 on hand" in table.output


def test_bad_input_is_a_clear_error_and_changes_nothing(cli, db, stored):
    build_tree(cli, db)
    cycle = cli("units", "set", "4th Guards Tank Division", "--parent", "1st Battalion, 423rd Motor Rifle Regiment",
                "--db", db)
    assert cycle.exit_code == 1
    assert cycle.stderr == ("Error: units would be their own parents: 4th Guards Tank Division -> 1st Battalion, "
                            "423rd Motor Rifle Regiment -> 423rd Motor Rifle Regiment -> 4th Guards Tank Division\n")
    unknown = cli("units", "set", "13th Guards Tank Regiment", "--parent", "5th Guards Tank Divison", "--db", db)
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: unknown unit '5th Guards Tank Divison' (did you mean 4th Guards Tank "
                                     "Division")
    echelon = cli("units", "set", "13th Guards Tank Regiment", "--echelon", "regimen", "--db", db)
    assert echelon.exit_code == 2 and "unknown echelon 'regimen'; expected one of: team," in echelon.stderr
    no_convoy = cli("units", "attach", "nope", "13th Guards Tank Regiment", "--db", db)
    assert no_convoy.exit_code == 1 and "no convoy 'nope'" in no_convoy.stderr
    for result in (cycle, unknown, echelon, no_convoy):
        assert "Traceback" not in result.output
    assert cli("units", "tree", "--db", db).output == GOLDEN_TREE
    missing = cli("units", "list", "--db", str(Path(db[10:]).with_name("none.db")))
    assert missing.exit_code == 1 and "no such database" in missing.stderr


def test_rules_lists_rules_and_branches(cli, tmp_path):
    result = cli("units", "rules", "--db", tmp_path / "x.db")
    assert result.exit_code == 0, result.output
    assert "  echelon-word: the echelon word that ends last" in result.output
    assert "  motor-rifle: motorised infantry (121104, 00)" in result.output


def stored_rows(url: str) -> pd.DataFrame:
    """The stored rows with the unit and coordinates as text ("" for none), for the assertions below."""
    from orbat.store import open_store

    with open_store(url) as store:
        frame = store.sightings_frame()
    return frame.assign(unit=frame["unit"].fillna("").astype(str),
                        lat=frame["lat"].map(lambda v: "" if pd.isna(v) else str(v)))


def test_warspotting_training_file_units_tree_and_scenario(cli, tmp_path):
    import jsonschema

    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    imported = cli("import", WARSPOTTING, "--from", "warspotting", "--db", url)  # the importer fills `unit`
    assert imported.exit_code == 0, imported.output
    rows = stored_rows(url)
    assert len(rows) > 300 and rows["unit"].ne("").sum() > 150
    assert (rows["count"] == 1).all()  # one loss a row: the per-unit sums below count rows

    listed = json.loads(cli("units", "list", "--json", "--db", url).output)
    by_name = {u["name"]: u for u in listed}
    rules = load_unit_rules()
    named = sorted(set(rows["unit"]) - {""})
    found: dict[str, str] = {}
    for written in named:
        reading = rules.read(written)
        unit = by_name[reading.name]  # every unit named exists...
        assert unit["echelon"] == reading.echelon  # ... with the echelon its name says
        assert unit["sidc"][8:10] == (ECHELONS[reading.echelon] if reading.echelon else "00")
        assert unit["placed"] is False  # nobody confirmed it: unplaced
        found[written] = unit["id"]
    assert by_name["423rd Motor Rifle Regiment"]["echelon"] == "regiment"
    assert by_name["4th Guards Tank Division"]["echelon"] == "division"
    assert by_name["74th Separate Guards Motor Rifle Brigade"]["echelon"] == "brigade"

    tree = cli("units", "tree", "--db", url).output
    for unit in listed:
        assert f"  {unit['name']} [" in tree

    out = tmp_path / "orbat.json"
    exported = cli("export", out, "--format", "orbat-mapper", "--db", url)
    assert exported.exit_code == 0, exported.output
    scenario = json.loads(out.read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "tests" / "data" / "orbat-mapper" / "scenario.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(scenario)
    units = {}

    def walk(items):
        for item in items:
            units[item["id"]] = item
            walk(item.get("subUnits", []))

    for side in scenario["sides"]:
        for group in side["groups"]:
            walk(group["subUnits"])
    assert set(units) == {u["id"] for u in listed}
    # losses per unit in the scenario equal the rows that name the unit
    lost_rows = rows[rows["event"].isin(["destroyed", "abandoned", "captured"]) & rows["unit"].ne("")]
    expected = lost_rows.groupby(lost_rows["unit"].map(found)).size().to_dict()
    lost = {uid: sum(e["count"] - e["onHand"] for e in u.get("equipment", [])) for uid, u in units.items()}
    assert {k: v for k, v in lost.items() if v} == expected
    # a unit known only from losses had at least those vehicles, and none is left
    assert all(e["onHand"] == 0 for u in units.values() for e in u.get("equipment", []))
    located = rows[rows["lat"].ne("") & rows["unit"].ne("")].groupby(rows["unit"].map(found)).size().to_dict()
    assert {uid: len(u.get("state", [])) for uid, u in units.items() if u.get("state")} == located
