"""Loss lists as published (Oryx, WarSpotting), column mappings, rows that add up, names kept as written.

Golden files: samples of the training data (tests/data/losses/README.md) imported with a small
test catalog, so the results hold whatever the bundled catalog resolves.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from _frames import dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.catalog import Catalog, parse_catalog_file
from orbat.errors import InputFileError, InvalidSightings, UsageError
from orbat.formats import detect_format
from orbat.formats.columns import parse_columns
from orbat.formats.oryx import sighting_id, system_name
from orbat.sightings import frame_to_records, read_sightings, read_sightings_lenient
from orbat.store import open_store

DATA = Path(__file__).parent / "data" / "losses"
REAL = Path(__file__).parent / "data" / "real"
TODAY = dt.date(2026, 1, 1)


def _catalog(*files: str) -> Catalog:
    catalog = Catalog()
    for name in files:
        for entry in parse_catalog_file(DATA / name):
            catalog.add(entry, name)
    return catalog


@pytest.fixture(scope="module")
def losses_cat() -> Catalog:
    return _catalog("catalog.yaml")


def _stored(url: str) -> list[dict]:
    with open_store(url) as store:
        return frame_to_records(store.sightings_frame())


# ---------------------------------------------------------------- golden files


@pytest.mark.parametrize("sample, expected", [
    ("oryx-sample.csv", "oryx-sample.expected.json"),
    ("warspotting-sample.csv", "warspotting-sample.expected.json"),
    ("warspotting-sample.json", "warspotting-sample.expected.json"),  # the API's form gives the same
])
def test_golden_sample_is_stored_exactly(tmp_path, losses_cat, sample, expected):
    result = read_sightings_lenient(DATA / sample, losses_cat, today=TODAY)
    assert not result.problems
    url = f"sqlite:///{tmp_path / 'losses.db'}"
    with open_store(url) as store:
        store.import_frame(result.frame, source=sample)
    assert _stored(url) == json.loads((DATA / expected).read_text(encoding="utf-8"))
    # the name the test catalog lacks is kept, counted and reported with suggestions
    kept = {u["name"]: u for u in result.unresolved}
    assert kept["BMP-2(K)"]["vehicles"] == (3 if sample.startswith("oryx") else 1)
    assert "MT-LBVM(K)" in kept["BMP-2(K)"]["suggestions"]


def test_kept_name_resolves_after_the_catalog_learns_it(tmp_path, losses_cat, cli):
    url = f"sqlite:///{tmp_path / 'losses.db'}"
    result = read_sightings_lenient(DATA / "oryx-sample.csv", losses_cat, today=TODAY)
    with open_store(url) as store:
        store.import_frame(result.frame, source="oryx-sample.csv")
        assert [u["name"] for u in store.unresolved()] == ["BMP-2(K)"]
    learned = _catalog("catalog.yaml", "catalog-learns.yaml")
    with open_store(url) as store:
        summary = store.reresolve(lambda name: getattr(learned.lookup(name), "id", None))
        assert summary["resolved"] == {"BMP-2(K)": "test-bmp-2k"}
        assert summary["entries"] == 3 and summary["sightings"] == 1
        assert store.unresolved() == []
        frame = store.sightings_frame()
        bmp = frame[frame["equipment"] == "BMP-2(K)"]
        assert bmp["equipment_id"].tolist() == ["test-bmp-2k"] * 3
        assert sorted(bmp["event"]) == ["abandoned", "damaged", "destroyed"]
        history = store.history(bmp["sighting_id"].iloc[0])
        assert history[-1]["replaced_by"] == "orbat catalog reresolve"
        # nothing else changed
        again = store.reresolve(lambda name: getattr(learned.lookup(name), "id", None))
        assert again["resolved"] == {} and again["sightings"] == 0
        resolved = _stored(url)
    # the list again, with a catalog that does not know the name: the resolved entries stay as they are
    with open_store(url) as store:
        assert store.import_frame(result.frame, source="oryx-sample.csv").unchanged == 7
    assert _stored(url) == resolved


def test_reresolve_adds_into_an_entry_of_the_same_key(tmp_path, losses_cat):
    """Two spellings of one type in one sighting become one entry once the catalog knows both."""
    path = tmp_path / "mine.csv"
    path.write_text("sighting_id,observed_at,equipment,count\nv1,2024-01-01,BMP-2(K),2\nv1,2024-01-01,bmp-2 (k),3\n")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = read_sightings_lenient(path, losses_cat, today=TODAY, keep_unresolved=True)
    with open_store(url) as store:
        store.import_frame(result.frame)
        assert len(store.sightings_frame()) == 2
        learned = _catalog("catalog.yaml", "catalog-learns.yaml")
        store.reresolve(lambda name: getattr(learned.lookup(name), "id", None))
        frame = store.sightings_frame()
    assert frame["equipment_id"].tolist() == ["test-bmp-2k"] and frame["count"].tolist() == [5]


# ---------------------------------------------------------------- the readers' rules


def test_oryx_rules():
    assert system_name("156 T-80BV") == "T-80BV"
    assert system_name("2S19 Msta-S") == "2S19 Msta-S"  # a digit in the name is not a counter
    assert system_name("152mm 2S19 Msta-S") == "152mm 2S19 Msta-S"
    assert sighting_id("https://x/1.jpg") == sighting_id("https://x/1.jpg") != sighting_id("https://x/2.jpg")
    assert sighting_id("") == ""


def test_format_is_told_from_the_header():
    assert detect_format(Path("x.csv"), ["country", "origin", "system", "status", "url", "date_recorded"]) == "oryx"
    assert detect_format(Path("x.csv"), ["ID", "Model", "Status", "Lost By", "Date"]) == "warspotting"
    assert detect_format(Path("x.csv"), ["sighting_id", "observed_at", "equipment", "count"]) == "interchange"


def test_a_photo_listed_twice_takes_the_earliest_date(losses_cat):
    result = read_sightings_lenient(DATA / "oryx-sample.csv", losses_cat, today=TODAY)
    msta = result.frame[result.frame["equipment_id"] == "test-2s19"]
    assert msta["observed_at"].tolist() == ["2022-03-19", "2022-03-19"]
    assert any("several dates" in n for n in result.notes)


def test_grade_is_the_sources_default_or_given(losses_cat):
    default = read_sightings(DATA / "oryx-sample.csv", losses_cat, today=TODAY, fmt="oryx")
    assert set(default["reliability"]) == {"B"} and set(default["credibility"]) == {2}
    given_ = read_sightings(DATA / "oryx-sample.csv", losses_cat, today=TODAY, fmt="oryx", grade="c3")
    assert set(given_["reliability"]) == {"C"} and set(given_["credibility"]) == {3}
    with pytest.raises(UsageError, match="--grade 'Z9'"):
        read_sightings(DATA / "oryx-sample.csv", losses_cat, today=TODAY, fmt="oryx", grade="Z9")


def test_the_interchange_format_still_refuses_unknown_names(tmp_path, losses_cat):
    path = tmp_path / "hand.csv"
    path.write_text("sighting_id,observed_at,equipment,count\nv1,2024-01-01,T-80BX,1\n")
    with pytest.raises(InvalidSightings, match="column equipment: not in the equipment catalog"):
        read_sightings(path, losses_cat, today=TODAY)
    kept = read_sightings(path, losses_cat, today=TODAY, keep_unresolved=True)
    assert kept["equipment_id"].tolist() == ["?T-80BX"]


# ---------------------------------------------------------------- rows that add up, the store key


def test_rows_of_one_sighting_type_mode_event_and_actor_add_up(tmp_path, losses_cat):
    path = tmp_path / "tally.csv"
    path.write_text(
        "sighting_id,observed_at,actor,equipment,count,count_max,mode,event,tags,unit,notes\n"
        "v1,2024-01-01,FAMa,T-72B3,1,,driven,sighting,cope cage,1st,a\n"
        "v1,2024-01-01,FAMa,T-72B3,1,2,driven,sighting,\"Z, cope cage\",1st,b\n"
        "v1,2024-01-01,Wagner,T-72B3,1,,driven,sighting,,,\n"
        "v1,2024-01-01,FAMa,T-72B3,2,,carried,sighting,,,\n"
        "v1,2024-01-01,FAMa,T-72B3,1,,driven,destroyed,,,\n")
    result = read_sightings_lenient(path, losses_cat, today=TODAY)
    assert not result.problems and result.added_up == 1
    frame = result.frame
    assert len(frame) == 4
    first = frame.iloc[0]
    assert (first["count"], first["count_max"], first["tags"], first["unit"], first["notes"]) == (
        2, 3, "cope cage, Z", "1st", "a; b")
    assert frame["actor"].tolist() == ["FAMa", "Wagner", "FAMa", "FAMa"]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with open_store(url) as store:
        assert store.import_frame(frame).added == 1
        pd.testing.assert_frame_equal(store.sightings_frame(), frame)
        assert store.import_frame(frame).unchanged == 1
        assert len(store.sightings_frame(actor="wagner")) == 1


one_row = st.fixed_dictionaries({
    "sighting_id": st.sampled_from(["s1", "s2", "s3"]),
    "equipment": st.sampled_from(["T-72B3", "T-80BV", "Ural-4320", "BMP-2(K)"]),
    "mode": st.sampled_from(["driven", "carried"]),
    "event": st.sampled_from(["sighting", "destroyed", "captured"]),
    "actor": st.sampled_from(["", "FAMa", "Wagner"]),
    "count": st.integers(0, 4),
})


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    frame = pd.DataFrame(rows, columns=["sighting_id", "equipment", "mode", "event", "actor", "count"])
    frame.insert(1, "observed_at", frame["sighting_id"].map({"s1": "2024-01-01", "s2": "2024-01-02",
                                                            "s3": "2024-01-03"}))
    frame.to_csv(out, index=False)
    return out.getvalue()


def _counts(url: str) -> dict:
    with open_store(url) as store:
        frame = store.sightings_frame()
    keys = ["sighting_id", "equipment_id", "mode", "event", "actor"]
    return {tuple(k): int(c) for *k, c in frame[keys + ["count"]].fillna("-").itertuples(index=False)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(one_row, min_size=1, max_size=12), seed=st.randoms(use_true_random=False))
def test_any_split_into_one_row_per_vehicle_gives_the_same_counts(tmp_path_factory, losses_cat, rows, seed):
    tmp = tmp_path_factory.mktemp("split")
    whole, split = tmp / "whole.csv", tmp / "split.csv"
    whole.write_text(_csv(rows))
    vehicles = [dict(r, count=1) for r in rows for _ in range(r["count"])] + [r for r in rows if r["count"] == 0]
    seed.shuffle(vehicles)
    split.write_text(_csv(vehicles))
    counts = []
    for path in (whole, split):
        url = f"sqlite:///{tmp / (path.stem + '.db')}"
        with open_store(url) as store:
            store.import_frame(read_sightings(path, losses_cat, today=TODAY, keep_unresolved=True))
        counts.append(_counts(url))
    assert counts[0] == counts[1]


def _oryx_rows() -> tuple[str, list[str]]:
    lines = (REAL / "oryx-2024-07-31" / "event_captured.csv").read_text(encoding="utf-8").splitlines()
    return lines[0], lines[1:81]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_importing_a_list_twice_changes_nothing_and_a_newer_list_only_adds(tmp_path_factory, losses_cat, data):
    header, rows = _oryx_rows()
    newer = data.draw(st.lists(st.sampled_from(rows), min_size=2, max_size=40, unique=True))
    older = newer[: data.draw(st.integers(1, len(newer) - 1))]
    tmp = tmp_path_factory.mktemp("lists")
    url = f"sqlite:///{tmp / 'x.db'}"
    for name, lines in (("older.csv", older), ("newer.csv", newer)):
        (tmp / name).write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    with open_store(url) as store:
        store.import_frame(read_sightings(tmp / "older.csv", losses_cat, today=TODAY))
    before = _stored(url)
    with open_store(url) as store:
        store.import_frame(read_sightings(tmp / "older.csv", losses_cat, today=TODAY))
    assert _stored(url) == before
    with open_store(url) as store:
        store.import_frame(read_sightings(tmp / "newer.csv", losses_cat, today=TODAY))
    after = _stored(url)
    assert all(record in after for record in before)  # nothing changed, nothing lost
    assert len(after) == len(read_sightings(tmp / "newer.csv", losses_cat, today=TODAY))


# ---------------------------------------------------------------- bad input


def _problems(path, cat, **options) -> list[str]:
    with pytest.raises(InvalidSightings) as caught:
        read_sightings(path, cat, today=TODAY, **options)
    return [str(p) for p in caught.value.problems]


def test_warspotting_json_that_is_not_a_list(tmp_path, losses_cat):
    path = tmp_path / "api.json"
    path.write_text('{"losses": {"id": 1}}')
    with pytest.raises(InputFileError, match=r"api.json: 'losses' must be a list of losses, found an object"):
        read_sightings(path, losses_cat, today=TODAY)


def test_warspotting_bad_geo_names_file_row_and_column(tmp_path, losses_cat):
    path = tmp_path / "ws.csv"
    lines = (DATA / "warspotting-sample.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"50.054933,36.360974"', "abc")
    lines[3] = lines[3].replace('"46.191390,33.653860"', '"46.19,abc"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = _problems(path, losses_cat)
    assert f"{path}, row 3, column geo: expected 'lat,lon' in decimal degrees, like '50.05,36.36', got 'abc'" in problems
    assert any(p.startswith(f"{path}, row 4, column geo: expected a decimal number") for p in problems)


def test_future_date_and_unknown_status_name_their_columns(tmp_path, losses_cat):
    path = tmp_path / "oryx.csv"
    lines = (DATA / "oryx-sample.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("2022-09-22", "2027-09-22")
    lines[12] = lines[12].replace(",abandoned,", ",lost,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = _problems(path, losses_cat)
    assert (f"{path}, row 2, column date_recorded: expected a date not in the future (today is 2026-01-01), "
            "got '2027-09-22'") in problems
    assert (f"{path}, row 13, column status: expected a loss status: one of destroyed, damaged, abandoned, "
            "captured, got 'lost'") in problems


def test_a_200_mb_file_is_refused_before_it_is_read(tmp_path, losses_cat):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.write(b'{"losses": [')
        handle.truncate(200 * 1024**2)
    with pytest.raises(InputFileError, match=r"huge.json: 209,715,200 bytes is larger than the 104,857,600-byte "
                                             r"limit for a loss list \(--from warspotting\)"):
        read_sightings(path, losses_cat, today=TODAY)


def test_a_file_that_is_not_the_named_list(tmp_path, losses_cat):
    path = tmp_path / "other.csv"
    path.write_text("sighting_id,observed_at,equipment,count\nv1,2024-01-01,T-72B3,1\n")
    with pytest.raises(InputFileError, match="not a WarSpotting list: missing the columns date, id, lost_by, model"):
        read_sightings(path, losses_cat, today=TODAY, fmt="warspotting")


# ---------------------------------------------------------------- column mappings


def test_columns_mapping_renames_and_keeps_unknown_names(tmp_path, losses_cat):
    path = tmp_path / "mine.csv"
    path.write_text("ref,date_recorded,system,qty,internal\nv1,2024-01-01,T-72B3,2,x\nv1,2024-01-01,T-55AM,1,y\n")
    mapping = parse_columns("ref=sighting_id, date_recorded=observed_at,system=equipment,qty=count,internal=-")
    frame = read_sightings(path, losses_cat, today=TODAY, columns=mapping)
    assert frame["equipment_id"].tolist() == ["test-t-72b3", "?T-55AM"] and frame["count"].tolist() == [2, 1]
    bad = tmp_path / "bad.csv"
    bad.write_text("ref,date_recorded,system,qty\nv1,2024-01-01,T-72B3,two\n")
    problems = _problems(bad, losses_cat,
                         columns=parse_columns("ref=sighting_id,date_recorded=observed_at,system=equipment,qty=count"))
    assert problems == [f"{bad}, row 2, column qty: expected a whole number >= 0, got 'two'"]


def test_columns_mapping_from_yaml_and_its_errors(tmp_path):
    mapping_file = tmp_path / "mine.yaml"
    mapping_file.write_text("columns:\n  system: equipment\n  date recorded: observed_at\n")
    assert parse_columns(str(mapping_file)) == {"system": "equipment", "date recorded": "observed_at"}
    with pytest.raises(UsageError, match="'equipement' is not an interchange column \\(did you mean equipment\\?"):
        parse_columns("system=equipement")
    with pytest.raises(UsageError, match="both 'a' and 'b' are mapped to count"):
        parse_columns("a=count,b=count")
    with pytest.raises(UsageError, match="expected FILE_COLUMN=ORBAT_COLUMN"):
        parse_columns("system")


# ---------------------------------------------------------------- the CLI


#: A name no catalog knows (the CLI tests use the bundled catalog, which grows).
MADE_UP = "Zx-9000 test vehicle"


def test_cli_imports_oryx_told_from_the_header_and_reports(tmp_path, cli):
    db = tmp_path / "x.db"
    sample = tmp_path / "oryx.csv"
    sample.write_text((DATA / "oryx-sample.csv").read_text(encoding="utf-8")
                      + f"Russia,Russia,3 {MADE_UP},destroyed,https://example.org/zx.jpg,2024-01-02,1,2,1,7-1\n"
                      + f"Russia,Russia,4 {MADE_UP},destroyed,https://example.org/zx.jpg,2024-01-02,1,3,1,7-2\n",
                      encoding="utf-8")
    first = cli("import", sample, "--grade", "B3", "--db", db)
    assert first.exit_code == 0, first.output
    assert "(oryx): 8 sightings added, 0 updated, 0 unchanged, 0 rejected (0 rows)" in first.stdout
    assert "1 rows added up into others of the same sighting, type, mode, event and actor" in first.stdout
    assert "names not in the catalog, kept as written" in first.stdout
    assert "several dates" in first.stderr
    again = cli("import", sample, "--from", "oryx", "--grade", "B3", "--db", db)
    assert "0 sightings added, 0 updated, 8 unchanged" in again.stdout
    listed = cli("catalog", "unresolved", "--json", "--db", db)
    assert listed.exit_code == 0, listed.output
    assert {u["name"]: u["vehicles"] for u in json.loads(listed.stdout)}[MADE_UP] == 2
    learns = tmp_path / "learns.yaml"
    learns.write_text(f"entries:\n  - {{id: test-zx-9000, name: {MADE_UP}, family: Zx, category: tank, "
                      "role: combat, armoured: true, crew: 3}\n", encoding="utf-8")
    fixed = cli("catalog", "reresolve", "--db", db, "--catalog", learns)
    assert fixed.exit_code == 0, fixed.output
    assert f"'{MADE_UP}' -> test-zx-9000" in fixed.stdout
    after = cli("catalog", "unresolved", "--json", "--db", db, "--catalog", learns)
    assert MADE_UP not in {u["name"] for u in json.loads(after.stdout)}
    with open_store(f"sqlite:///{db}") as store:
        frame = store.sightings_frame()
    zx = frame[frame["equipment"] == MADE_UP]
    assert zx["equipment_id"].tolist() == ["test-zx-9000"] and zx["count"].tolist() == [2]
    assert set(frame["reliability"]) == {"B"} and set(frame["credibility"]) == {3}


def test_cli_bad_input_changes_nothing(tmp_path, cli):
    db = tmp_path / "x.db"
    ok = cli("import", DATA / "warspotting-sample.json", "--db", db)
    assert ok.exit_code == 0, ok.output
    before = dump(f"sqlite:///{db}")
    bad = tmp_path / "bad.json"
    data = json.loads((DATA / "warspotting-sample.json").read_text(encoding="utf-8"))
    data["losses"][1]["geo"] = "abc"
    data["losses"][2]["status"] = "Lost"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = cli("import", bad, "--db", db)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{bad}, loss 2, column geo: expected 'lat,lon'" in result.stderr
    assert f"{bad}, loss 3, column status: expected a loss status" in result.stderr
    assert dump(f"sqlite:///{db}") == before


def test_cli_columns_and_unit_tags_round_trip_through_the_report(tmp_path, cli):
    db = tmp_path / "x.db"
    assert cli("import", DATA / "warspotting-sample.csv", "--db", db).exit_code == 0
    out = tmp_path / "report.xlsx"
    exported = cli("export", out, "--db", db)
    assert exported.exit_code == 0, exported.output
    db2 = tmp_path / "y.db"
    back = cli("import", out, "--keep-unresolved", "--db", db2)
    assert back.exit_code == 0, back.output
    assert _stored(f"sqlite:///{db2}") == _stored(f"sqlite:///{db}")
    bad = cli("import", DATA / "oryx-sample.csv", "--columns", "system=equipement", "--db", db)
    assert bad.exit_code == 2 and "did you mean equipment?" in bad.stderr


def test_cli_add_takes_unit_and_tags_and_show_lists_them(tmp_path, cli):
    db = tmp_path / "x.db"
    added = cli("add", "--id", "v1", "--date", "2025-01-17", "-e", "T-72B3=6", "--unit", "1st Tank Bn",
                "--tags", "cope cage, Z ,cope cage", "--db", db)
    assert added.exit_code == 0, added.output
    shown = cli("sightings", "show", "v1", "--json", "--db", db)
    (entry,) = json.loads(shown.stdout)["entries"]
    assert (entry["unit"], entry["tags"]) == ("1st Tank Bn", "cope cage, Z")
    table = cli("sightings", "show", "v1", "--db", db)
    assert "1st Tank Bn" in table.stdout and "tags" in table.stdout


def test_rows_add_up_by_value_not_by_spelling(tmp_path, losses_cat):
    """`Driven`, `driven` and an empty mode (the default) are one mode; `T-72B3` and `t72b3` one type."""
    path = tmp_path / "tally.csv"
    path.write_text("sighting_id,observed_at,equipment,count,mode,event\n"
                    "v1,2024-01-01,T-72B3,1,Driven,\nv1,2024-01-01,t72b3,1,,sighting\nv1,2024-01-01,T-72B3,1,driven,SIGHTING\n")
    result = read_sightings_lenient(path, losses_cat, today=TODAY)
    assert result.added_up == 2 and result.frame["count"].tolist() == [3]


def test_hostile_unit_and_tags_from_a_list_never_become_formulas(tmp_path, cli):
    """Text from the internet: a unit or tag that starts like a formula is escaped in every export."""
    lines = (DATA / "warspotting-sample.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("71st Guards Motor Rifle Division (ex-200th Brigade)", '"=HYPERLINK(""http://x"")"')
    lines[1] = lines[1].replace('"Turretless, Mine plow/roller"', '"@SUM(A1), +1"')
    source = tmp_path / "ws.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "x.db"
    assert cli("import", source, "--db", db).exit_code == 0
    with open_store(f"sqlite:///{db}") as store:
        stored = store.sightings_frame(sighting_ids=["warspotting-602"])
    assert stored[["unit", "tags"]].values.tolist() == [['=HYPERLINK("http://x")', "@SUM(A1), +1"]]
    assert cli("export", tmp_path / "out.csv", "--db", db).exit_code == 0
    text = (tmp_path / "out-sightings.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(A1), +1" in text
    assert cli("export", tmp_path / "out.xlsx", "--db", db).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "out.xlsx")["Sightings"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert [(c.data_type, c.value) for c in cells] == [("s", '=HYPERLINK("http://x")')]  # text, not a formula
