"""Tags (the row-level `tags` column): indicators in estimates, decoys as 0..n in estimates and the inventory."""

from __future__ import annotations

from estimate_helpers import frame_of
from orbat.actors import load_actors
from orbat.convoy import aggregate_convoys
from orbat.estimate import estimate_convoys
from orbat.inventory import holdings
from orbat.observation import parse_tags


def _tagged(rows, tags, catalog):
    frame = frame_of(rows, catalog)
    frame["tags"] = tags
    return frame


def test_tags_parse_as_a_comma_separated_set():
    assert parse_tags(" Cope cage, Z,,decoy , z") == ("cope cage", "z", "decoy")
    assert parse_tags(None) == () and parse_tags(float("nan")) == ()


def test_cope_cages_become_an_indicator(catalog):
    frame = _tagged([
        {"sighting_id": "a", "equipment": "T-72B3", "count": 6},
        {"sighting_id": "a", "equipment": "T-72B3", "count": 1},
        {"sighting_id": "b", "equipment": "T-72B3", "count": 4},
    ], ["cope cage, Z", None, "cope cage"], catalog)
    [e] = estimate_convoys(frame, catalog)
    tags = {t["tag"]: t for t in e.to_dict()["indicators"]["tags"]}
    # The most one sighting showed caged (6), of the 7 tanks the convoy has.
    assert (tags["cope cage"]["vehicles"], tags["cope cage"]["of"]) == (6, 7)
    assert tags["cope cage"]["text"] == "cope cage on 6 of 7 tank"
    assert tags["z"]["vehicles"] == 6


def test_decoys_count_as_zero_to_n_in_estimates(catalog):
    rows = [{"equipment": "T-72B3", "count": 3}, {"equipment": "Toyota Hilux", "count": 4}]
    real = aggregate_convoys(_tagged(rows, [None, None], catalog), catalog).totals().loc["c1"]
    decoy = aggregate_convoys(_tagged(rows, [None, "decoy"], catalog), catalog).totals().loc["c1"]
    assert (real["total"], real["total_max"]) == (7, 7)
    assert (decoy["total"], decoy["total_max"]) == (3, 7)
    [e] = estimate_convoys(_tagged(rows, [None, "Decoy, inflatable"], catalog), catalog)
    [note] = [t for t in e.to_dict()["indicators"]["tags"] if t["tag"] == "decoy"]
    assert "0-4" in note["text"]


def test_decoys_are_never_sure_vehicles_in_the_inventory(catalog):
    frame = _tagged([
        {"sighting_id": "arr", "equipment": "Toyota Hilux", "count": 5, "event": "arrival"},
        {"sighting_id": "arr2", "equipment": "Toyota Hilux", "count": 3, "event": "arrival"},
        {"sighting_id": "hit", "equipment": "Toyota Hilux", "count": 2, "event": "destroyed"},
    ], [None, "decoy", "decoy"], catalog)
    frame["actor"] = "FAMa"
    frame["convoy"] = None
    [line] = holdings(frame, catalog, load_actors())
    # 5 real + 0..3 decoys arrived; the 2 destroyed were decoys: no sure loss.
    assert (line.holdings, line.holdings_max) == (5, 8)


def test_frames_without_tags_run_as_before(catalog):
    # a frame from an older caller, without the tags column the canonical frame now carries
    frame = frame_of([{"equipment": "T-72B3", "count": 3}], catalog).drop(columns=["tags"], errors="ignore")
    assert "tags" not in frame
    [e] = estimate_convoys(frame, catalog)
    assert e.to_dict()["indicators"]["tags"] == []


def test_tag_codes_are_the_row_tags_each_text_parsed_once():
    import pandas as pd

    from orbat.observation import row_tags, tag_codes

    frame = pd.DataFrame({"tags": ["cope cage", None, "decoy, cope cage", "cope cage", float("nan"), ""]})
    codes, parsed = tag_codes(frame)
    assert [parsed[c] for c in codes.tolist()] == row_tags(frame)
    assert parsed[codes[1]] == parsed[codes[4]] == ()
    assert tag_codes(pd.DataFrame({"other": [1]})) is None
