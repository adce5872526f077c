"""`orbat estimate` output modes: compact, indented and streamed JSON, --trace, the many-convoy table."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_csv
from orbat import jsonio
from orbat.overview import COLUMNS

CONVOYS = 40


@pytest.fixture(scope="module")
def many_csv(tmp_path_factory, catalog):
    """A file of 40 synthetic convoys (and a few loss reports), as the benchmarks write them."""
    return generate_csv(tmp_path_factory.mktemp("many") / "many.csv", convoys=CONVOYS, seed=3, catalog=catalog)


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_compact_indented_and_streamed_json_hold_the_same_objects(cli, many_csv):
    compact = cli("estimate", many_csv, "--json")
    indented = cli("estimate", many_csv, "--json", "--indent")
    streamed = cli("estimate", many_csv, "--jsonl")
    for result in (compact, indented, streamed):
        assert result.exit_code == 0, result.output
    assert "\n" not in compact.stdout.rstrip("\n")  # piped: one line
    assert indented.stdout.startswith("[\n  {\n    \"convoy\"")
    objects = json.loads(compact.stdout)
    assert len(objects) == CONVOYS
    assert json.loads(indented.stdout) == objects
    assert _lines(streamed.stdout) == objects
    # the same objects the library makes, in the same order (the default trace for many convoys: best)
    assert [o["convoy"] for o in objects] == sorted(o["convoy"] for o in objects)


def test_the_default_trace_keeps_the_winners_reasons(cli, many_csv):
    objects = json.loads(cli("estimate", many_csv, "--json").stdout)
    full = json.loads(cli("estimate", many_csv, "--json", "--trace", "full").stdout)
    none = json.loads(cli("estimate", many_csv, "--json", "--trace", "none").stdout)
    for best, every, bare in zip(objects, full, none):
        winner = best["best"]["template"]
        assert best["trace"] and {item["template"] for item in best["trace"]} == {winner}
        assert best["trace"] == [item for item in every["trace"] if item["template"] == winner]
        assert "trace" not in bare
        assert {k: v for k, v in best.items() if k != "trace"} == bare
    assert any(len({i["template"] for i in o["trace"]}) == 2 for o in full)


def test_few_convoys_keep_the_full_trace_by_default(cli, mali_csv):
    [data] = json.loads(cli("estimate", mali_csv, "--json").stdout)
    assert len({item["template"] for item in data["trace"]}) == 2  # the estimate and the runner-up


def test_jsonl_and_json_are_exclusive_and_indent_needs_json(cli, mali_csv):
    both = cli("estimate", mali_csv, "--json", "--jsonl")
    assert both.exit_code == 2 and "--json and --jsonl do not go together" in both.stderr
    alone = cli("estimate", mali_csv, "--jsonl", "--indent")
    assert alone.exit_code == 2 and "--indent goes with --json" in alone.stderr
    bad = cli("estimate", mali_csv, "--json", "--trace", "some")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_the_summary_view_lists_every_convoy(cli, many_csv):
    result = cli("estimate", many_csv)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("  ")[0] == "convoy" and "top reason" in lines[0]
    keys = {o["convoy"] for o in json.loads(cli("estimate", many_csv, "--json").stdout)}
    rows = [line.split()[0] for line in lines[2:] if line.startswith("convoy-")]
    assert sorted(rows) == rows and set(rows) == keys and len(rows) == CONVOYS
    assert f"{CONVOYS} convoys, sorted by convoy" in result.stdout
    assert "--convoy KEY" in result.stdout  # how to get the panels
    assert "alternatives" not in result.stdout  # no panels for many convoys


def test_the_summary_view_sorts_and_its_rows_match_the_json(cli, many_csv):
    objects = {o["convoy"]: o for o in json.loads(cli("estimate", many_csv, "--json").stdout)}
    result = cli("estimate", many_csv, "--sort", "vehicles")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines()[2:] if line.startswith("convoy-")]
    totals = []
    for line in rows:
        convoy, vehicles = line.split()[:2]
        data = objects[convoy]
        v = data["vehicles"]
        assert vehicles == (str(v["total"]) if v["total"] == v["total_max"] else f"{v['total']}-{v['total_max']}")
        assert data["best"]["label"] in line and f"{data['best']['confidence']:.2f}" in line
        totals.append(v["total_max"])
    assert totals == sorted(totals, reverse=True)


def test_convoy_option_shows_the_panels(cli, many_csv):
    result = cli("estimate", many_csv, "--convoy", "convoy-000001")
    assert result.exit_code == 0, result.output
    assert "alternatives" in result.stdout and "why (rules" in result.stdout


def test_control_characters_in_names_do_not_reach_the_terminal(cli, tmp_path):
    path = tmp_path / "esc.csv"
    rows = ["sighting_id,convoy,observed_at,equipment,count"]
    rows += [f"s{i},c\x1b[31m{i},2025-01-17,T-72,3" for i in range(FEW + 1)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = cli("estimate", path)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "c?[31m0" in result.stdout


FEW = 5


# --------------------------------------------------------------------------- the JSON module


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(JSON_VALUES, max_size=6))
def test_array_and_lines_round_trip_any_json(items):
    import io

    compact, indented, lines = io.BytesIO(), io.BytesIO(), io.BytesIO()
    assert jsonio.write_json(items, compact) == len(items)
    jsonio.write_json(items, indented, indent=True)
    jsonio.write_jsonl(items, lines, batch=2)
    assert json.loads(compact.getvalue()) == items
    assert json.loads(indented.getvalue()) == items
    assert [json.loads(line) for line in lines.getvalue().splitlines()] == items
    # the indented array is laid out line for line as the standard library lays it out
    expected = json.dumps(items, indent=2, ensure_ascii=False) + "\n"
    assert [len(line) - len(line.lstrip()) for line in indented.getvalue().decode().splitlines()] == \
        [len(line) - len(line.lstrip()) for line in expected.splitlines()]


def test_numpy_dates_and_other_values_are_encoded():
    import datetime as dt

    import numpy as np

    data = {"n": np.int64(3), "x": np.float64(0.5), "a": np.arange(3), "d": dt.date(2025, 1, 17),
            "t": dt.datetime(2025, 1, 17, 8, 30), 1: "key", "p": __import__("pathlib").Path("a/b")}
    back = json.loads(jsonio.dumps(data))
    assert back == {"n": 3, "x": 0.5, "a": [0, 1, 2], "d": "2025-01-17", "t": "2025-01-17T08:30:00",
                    "1": "key", "p": "a/b"}
    assert jsonio.dumps({"name": "Т-72Б3"}) == '{"name":"Т-72Б3"}'.encode()


def test_the_columns_of_the_overview():
    assert COLUMNS == ("convoy", "vehicles", "estimate", "echelon", "kind", "confidence", "top reason")


def test_jsonl_writes_the_first_line_at_once_then_in_batches():
    class Recorder:
        def __init__(self):
            self.writes, self.flushes = [], 0

        def write(self, data):
            self.writes.append(data)

        def flush(self):
            self.flushes += 1

    out = Recorder()
    made = []

    def items():
        for i in range(10):
            made.append(i)
            yield {"i": i}

    assert jsonio.write_jsonl(items(), out, batch=4) == 10
    assert out.writes[0] == b'{"i":0}\n'  # written before the second item was even made
    assert [w.count(b"\n") for w in out.writes] == [1, 4, 4, 1]
    assert out.flushes == len(out.writes)


def test_the_cli_sort_choices_are_the_overviews():
    from orbat.cli.estimate import SortKey
    from orbat.overview import SORT_KEYS

    assert tuple(k.value for k in SortKey) == SORT_KEYS
