"""The timeline in one pass equals the ledger re-run as of every period's last day (hypothesis)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orbat.inventory as inventory
from estimate_helpers import frame_of
from orbat.actors import load_actors
from orbat.catalog import load_catalog
from orbat.inventory import holdings, timeline

CATALOG = load_catalog()
ACTORS = load_actors()
# Types, a family-level name (T-72), a category-level one (tank), another family and a name the catalog lacks.
NAMES = ["T-72B3", "T-72B", "T-90M", "T-72", "tank", "BMP-2", "BTR-80", "Mystery wagon"]
# Wagner's holdings pass to Africa Corps on 2025-06-06; FAMa and FLA capture from each other.
ACTORS_WRITTEN = ["Wagner", "Africa Corps", "FAMa", "FLA", "Some Militia"]
EVENTS = ["sighting", "arrival", "destroyed", "damaged", "abandoned", "captured"]
DAYS = ["2024-01-03", "2024-01-29", "2024-04-11", "2024-12-31", "2025-01-17", "2025-06-05", "2025-06-06",
        "2025-07-30", "2025-11-02", "2026-02-14"]


@st.composite
def ledger_records(draw, max_size=30):
    records = []
    for _ in range(draw(st.integers(1, max_size))):
        count = draw(st.integers(0, 12))
        extra = draw(st.one_of(st.none(), st.integers(0, 6)))
        event = draw(st.sampled_from(EVENTS))
        records.append({
            # Few ids: the same loss evidence entered again later, with another count or captor.
            "sighting_id": draw(st.sampled_from([f"s{k}" for k in range(5)])),
            "convoy": draw(st.sampled_from([None, "c1", "c2", "c3"])),
            "observed_at": draw(st.sampled_from(DAYS)),
            "actor": draw(st.sampled_from(ACTORS_WRITTEN)),
            "equipment": draw(st.sampled_from(NAMES)),
            "count": count,
            "count_max": None if extra is None else count + extra,
            "event": event,
            "captor": draw(st.sampled_from([None, "FLA", "FAMa", "Africa Corps"])) if event == "captured" else None,
            "tags": draw(st.sampled_from([None, None, None, "decoy"])),
        })
    return records


def _frame(records) -> pd.DataFrame:
    frame = frame_of([{k: v for k, v in r.items() if k not in ("actor", "captor", "convoy", "tags")}
                      for r in records], CATALOG)
    for column in ("actor", "captor", "convoy", "tags"):
        frame[column] = [r[column] for r in records]
    return frame


def _rerun(rows, names, catalog, by, target, days):
    """The reference: the whole ledger as of each day (what the timeline did before it was one pass)."""
    return [inventory._holdings_by_ledger(rows, names, catalog, by, target, day) for day in days]


def _both(frame, monkeypatch, **kwargs):
    fast = timeline(frame, CATALOG, ACTORS, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(inventory, "_holdings_over_time", _rerun)
        slow = timeline(frame, CATALOG, ACTORS, **kwargs)
    return fast, slow


@settings(max_examples=80, deadline=None)
@given(ledger_records(), st.sampled_from(["Africa Corps", "Wagner", "FAMa", "FLA"]),
       st.sampled_from(["type", "family", "category"]), st.sampled_from(["MS", "QS"]))
def test_one_pass_equals_the_ledger_rerun_each_period(records, actor, by, freq):
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = _both(_frame(records), monkeypatch, actor=actor, by=by, freq=freq)
    pd.testing.assert_frame_equal(fast, slow)


@settings(max_examples=40, deadline=None)
@given(ledger_records(max_size=20))
def test_each_month_is_the_holdings_as_of_its_last_day(records):
    frame = _frame(records)
    table = timeline(frame, CATALOG, ACTORS, actor="Africa Corps")
    for month, row in table.iterrows():
        last_day = (month + pd.offsets.MonthBegin(1) - pd.Timedelta(days=1)).date()
        want = {h.equipment: h.holdings
                for h in holdings(frame, CATALOG, ACTORS, as_of=last_day, actor="Africa Corps") if h.holdings}
        assert {k: int(v) for k, v in row.items() if v} == want, month


def test_a_succession_hands_the_line_over_in_its_month(monkeypatch):
    records = [
        {"sighting_id": "a", "convoy": "c1", "observed_at": "2025-01-17", "actor": "Wagner", "equipment": "T-72B3",
         "count": 5, "count_max": 7, "event": "arrival", "captor": None, "tags": None},
        {"sighting_id": "b", "convoy": "c1", "observed_at": "2025-03-02", "actor": "Wagner", "equipment": "T-72B3",
         "count": 6, "count_max": None, "event": "arrival", "captor": None, "tags": None},
        {"sighting_id": "l", "convoy": None, "observed_at": "2025-08-09", "actor": "Africa Corps",
         "equipment": "tank", "count": 2, "count_max": None, "event": "captured", "captor": "FLA", "tags": None},
    ]
    wagner, slow = _both(_frame(records), monkeypatch, actor="Wagner")
    pd.testing.assert_frame_equal(wagner, slow)
    assert wagner.loc["2025-05-01", "t-72b3"] == 6 and wagner.loc["2025-06-01", "t-72b3"] == 0
    corps, slow = _both(_frame(records), monkeypatch, actor="Africa Corps")
    pd.testing.assert_frame_equal(corps, slow)
    assert corps.loc["2025-06-01", "t-72b3"] == 6 and corps.loc["2025-08-01", "t-72b3"] == 4
    fla, slow = _both(_frame(records), monkeypatch, actor="FLA")
    pd.testing.assert_frame_equal(fla, slow)
    assert fla["generic-tank"].tolist() == [2]


def test_loss_evidence_entered_again_counts_its_largest_so_far(monkeypatch):
    def loss(day, count, captor):
        return {"sighting_id": "oryx-1", "convoy": None, "observed_at": day, "actor": "FAMa", "equipment": "BTR-80",
                "count": count, "count_max": None, "event": "captured", "captor": captor, "tags": None}

    arrival = {"sighting_id": "a", "convoy": "c1", "observed_at": "2024-01-03", "actor": "FAMa",
               "equipment": "BTR-80", "count": 9, "count_max": None, "event": "arrival", "captor": None, "tags": None}
    records = [arrival, loss("2024-02-10", 3, "FLA"), loss("2024-04-01", 2, None), loss("2024-06-20", 5, None)]
    fama, slow = _both(_frame(records), monkeypatch, actor="FAMa")
    pd.testing.assert_frame_equal(fama, slow)
    assert fama["btr-80"].tolist() == [9, 6, 6, 6, 6, 4]
    fla, slow = _both(_frame(records), monkeypatch, actor="FLA")
    pd.testing.assert_frame_equal(fla, slow)
    # The timeline of FLA reads only the rows that name FLA (as before it was one pass): the entries
    # without a captor are not among them, so it keeps the three it took (holdings() would say 0).
    assert set(fla["btr-80"]) == {3}


def test_negative_counts_take_the_rerun(monkeypatch):
    records = [{"sighting_id": "a", "convoy": "c1", "observed_at": "2025-01-17", "actor": "FAMa",
                "equipment": "BTR-80", "count": 4, "count_max": None, "event": "arrival", "captor": None,
                "tags": None}]
    frame = _frame(records)
    frame.loc[0, "count"] = -1
    calls = []
    monkeypatch.setattr(inventory, "_holdings_over_time", lambda *a: calls.append(a) or [])
    table = timeline(frame, CATALOG, ACTORS, actor="FAMa")
    assert not calls and table["btr-80"].tolist() == [0]
