"""Named units: name rules, the register, the parent tree, figures per unit, symbol codes."""

from __future__ import annotations

import pandas as pd
import pytest
from _frames import make_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from orbat.unit_rules import words_of
from orbat.units import (
    ECHELONS,
    NAME_RULES,
    RULE_HELP,
    Orbat,
    Unit,
    UnitCycle,
    UnknownUnit,
    build_register,
    load_unit_rules,
    set_unit,
    tree_text,
)


@pytest.fixture(scope="module")
def rules():
    return load_unit_rules()


# name, written -> (name, echelon, branch, aliases that must be there)
NAME_CASES = [
    ("423rd Motor Rifle Regiment", "423rd Motor Rifle Regiment", "regiment", "motor-rifle", []),
    ("74th Separate Guards Motor Rifle Brigade", "74th Separate Guards Motor Rifle Brigade", "brigade",
     "motor-rifle", []),
    ("4th Guards Tank Division", "4th Guards Tank Division", "division", "tank", []),
    ("71st Guards Motor Rifle Division (ex-200th Brigade)", "71st Guards Motor Rifle Division", "division",
     "motor-rifle", ["200th Brigade", "71st Guards Motor Rifle Division (ex-200th Brigade)"]),
    ("VDV (Russian Airborne Forces)", "VDV", None, "airborne", ["Russian Airborne Forces"]),
    ("Moskva (ex-Western) Military District", "Moskva Military District", "region", "combined-arms",
     ["Western Military District"]),
    ("17th Guards Army Aviation Brigade", "17th Guards Army Aviation Brigade", "brigade", "army-aviation", []),
    ("1st Battalion Tactical Group, 12th Anti-Tank Regiment", "1st Battalion Tactical Group, 12th Anti-Tank Regiment",
     "battalion", "anti-tank", []),
    ("2nd Tank Company of the 423rd Motor Rifle Regiment", "2nd Tank Company of the 423rd Motor Rifle Regiment",
     "company", "tank", []),
    ("2nd Motor-Rifle Battalion Tactical Group", "2nd Motor-Rifle Battalion Tactical Group", "battalion",
     "motor-rifle", []),
    ("Rosgvardiya", "Rosgvardiya", None, "national-guard", []),
    ("51st Guards Combined Arms Army (ex-1st Army Corps DNR)", "51st Guards Combined Arms Army", "army",
     "combined-arms", ["1st Army Corps DNR"]),
    ("1117th Anti-Aircraft Missile Regiment", "1117th Anti-Aircraft Missile Regiment", "regiment", "air-defence", []),
    ("3-я мотострелковая дивизия", "3-я мотострелковая дивизия", None, None, []),
]


@pytest.mark.parametrize("written, name, echelon, branch, aliases", NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_name_rules_read_echelon_branch_and_former_names(rules, written, name, echelon, branch, aliases):
    reading = rules.read(written)
    assert (reading.name, reading.echelon, reading.branch) == (name, echelon, branch)
    assert set(aliases) <= set(reading.aliases)
    if echelon is not None:
        assert any(r.startswith("echelon-word:") for r in reading.reasons)


# Branches of service and arms: no echelon amplifier of their own (2525D/APP-6 "00"), whatever their size;
# an echelon word after the service word still counts ("Joint Forces Command"), one before it does not.
SERVICE_CASES = [
    ("VDV (Russian Airborne Forces)", None, "airborne"),
    ("Russian Airborne Forces", None, "airborne"),
    ("Airborne Troops", None, "airborne"),
    ("Strategic Rocket Forces", None, "missile"),
    ("Russian Ground Forces", None, None),
    ("Special Operations Forces", None, "special-forces"),
    ("National Guard Troops", None, "national-guard"),
    ("Coastal Troops, Baltic Fleet", None, None),
    ("Northern Fleet Coastal Forces", None, None),
    ("Naval Infantry", None, "naval-infantry"),
    ("Rosgvardia", None, "national-guard"),
    ("Joint Forces Command", "command", "command"),
    ("Airborne Forces Command", "command", "airborne"),
    ("Black Sea Fleet", "command", None),
    ("3rd Special Forces Brigade", "brigade", "special-forces"),
]


@pytest.mark.parametrize("written, echelon, branch", SERVICE_CASES, ids=[c[0] for c in SERVICE_CASES])
def test_a_branch_of_service_has_no_echelon(rules, written, echelon, branch):
    reading = rules.read(written)
    assert (reading.echelon, reading.branch) == (echelon, branch), reading.reasons
    said = [r for r in reading.reasons if r.startswith("branch-of-service:")]
    words = {"forces", "troops"} & set(words_of(written))
    # The rule says why whenever a service word is in the name and decides it.
    assert bool(said) == (bool(words) and echelon is None), reading.reasons


def test_the_service_words_are_data(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: branch-of-service\n    params:\n      words: [forces, voyska]\n", encoding="utf-8")
    rules = load_unit_rules([path])
    assert rules.read("Vozdushno-desantnye voyska").echelon is None
    assert rules.read("Airborne Troops").echelon is None  # no echelon word: none either way
    path.write_text("rules:\n  - id: branch-of-service\n    params:\n      words: forces\n", encoding="utf-8")
    from orbat.units import InvalidUnits

    with pytest.raises(InvalidUnits, match="branch-of-service"):
        load_unit_rules([path])


# An echelon word that qualifies the next word of a branch phrase is no echelon ("Army Aviation" is the arm of
# helicopters); one at the end of a branch phrase still is ("Control Brigade", "Guard Battalion").
QUALIFIER_CASES = [
    ("Army Aviation", None, "army-aviation"),
    ("Army Aviation of the Ground Forces", None, "army-aviation"),
    ("Russian Army Aviation", None, "army-aviation"),
    ("Army Aviation Command", "command", "army-aviation"),
    ("11th Army Aviation Brigade", "brigade", "army-aviation"),
    ("155th Control Brigade", "brigade", "command"),
    ("Guard Battalion", "battalion", "security"),
    ("20th Guards Combined Arms Army", "army", "combined-arms"),
    ("Leningrad Military District", "region", "combined-arms"),
]


@pytest.mark.parametrize("written, echelon, branch", QUALIFIER_CASES, ids=[c[0] for c in QUALIFIER_CASES])
def test_an_echelon_word_qualifying_a_branch_is_no_echelon(rules, written, echelon, branch):
    reading = rules.read(written)
    assert (reading.echelon, reading.branch) == (echelon, branch), reading.reasons
    passed = [r for r in reading.reasons if "qualifies the branch" in r]
    assert bool(passed) == (echelon is None), reading.reasons  # said when it decided


_BRANCH_PHRASES = sorted({p for p in ("army aviation", "control brigade", "guard battalion", "motor rifle",
                                      "combined arms", "anti-tank", "air defence", "electronic warfare")})


@settings(max_examples=60, deadline=None)
@given(number=st.integers(1, 999), branch=st.sampled_from(_BRANCH_PHRASES),
       echelon=st.sampled_from(["Brigade", "Regiment", "Battalion", "Division", "Company"]))
def test_the_echelon_word_at_the_end_decides_whatever_branch_comes_before(rules, number, branch, echelon):
    reading = rules.read(f"{number}th {branch.title()} {echelon}")
    assert reading.echelon == echelon.lower(), reading.reasons


# A group of forces (gruppirovka voysk) groups armies: army-group, unless it is the parent of a named unit.
GROUPING_CASES = [
    ("Southern Group of Forces", "army-group"),
    ("Joint Group of Forces", "army-group"),
    ("Group of Soviet Forces in Germany", "army-group"),
    ("Northern Group of Troops", "army-group"),
    ("Группировка войск «Юг»", "army-group"),
    ("Группа советских войск в Германии", "army-group"),
    ("1st Battalion of the Southern Group of Forces", "battalion"),
    ("Wagner Group", "regiment"),
    ("Battle Group Centre", "regiment"),
]


@pytest.mark.parametrize("written, echelon", GROUPING_CASES, ids=[c[0] for c in GROUPING_CASES])
def test_a_group_of_forces_is_an_army_group(rules, written, echelon):
    reading = rules.read(written)
    assert reading.echelon == echelon, reading.reasons
    said = [r for r in reading.reasons if r.startswith("group-of-forces:")]
    assert bool(said) == (echelon == "army-group"), reading.reasons


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=12))
def test_any_named_group_of_forces_is_an_army_group(rules, word):
    from orbat.unit_rules import ECHELONS

    words = words_of(word)
    reading = rules.read(f"{word} Group of Forces")
    if rules.echelon_of(word) is None and not {"group", "of", "forces"} & set(words):
        assert reading.echelon == "army-group", reading.reasons
    assert reading.echelon in ECHELONS


def test_the_group_of_forces_rule_checks_its_parameters(tmp_path):
    from orbat.units import InvalidUnits

    path = tmp_path / "r.yaml"
    good = "rules:\n  - id: group-of-forces\n    params:\n      groups: [group]\n      services: [forces]\n"
    path.write_text(good + "      echelon: army\n", encoding="utf-8")
    assert load_unit_rules([path]).read("Southern Group of Forces").echelon == "army"
    for bad, what in ((good + "      echelon: horde\n", "echelon"), (good + "      echelon: army\n      gap: 9\n", "gap"),
                      (good.replace("[group]", "[battle group]") + "      echelon: army\n", "groups")):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(InvalidUnits, match=f"group-of-forces.*{what}"):
            load_unit_rules([path])


def test_a_former_affiliation_is_a_note_not_a_name(rules):
    reading = rules.read("4th Separate Motor Rifle Brigade (ex-LNR)")
    assert reading.name == "4th Separate Motor Rifle Brigade"
    assert "LNR" not in reading.aliases and reading.notes == ["formerly of LNR"]
    assert any("names no unit" in r for r in reading.reasons)


def test_every_name_rule_says_what_it_does():
    assert set(NAME_RULES) == set(RULE_HELP)
    assert all(len(text) > 20 for text in RULE_HELP.values())


def test_rules_beside_the_database_extend_the_bundled_ones(tmp_path):
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "unit-rules.yaml").write_text(
        "rules:\n  - id: echelon-word\n    params:\n      words:\n        brigade: [brigade, brigada]\n"
        "        division: [division, diviziya]\n", encoding="utf-8")
    rules = load_unit_rules(db_url=f"sqlite:///{tmp_path / 'orbat.db'}")
    assert rules.read("3-я мотострелковая дивизия").echelon == "division"  # transliterated: diviziya
    assert rules.read("423rd Motor Rifle Regiment").echelon is None  # the replaced rule has no regiment
    assert rules.read("423rd Motor Rifle Regiment").branch == "motor-rifle"  # the other rules stay


def test_a_bad_rules_file_is_refused_naming_the_rule(tmp_path):
    from orbat.units import InvalidUnits

    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: echelon-word\n    params:\n      words:\n        brigadier: [brigade]\n")
    with pytest.raises(InvalidUnits, match="unknown echelon.*brigadier"):
        load_unit_rules([path])
    path.write_text("rules:\n  - id: no-such-rule\n")
    with pytest.raises(InvalidUnits, match="unknown unit rule.*no-such-rule"):
        load_unit_rules([path])


def hierarchy(rules, **extra) -> list[dict]:
    return [
        {"id": "4gtd", "name": "4th Guards Tank Division", "echelon": "division", "branch": "tank",
         "actor": "Russia"},
        {"id": "423mrr", "name": "423rd Motor Rifle Regiment", "parent": "4gtd", "echelon": "regiment",
         "branch": "motor-rifle", "actor": "Russia", **extra},
        {"id": "1-423", "name": "1st Battalion, 423rd Motor Rifle Regiment", "parent": "423mrr",
         "echelon": "battalion", "branch": "motor-rifle", "actor": "Russia"},
        {"id": "13gtr", "name": "13th Guards Tank Regiment", "parent": "4gtd", "echelon": "regiment",
         "branch": "tank", "actor": "Russia"},
    ]


def sightings() -> pd.DataFrame:
    return make_frame([
        # one convoy of the battalion, filmed twice: max-merged, not added
        {"sighting_id": "v1", "convoy": "c1", "observed_at": "2022-02-24", "equipment": "BMP-2", "count": 8,
         "unit": "1st Battalion, 423rd Motor Rifle Regiment", "actor": "Russia", "lat": 50.1, "lon": 36.2},
        {"sighting_id": "v2", "convoy": "c1", "observed_at": "2022-02-24", "equipment": "BMP-2", "count": 6,
         "unit": "1st Battalion, 423rd Motor Rifle Regiment", "actor": "Russia"},
        {"sighting_id": "l1", "observed_at": "2022-02-27", "equipment": "BMP-2", "count": 2, "event": "destroyed",
         "unit": "1st Battalion, 423rd Motor Rifle Regiment", "actor": "Russia"},
        # known only from losses: it had at least those
        {"sighting_id": "l2", "observed_at": "2022-03-01", "equipment": "T-72B3", "count": 3, "event": "captured",
         "unit": "13th Guards Tank Regiment", "actor": "Russia"},
        {"sighting_id": "l3", "observed_at": "2022-03-02", "equipment": "T-72B3", "count": 1, "event": "damaged",
         "unit": "13th Guards Tank Regiment", "actor": "Russia"},
        # a unit nobody registered: kept, read from its name, unplaced
        {"sighting_id": "l4", "observed_at": "2022-03-03", "equipment": "BMD-2", "count": 1, "event": "destroyed",
         "unit": "331st Guards Airborne Regiment", "actor": "Russia"},
        {"sighting_id": "x1", "observed_at": "2022-03-04", "equipment": "Ural-4320", "count": 4},
    ])


GOLDEN_TREE = """\
4th Guards Tank Division [division, armour] 10011000211205000000: 0 seen, 0 lost, 0 on hand, 0 sightings
  13th Guards Tank Regiment [regiment, armour] 10011000171205000000: 3 seen, 3 lost, 0 on hand, 2 sightings
  423rd Motor Rifle Regiment [regiment, motorised infantry] 10011000171211040000: 0 seen, 0 lost, 0 on hand, 0 sightings
    1st Battalion, 423rd Motor Rifle Regiment [battalion, motorised infantry] 10011000161211040000: 8 seen, 2 lost, 6 on hand, 3 sightings
Unplaced (read from sightings; confirm with `orbat units set NAME --parent P`):
  331st Guards Airborne Regiment [regiment, airborne] 10011000171211000001: 1 seen, 1 lost, 0 on hand, 1 sighting
"""


def test_golden_tree_of_a_small_hierarchy(rules):
    register = build_register(rules, stored=hierarchy(rules), named=sightings())
    orbat = Orbat(register, sightings())
    assert tree_text(orbat.tree()) == GOLDEN_TREE


def test_tree_as_of_a_date_counts_earlier_rows_and_hides_later_names(rules):
    frame = sightings()
    orbat = Orbat(build_register(rules, stored=hierarchy(rules), named=frame), frame)
    text = tree_text(orbat.tree(as_of="2022-02-28"))
    assert "1st Battalion, 423rd Motor Rifle Regiment [battalion, motorised infantry] 10011000161211040000: " \
           "8 seen, 2 lost, 6 on hand, 3 sightings" in text
    assert "13th Guards Tank Regiment [regiment, armour] 10011000171205000000: 0 seen" in text
    assert "331st" not in text  # known only from a later sighting


def test_tree_of_one_actor(rules):
    frame = sightings()
    orbat = Orbat(build_register(rules, stored=hierarchy(rules), named=frame), frame)
    assert orbat.tree(actor="Ukraine") == []
    assert len(orbat.tree(actor="russia")) == 5


def test_unit_figures_count_the_most_it_had_and_what_is_left(rules):
    frame = sightings()
    orbat = Orbat(build_register(rules, stored=hierarchy(rules), named=frame), frame)
    table = orbat.equipment().set_index(["unit_id", "equipment_id"])
    battalion = table.loc[("1-423", "bmp-2")]
    assert (battalion["seen_max"], battalion["lost"], battalion["count"], battalion["on_hand"]) == (8, 2, 8, 6)
    tanks = table.loc[("13gtr", "t-72b3")]
    assert (tanks["seen_max"], tanks["captured"], tanks["damaged"], tanks["count"], tanks["on_hand"]) == (0, 3, 1, 3, 0)


def test_an_unknown_unit_name_is_registered_not_refused(rules):
    register = build_register(rules, named=sightings())
    unit = register.require("331st Guards Airborne Regiment")
    assert (unit.echelon, unit.branch, unit.parent, unit.placed, unit.actor) == (
        "regiment", "airborne", None, False, "Russia")
    assert [u.name for u in register.unplaced()] == [
        "1st Battalion, 423rd Motor Rifle Regiment", "13th Guards Tank Regiment", "331st Guards Airborne Regiment"]


def test_a_former_name_finds_the_unit(rules):
    frame = make_frame([{"sighting_id": "a", "observed_at": "2022-02-24", "equipment": "T-80BVM", "count": 1,
                         "event": "destroyed", "unit": "71st Guards Motor Rifle Division (ex-200th Brigade)"},
                        {"sighting_id": "b", "observed_at": "2022-03-24", "equipment": "T-80BVM", "count": 1,
                         "event": "destroyed", "unit": "200th Brigade"}])
    register = build_register(rules, named=frame)
    assert len(register) == 1
    orbat = Orbat(register, frame)
    assert orbat.equipment()["lost"].tolist() == [2]


def test_a_cycle_of_parents_is_refused_with_the_cycle_named(rules):
    register = build_register(rules, stored=hierarchy(rules))
    with pytest.raises(UnitCycle, match="4th Guards Tank Division -> 1st Battalion, 423rd Motor Rifle Regiment "
                                        "-> 423rd Motor Rifle Regiment -> 4th Guards Tank Division"):
        set_unit(register, "4th Guards Tank Division", parent="1st Battalion, 423rd Motor Rifle Regiment")
    assert register.require("4th Guards Tank Division").parent is None  # nothing changed


def test_a_cycle_in_stored_units_is_refused(rules):
    with pytest.raises(UnitCycle, match="units would be their own parents: "):
        build_register(rules, stored=[*hierarchy(rules), {"id": "x", "name": "X Brigade", "parent": "x"}])


def test_an_unknown_parent_is_a_clear_error(rules):
    register = build_register(rules, stored=hierarchy(rules))
    with pytest.raises(UnknownUnit, match="unknown unit '5th Guards Tank Divison' \\(did you mean 4th Guards Tank Division"):
        set_unit(register, "423rd Motor Rifle Regiment", parent="5th Guards Tank Divison")
    with pytest.raises(UnknownUnit, match="unit '423rd Motor Rifle Regiment': parent 'nope' is not a unit"):
        build_register(rules, stored=hierarchy(rules, parent="nope"))


def test_units_file_beside_the_database(tmp_path, rules):
    from orbat.units import unit_files

    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "units.yaml").write_text(
        "units:\n  - id: 4gtd\n    name: 4th Guards Tank Division\n    aliases: [4 GTD]\n    echelon: division\n"
        "    branch: tank\n    sources: [https://example.org/4gtd]\n", encoding="utf-8")
    files = unit_files(db_url=f"sqlite:///{tmp_path / 'orbat.db'}")
    register = build_register(rules, files=files)
    assert register.require("4 gtd").sources == ("https://example.org/4gtd",)
    (tmp_path / "catalogs" / "units.yaml").write_text("units:\n  - id: 4gtd\n    name: X\n    echelon: huge\n")
    from orbat.units import InvalidUnits

    with pytest.raises(InvalidUnits, match="entry 1 \\(4gtd\\), field echelon: .*unknown echelon 'huge'"):
        build_register(rules, files=files)


# ------------------------------------------------------------------ invariants

_UNIT_NAMES = ["1st Tank Regiment", "2nd Motor Rifle Brigade", "3rd Guards Airborne Division", None]


@st.composite
def frames_and_attachments(draw):
    n = draw(st.integers(1, 12))
    records = []
    for i in range(n):
        records.append({
            "sighting_id": f"s{i}", "convoy": draw(st.sampled_from(["c1", "c2", "c3", None])),
            "observed_at": f"2022-03-{draw(st.integers(1, 28)):02d}",
            "equipment": draw(st.sampled_from(["T-72B3", "BMP-2", "Ural-4320"])), "count": draw(st.integers(0, 9)),
            "event": draw(st.sampled_from(["sighting", "arrival", "destroyed", "damaged", "captured"])),
            "unit": draw(st.sampled_from(_UNIT_NAMES)), "actor": "Russia",
            "captor": None})
    for r in records:
        if r["event"] == "captured":
            r["captor"] = "Ukraine"
    attachments = draw(st.dictionaries(st.sampled_from(["c1", "c2", "c3"] + [f"s{i}" for i in range(n)]),
                                       st.sampled_from(["1st-tank-regiment", "2nd-motor-rifle-brigade"]),
                                       max_size=3))
    return make_frame(records), attachments


@settings(max_examples=60, deadline=None)
@given(frames_and_attachments())
def test_attaching_and_detaching_never_changes_inventory_totals(rules, catalog, case):
    from orbat.actors import load_actors
    from orbat.inventory import holdings

    frame, attachments = case
    register = build_register(rules, stored=[{"id": "1st-tank-regiment", "name": "1st Tank Regiment"},
                                             {"id": "2nd-motor-rifle-brigade", "name": "2nd Motor Rifle Brigade"}],
                              named=frame)
    actors = load_actors()
    before = [h.to_dict() for h in holdings(frame, catalog, actors)]

    def losses(orbat: Orbat) -> dict[str, int]:
        """Every loss counted once: on a unit, or on no unit."""
        figures = orbat.equipment()
        free = orbat.units.isna().to_numpy()
        return {event: int(figures[event].sum()) + int(frame.loc[free & frame["event"].eq(event).to_numpy(),
                                                                  "count"].sum())
                for event in ("destroyed", "damaged", "abandoned", "captured")}

    detached = Orbat(register, frame)
    attached = Orbat(register, frame, dict(attachments))
    again = Orbat(register, frame, {})
    # the actor inventory does not look at units at all
    assert [h.to_dict() for h in holdings(frame, catalog, actors)] == before
    # attaching moves losses between units, never creates or removes one
    assert losses(attached) == losses(detached) == losses(again)
    # rows that name a unit keep it whatever is attached
    named = frame["unit"].notna().to_numpy()
    assert (attached.units[named] == detached.units[named]).all()
    # detaching restores the figures exactly
    pd.testing.assert_frame_equal(again.equipment(), detached.equipment())


@settings(max_examples=200, deadline=None)
@given(echelon=st.sampled_from([*ECHELONS, None]), branch=st.sampled_from([None, "tank", "airborne", "ew", "nope"]),
       identity=st.sampled_from(["unknown", "friend", "hostile", "neutral"]))
def test_every_sidc_has_20_digits_and_its_echelon(rules, echelon, branch, identity):
    from orbat.units import IDENTITIES

    unit = Unit(id="u", name="Some Unit", echelon=echelon, branch=branch)
    sidc = rules.sidc(unit, identity)
    assert len(sidc) == 20 and sidc.isdigit()
    assert sidc[8:10] == (ECHELONS[echelon] if echelon else "00")
    assert sidc[3] == IDENTITIES[identity] and sidc[4:6] == "10"


def test_the_store_keeps_units_and_attachments(store_url, rules):
    from orbat.store import open_store
    from orbat.units import attach, detach, load_orbat, update_unit

    with open_store(store_url) as store:
        store.import_frame(sightings())
        orbat = load_orbat(store)
        update_unit(store, orbat, "4th Guards Tank Division", actor="Russia")
        update_unit(store, orbat, "13th Guards Tank Regiment", parent="4th Guards Tank Division",
                    add_sources=["https://example.org/13"])
        attach(store, orbat, "x1", "13th Guards Tank Regiment")
    with open_store(store_url) as store:
        orbat = load_orbat(store)
        regiment = orbat.register.require("13th Guards Tank Regiment")
        assert (regiment.parent, regiment.sources, regiment.placed) == (
            "4th-guards-tank-division", ("https://example.org/13",), True)
        assert orbat.attachments == {"x1": regiment.id}
        assert orbat.equipment().set_index(["unit_id", "equipment_id"]).loc[(regiment.id, "ural-4320"), "count"] == 4
        detach(store, "x1")
        assert store.unit_attachments() == {}
