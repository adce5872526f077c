"""What must always hold for the ledger, whatever the rows (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbat.actors import load_actors
from orbat.catalog import Catalog, parse_catalog_file
from orbat.inventory import holdings
from orbat.sightings import CANONICAL_COLUMNS

CASES = Path(__file__).parent / "cases" / "ledger"

CATALOG = Catalog()
for _entry in parse_catalog_file(CASES / "equipment.yaml"):
    CATALOG.add(_entry, "equipment.yaml")
ACTORS = load_actors()

TYPES = ["t-72", "t-72b3", "bmp-3", "bayraktar-tb2"]
NAMES = ["Wagner", "Africa Corps", "FAMa", "CSP-DPA", "FLA", "Some Militia"]
EVENTS = ["sighting", "arrival", "destroyed", "damaged", "abandoned", "captured"]
DAYS = ["2024-01-01", "2024-07-27", "2024-11-30", "2025-01-17", "2025-06-06", "2025-09-01"]


@st.composite
def ledger_rows(draw, min_size=0, max_size=25):
    n = draw(st.integers(min_size, max_size))
    out = []
    for i in range(n):
        count = draw(st.integers(0, 30))
        extra = draw(st.one_of(st.none(), st.integers(0, 10)))
        event = draw(st.sampled_from(EVENTS))
        out.append({
            "sighting_id": draw(st.sampled_from([f"s{k}" for k in range(8)])),
            "convoy": draw(st.sampled_from([None, "c1", "c2"])),
            "observed_at": draw(st.sampled_from(DAYS)),
            "actor": draw(st.sampled_from(NAMES)),
            "equipment": "x",
            "equipment_id": draw(st.sampled_from(TYPES)),
            "count": count,
            "count_max": None if extra is None else count + extra,
            "event": event,
            "captor": draw(st.sampled_from([None, "FLA", "JNIM"])) if event == "captured" else None,
        })
    return out


def frame(records: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(records, columns=list(CANONICAL_COLUMNS)).astype("object")
    table["count"] = pd.to_numeric(table["count"]).astype("int64")
    table["count_max"] = pd.array(
        [None if pd.isna(v) else int(v) for v in table["count_max"]], dtype="Int64"
    )
    return table


def ledger(records, **kwargs) -> dict:
    return {(h.actor, h.equipment): h.to_dict() for h in holdings(frame(records), CATALOG, ACTORS, **kwargs)}


AS_OF = st.sampled_from([None, *DAYS])
BY = st.sampled_from(["type", "family", "category"])


@settings(max_examples=50, deadline=None)
@given(ledger_rows(), AS_OF, BY)
def test_holdings_are_never_negative_and_within_their_range(records, as_of, by):
    for h in ledger(records, as_of=as_of, by=by).values():
        assert 0 <= h["holdings"] <= h["holdings_max"]
        assert h["holdings"] <= max(h["arrived"], h["seen_max"])


@settings(max_examples=30, deadline=None)
@given(ledger_rows(min_size=1), AS_OF, BY, st.randoms(use_true_random=False))
def test_holdings_do_not_depend_on_row_order(records, as_of, by, rnd):
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert ledger(shuffled, as_of=as_of, by=by) == ledger(records, as_of=as_of, by=by)


@settings(max_examples=30, deadline=None)
@given(ledger_rows(min_size=1), AS_OF, st.data())
def test_a_loss_entered_twice_counts_once(records, as_of, data):
    loss = {
        **data.draw(st.sampled_from(records)),
        "event": data.draw(st.sampled_from(["destroyed", "abandoned", "captured", "damaged"])),
        "sighting_id": "loss-evidence",
    }
    once = ledger([*records, loss], as_of=as_of)
    twice = ledger([*records, loss, dict(loss)], as_of=as_of)
    assert twice == once


@settings(max_examples=30, deadline=None)
@given(ledger_rows(), AS_OF, BY, st.data())
def test_more_arrivals_never_lower_holdings(records, as_of, by, data):
    before = ledger(records, as_of=as_of, by=by)
    arrival = {
        "sighting_id": "new-arrival",
        "convoy": "new-convoy",
        "observed_at": data.draw(st.sampled_from(DAYS)),
        "actor": data.draw(st.sampled_from(NAMES)),
        "equipment": "x",
        "equipment_id": data.draw(st.sampled_from(TYPES)),
        "count": data.draw(st.integers(0, 20)),
        "count_max": None,
        "event": "arrival",
        "captor": None,
    }
    after = ledger([*records, arrival], as_of=as_of, by=by)
    for key, h in before.items():
        assert after[key]["holdings"] >= h["holdings"], key
        assert after[key]["holdings_max"] >= h["holdings_max"], key


@settings(max_examples=25, deadline=None)
@given(ledger_rows(), BY)
def test_holdings_as_of_the_last_day_equal_holdings_of_every_row(records, by):
    last = ledger(records, as_of="2025-12-31", by=by)
    assert {k: v["holdings"] for k, v in last.items()} == {
        k: v["holdings"] for k, v in ledger(records, by=by).items()
    }


@pytest.mark.parametrize("by", ["type", "family", "category"])
def test_grouping_never_loses_arrivals(by):
    records = [
        {"sighting_id": "a", "convoy": None, "observed_at": "2024-01-01", "actor": "FAMa", "equipment": "x",
         "equipment_id": t, "count": 2, "count_max": None, "event": "arrival", "captor": None}
        for t in TYPES
    ]
    assert sum(h["arrived"] for h in ledger(records, by=by).values()) == 2 * len(TYPES)


@settings(max_examples=15, deadline=None)
@given(ledger_rows(min_size=1, max_size=15), st.sampled_from([n for n in NAMES if n in ACTORS]))
def test_timeline_rows_are_holdings_as_of_each_month_end(records, name):
    from orbat.inventory import timeline

    table = timeline(frame(records), CATALOG, ACTORS, actor=name)
    for month in table.index[:: max(1, len(table) // 4)]:
        last_day = (month + pd.offsets.MonthBegin(1) - pd.Timedelta(days=1)).date()
        want = {
            h.equipment: h.holdings
            for h in holdings(frame(records), CATALOG, ACTORS, as_of=last_day, actor=name)
            if h.holdings
        }
        have = {k: int(v) for k, v in table.loc[month].items() if v}
        assert have == want, month
