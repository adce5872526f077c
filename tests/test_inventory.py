"""The holdings ledger: golden ledgers (hand-computed) and the edges of its semantics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from orbat.actors import load_actors
from orbat.catalog import Catalog, parse_catalog_file
from orbat.datafiles import read_yaml
from orbat.errors import UnknownActor, UsageError
from orbat.inventory import Holding, holdings, timeline, unlisted_actors
from orbat.sightings import CANONICAL_COLUMNS

CASES = Path(__file__).parent / "cases" / "ledger"
GOLDEN = sorted(p.stem for p in CASES.glob("*.csv"))


@pytest.fixture(scope="module")
def ledger_catalog() -> Catalog:
    """A small fixed catalog, so golden figures do not move when the bundled one grows."""
    catalog = Catalog()
    for entry in parse_catalog_file(CASES / "equipment.yaml"):
        catalog.add(entry, "equipment.yaml")
    return catalog


@pytest.fixture(scope="module")
def actors():
    return load_actors()


def canonical(raw: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """The canonical frame of an interchange-format table (strings), names resolved by ``catalog``."""
    raw = raw.astype("object").where(raw.notna() & (raw.astype(str) != ""), None)
    frame = raw.reindex(columns=list(CANONICAL_COLUMNS)).astype("object")
    frame["equipment_id"] = [catalog.resolve(name).id for name in raw["equipment"]]
    frame["count"] = pd.to_numeric(frame["count"]).astype("int64")
    frame["count_max"] = pd.to_numeric(frame["count_max"]).astype("Int64")
    frame["credibility"] = pd.to_numeric(frame["credibility"]).astype("Int64")
    frame["lat"] = pd.to_numeric(frame["lat"]).astype("float64")
    frame["lon"] = pd.to_numeric(frame["lon"]).astype("float64")
    frame["event"] = frame["event"].fillna("sighting")
    return frame


def read_case(name: str, catalog: Catalog) -> pd.DataFrame:
    return canonical(pd.read_csv(CASES / f"{name}.csv", dtype=str, keep_default_na=False), catalog)


def rows(*records: dict, catalog: Catalog) -> pd.DataFrame:
    """A canonical frame from a few dicts (sighting_id, observed_at, equipment, count at least)."""
    return canonical(pd.DataFrame([{k: (None if v is None else str(v)) for k, v in r.items()} for r in records]), catalog)


# --------------------------------------------------------------------------- golden ledgers


@pytest.mark.parametrize("case", GOLDEN)
def test_golden_ledger(case, ledger_catalog, actors):
    frame = read_case(case, ledger_catalog)
    expected = read_yaml(CASES / f"{case}.yaml")
    assert expected["checks"], "a golden case without checks cannot fail"
    for check in expected["checks"]:
        got = holdings(
            frame, ledger_catalog, actors,
            as_of=check["as_of"], by=check.get("by", "type"), actor=check.get("actor"),
        )
        want = [{**h, "evidence": [str(e) for e in h["evidence"]]} for h in check["holdings"]]
        # (`placed`, losses named at family or category level, is tested in test_inventory_levels.py)
        have = [{k: v for k, v in h.to_dict().items() if k not in ("label", "placed")} for h in got]
        assert have == want, f"{case} as of {check['as_of']} by {check.get('by', 'type')}"
    if "timeline" in expected:
        spec = expected["timeline"]
        table = timeline(frame, ledger_catalog, actors, actor=spec["actor"])
        assert table.index[0].date() == spec["first"]
        assert table.index[-1].date() == spec["last"]
        for month, values in spec["rows"].items():
            row = table.loc[pd.Timestamp(month)]
            for column, value in values.items():
                assert int(row.get(column, 0)) == value, f"{case} timeline {month} {column}"


def test_every_golden_csv_has_its_expectations():
    assert GOLDEN, "no golden ledgers found"
    for case in GOLDEN:
        assert (CASES / f"{case}.yaml").is_file(), case


# --------------------------------------------------------------------------- semantics


def test_holdings_range_and_reason(ledger_catalog, actors):
    frame = rows(
        {"sighting_id": "a", "observed_at": "2024-01-01", "actor": "FAMa", "equipment": "T-72", "count": 3, "count_max": 5, "event": "arrival"},
        {"sighting_id": "b", "observed_at": "2024-02-01", "actor": "FAMa", "equipment": "T-72", "count": 1, "event": "destroyed"},
        catalog=ledger_catalog,
    )
    (h,) = holdings(frame, ledger_catalog, actors)
    assert (h.holdings, h.holdings_max) == (2, 4)
    assert h.lost == 1 and h.actor_id == "fama" and h.label == "T-72"
    assert "arrived 3" in h.reason and "destroyed 1" in h.reason and h.reason.endswith("= 2")


def test_losses_beyond_arrivals_floor_at_zero_and_say_so(ledger_catalog, actors):
    frame = rows(
        {"sighting_id": "x", "observed_at": "2024-01-01", "actor": "FAMa", "equipment": "TB2", "count": 2, "event": "destroyed"},
        catalog=ledger_catalog,
    )
    (h,) = holdings(frame, ledger_catalog, actors)
    assert (h.holdings, h.holdings_max, h.destroyed) == (0, 0, 2)
    assert "floored at 0" in h.reason


def test_time_of_day_counts_for_its_date(ledger_catalog, actors):
    frame = rows(
        {"sighting_id": "a", "observed_at": "2024-01-01T23:59:00", "actor": "FAMa", "equipment": "TB2", "count": 2, "event": "arrival"},
        catalog=ledger_catalog,
    )
    assert holdings(frame, ledger_catalog, actors, as_of="2024-01-01")[0].holdings == 2
    assert holdings(frame, ledger_catalog, actors, as_of=dt.date(2023, 12, 31)) == []


def test_unlisted_and_missing_actors_are_kept(ledger_catalog, actors):
    frame = rows(
        {"sighting_id": "a", "observed_at": "2024-01-01", "actor": "Katiba Macina", "equipment": "technical", "count": 4},
        {"sighting_id": "b", "observed_at": "2024-01-01", "actor": None, "equipment": "technical", "count": 1},
        {"sighting_id": "c", "observed_at": "2024-01-02", "actor": "JNIM", "equipment": "technical", "count": 1,
         "event": "captured", "captor": "Some Militia"},
        catalog=ledger_catalog,
    )
    got = {(h.actor, h.holdings, h.actor_id) for h in holdings(frame, ledger_catalog, actors)}
    assert got == {("Katiba Macina", 4, None), ("(no actor)", 1, None), ("JNIM", 0, "jnim"), ("Some Militia", 1, None)}
    assert unlisted_actors(frame, actors) == ["Katiba Macina", "Some Militia"]


def test_unresolved_equipment_is_kept_under_its_written_name(ledger_catalog, actors):
    frame = rows(
        {"sighting_id": "a", "observed_at": "2024-01-01", "actor": "FAMa", "equipment": "TB2", "count": 1},
        catalog=ledger_catalog,
    )
    frame = pd.concat([frame, frame.assign(sighting_id="b", equipment="Wing Loong II", equipment_id=None)], ignore_index=True)
    by_type = {h.equipment: h for h in holdings(frame, ledger_catalog, actors)}
    assert by_type["?Wing Loong II"].label == "Wing Loong II (not in catalog)"
    assert by_type["?Wing Loong II"].holdings == 1


def test_driven_and_carried_rows_of_one_sighting_add_up(ledger_catalog, actors):
    frame = rows(
        {"sighting_id": "a", "convoy": "c", "observed_at": "2024-01-01", "actor": "Wagner", "equipment": "T-72", "count": 2, "mode": "driven", "event": "arrival"},
        {"sighting_id": "a", "convoy": "c", "observed_at": "2024-01-01", "actor": "Wagner", "equipment": "T-72", "count": 3, "mode": "carried", "event": "arrival"},
        {"sighting_id": "b", "convoy": "c", "observed_at": "2024-01-01", "actor": "Wagner", "equipment": "T-72", "count": 4, "event": "arrival"},
        catalog=ledger_catalog,
    )
    assert holdings(frame, ledger_catalog, actors)[0].arrived == 5


def test_driven_and_carried_losses_of_one_sighting_add_up(ledger_catalog, actors):
    # One photo: 3 T-72 destroyed on the road and 2 more destroyed on their transporters. Two entries
    # (the store keys them by mode too), five vehicles: the loss dedupe counted the larger row only (3).
    loss = {"sighting_id": "p", "observed_at": "2024-02-01", "actor": "Wagner", "equipment": "T-72",
            "event": "destroyed"}
    frame = rows(
        {"sighting_id": "a", "convoy": "c", "observed_at": "2024-01-01", "actor": "Wagner", "equipment": "T-72",
         "count": 10, "mode": "driven", "event": "arrival"},
        {**loss, "count": 3, "mode": "driven"},
        {**loss, "count": 2, "mode": "carried"},
        {**loss, "count": 2, "mode": "carried"},  # the carried row entered twice: still counts once
        catalog=ledger_catalog,
    )
    [held] = holdings(frame, ledger_catalog, actors)
    assert (held.destroyed, held.holdings) == (5, 5)
    over_time = timeline(frame, ledger_catalog, actors, actor="Wagner")
    assert over_time.loc["2024-02-01", "t-72"] == 5
    # A row without a mode is a driven one (the importer's default), so it repeats the driven row.
    [held] = holdings(pd.concat([frame, rows({**loss, "count": 3}, catalog=ledger_catalog)]), ledger_catalog,
                      actors)
    assert held.destroyed == 5


def test_bad_arguments_are_usage_errors(ledger_catalog, actors):
    frame = read_case("succession", ledger_catalog)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        holdings(frame, ledger_catalog, actors, as_of="17/01/2025")
    with pytest.raises(UsageError, match="type, family, category"):
        holdings(frame, ledger_catalog, actors, by="colour")
    with pytest.raises(UnknownActor, match="Wagner Group"):
        holdings(frame, ledger_catalog, actors, actor="Wagnr")
    with pytest.raises(UsageError, match="frequency"):
        timeline(frame, ledger_catalog, actors, actor="Africa Corps", freq="fortnightly")


def test_empty_frame(ledger_catalog, actors):
    frame = read_case("succession", ledger_catalog).iloc[:0]
    assert holdings(frame, ledger_catalog, actors) == []
    assert timeline(frame, ledger_catalog, actors, actor="Africa Corps").empty


def test_to_dict_has_the_documented_keys():
    h = Holding(actor="A", equipment="t-72", label="T-72", arrived=1, seen_max=0, destroyed=0, damaged=0,
                abandoned=0, captured=0, holdings=1, holdings_max=1, evidence=("s",))
    assert list(h.to_dict()) == [
        "actor", "equipment", "label", "arrived", "seen_max", "destroyed", "damaged", "abandoned",
        "captured", "holdings", "holdings_max", "evidence", "placed",
    ]


def test_timeline_shows_the_predecessor_handing_over(ledger_catalog, actors):
    frame = read_case("succession", ledger_catalog)
    wagner = timeline(frame, ledger_catalog, actors, actor="Wagner")
    assert wagner.loc["2025-05-01", "gaz-tigr"] == 5
    assert wagner.loc["2025-06-01"].sum() == 0  # passed to Africa Corps on 6 June
    quarterly = timeline(frame, ledger_catalog, actors, actor="Africa Corps", freq="QS", by="category")
    assert quarterly.index.name == "period"
    assert quarterly.loc["2025-04-01", "tank"] == 10


def test_timeline_end_reaches_a_later_succession(ledger_catalog, actors):
    frame = read_case("succession", ledger_catalog)
    early = frame[frame["observed_at"] < "2025-02-01"]
    table = timeline(early, ledger_catalog, actors, actor="Africa Corps")
    assert table.index[-1] == pd.Timestamp("2025-06-01")
    assert table.loc["2025-06-01", "gaz-tigr"] == 22


def test_large_loss_list_is_fast_enough(ledger_catalog, actors):
    """An Oryx-style list of 10^5 loss rows goes through a few group-bys (no per-row Python)."""
    n = 100_000
    types = ["t-72", "bmp-3", "btr-80", "ural-4320", "gaz-tigr"]
    frame = pd.DataFrame({
        "sighting_id": [f"loss-{i}" for i in range(n)],
        "convoy": None,
        "observed_at": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        "actor": ["Wagner" if i % 3 else "FAMa" for i in range(n)],
        "equipment": "x",
        "equipment_id": [types[i % 5] for i in range(n)],
        "count": 1,
        "count_max": pd.array([None] * n, dtype="Int64"),
        "event": ["destroyed", "captured", "abandoned", "damaged"] * (n // 4),
        "captor": ["JNIM" if i % 4 == 1 else None for i in range(n)],
    })
    got = holdings(frame, ledger_catalog, actors, as_of="2024-06-30")
    assert sum(h.destroyed + h.captured + h.abandoned + h.damaged for h in got if h.actor != "JNIM") == len(
        frame[frame["observed_at"] <= "2024-06-30"]
    )
    assert all(h.holdings == 0 for h in got if h.actor != "JNIM")


@pytest.mark.parametrize("case", ["arrivals_and_losses", "sightings_lower_bound", "succession"])
def test_the_reader_gives_the_same_ledger_as_the_test_helper(case, ledger_catalog, actors):
    """The golden cases are built with ``canonical()``; the real reader must agree with it."""
    from orbat.sightings import read_sightings

    read = read_sightings(CASES / f"{case}.csv", ledger_catalog)
    for by in ("type", "category"):
        assert holdings(read, ledger_catalog, actors, by=by, as_of="2025-12-31") == holdings(
            read_case(case, ledger_catalog), ledger_catalog, actors, by=by, as_of="2025-12-31"
        )
