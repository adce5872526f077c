"""The benchmark suite: its data generator and its runner (smoke tests, nothing timed)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate import MAX_TYPES, MIN_TYPES, generate, generate_csv
from benchmarks.runner import _growth, _verdict, Measured, main
from orbat.sightings import COLUMNS, LOSS_EVENTS, read_sightings


@pytest.fixture(scope="module")
def sample(catalog) -> pd.DataFrame:
    return generate(3_000, seed=7, catalog=catalog)


def test_same_seed_same_file_byte_for_byte(tmp_path, catalog):
    a = generate_csv(tmp_path / "a.csv", 500, seed=3, catalog=catalog).read_bytes()
    b = generate_csv(tmp_path / "b.csv", 500, seed=3, catalog=catalog).read_bytes()
    c = generate_csv(tmp_path / "c.csv", 500, seed=4, catalog=catalog).read_bytes()
    assert a == b
    assert a != c


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(min_value=1, max_value=400), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_exactly_the_rows_asked_in_the_interchange_columns(catalog, rows, seed):
    frame = generate(rows, seed=seed, catalog=catalog)
    assert len(frame) == rows
    assert tuple(frame.columns) == COLUMNS
    # one equipment type at most once per sighting: the store would refuse a repeat
    ids = frame["equipment"].map(lambda name: catalog.lookup(name).id)
    assert not pd.DataFrame({"s": frame["sighting_id"], "e": ids}).duplicated().any()


def test_generated_file_reads_cleanly(tmp_path, catalog):
    path = generate_csv(tmp_path / "s.csv", 2_000, seed=11, catalog=catalog)
    frame = read_sightings(path, catalog)  # raises InvalidSightings listing any problem
    assert len(frame) == 2_000


def test_generated_file_imports_with_the_cli(tmp_path, cli, catalog):
    path = generate_csv(tmp_path / "s.csv", 300, seed=5, catalog=catalog)
    result = cli("import", path, "--db", f"sqlite:///{tmp_path / 'orbat.db'}")
    assert result.exit_code == 0, result.output


def test_looks_like_a_real_archive(sample, catalog):
    per_sighting = sample.groupby("sighting_id").size()
    assert per_sighting.max() <= MAX_TYPES
    convoys = sample[sample["convoy"] != ""]
    sightings_per_convoy = convoys.groupby("convoy")["sighting_id"].nunique()
    assert set(sightings_per_convoy.unique()) <= {1, 2, 3}
    assert (sightings_per_convoy > 1).any()
    # full convoy sightings have at least MIN_TYPES types (the file's last sighting may be cut short)
    full = per_sighting[per_sighting.index.isin(convoys["sighting_id"])].iloc[:-1]
    assert full.min() >= MIN_TYPES
    losses = sample[sample["event"].isin(LOSS_EVENTS)]
    assert len(losses) > 0 and (losses["convoy"] == "").all()
    assert (sample.loc[sample["event"] == "captured", "captor"] != "").all()
    assert (sample.loc[sample["event"] != "captured", "captor"] == "").all()
    names = set(sample["equipment"])
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in name) for name in names), "no Cyrillic alias"
    assert any(name not in {e.name for e in catalog} for name in names), "no alias at all"
    notes = " ".join(sample["notes"])
    assert "," in notes and '"' in notes
    assert (sample["count_max"] != "").any()


def test_convoys_mode_gives_that_many_convoys(catalog):
    frame = generate(convoys=50, seed=1, catalog=catalog)
    assert frame.loc[frame["convoy"] != "", "convoy"].nunique() == 50


def test_rows_or_convoys_not_both(catalog):
    with pytest.raises(ValueError):
        generate(10, convoys=10, catalog=catalog)
    with pytest.raises(ValueError):
        generate(catalog=catalog)


def test_runner_at_a_tiny_size_writes_its_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["--steps", "import,validate,estimate,export", "--sizes", "60", "--convoys", "5",
                 "--repeat", "1", "--info-repeat", "0", "--out", str(out), "--work", str(tmp_path / "w")])
    assert code == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["machine"]["nproc"] >= 1 and result["machine"]["versions"]["pandas"]
    by_case = {r["case"]: r for r in result["rows"]}
    for case in ("import.orbat", "validate.orbat", "estimate.orbat", "export.orbat"):
        row = by_case[case]
        assert row["status"] == "ok", row
        assert row["orbat_s"] > 0 and row["bare_s"] > 0 and row["orbat_peak_mb"] > 0
    runs = {m["case"]: m for m in result["measurements"]}
    assert runs["import.bare"]["runs"][0]["rows"] == 60
    assert "written:" in capsys.readouterr().out


def test_a_missing_orbat_function_is_reported_as_missing(tmp_path, monkeypatch, capsys):
    from benchmarks import _worker, steps

    def setup(spec):
        return steps._need("orbat.estimate", "no_such_function")

    monkeypatch.setitem(steps.CASES, "fake.missing", steps.Case("fake.missing", "estimate", "orbat", "-",
                                                                  setup, lambda state: {}))
    assert _worker.main([json.dumps({"case": "fake.missing", "work": str(tmp_path)})]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["status"] == "missing" and "no_such_function" in line["detail"]
    m = Measured("fake.missing", 10)
    m.runs = [line]
    assert m.status == "missing" and m.median is None
    with pytest.raises(steps.Missing):
        steps._need("orbat.no_such_module", "anything")


def test_a_failing_setup_is_an_error_row_not_a_crash(tmp_path):
    from benchmarks.runner import run_case

    done = run_case("validate.pydantic", {"work": str(tmp_path), "file": str(tmp_path / "absent.csv"), "rows": 1},
                    timeout=300)
    assert done["status"] == "error" and "setup" in done["detail"] and "absent.csv" in done["detail"]


def _measured(case, seconds, peak_kb=100_000):
    m = Measured(case, 200_000)
    m.runs = [{"status": "ok", "seconds": s, "peak_kb": peak_kb} for s in seconds]
    return m


def test_verdicts_judge_ratios_memory_and_growth():
    target, met, _ = _verdict("import", 200_000, _measured("import.orbat", [1.4]), _measured("import.bare", [1.0]))
    assert met is True and "1.5x" in target
    _, met, why = _verdict("import", 200_000, _measured("import.orbat", [1.6]), _measured("import.bare", [1.0]))
    assert met is False and "1.60x" in why
    _, met, why = _verdict("import", 200_000, _measured("import.orbat", [1.0], peak_kb=2 * 1024**2),
                           _measured("import.bare", [1.0]))
    assert met is False and "GB" in why
    _, met, _ = _verdict("export", 1_000, _measured("export.orbat", [9.0]), _measured("export.bare", [1.0]))
    assert met is None  # not judged where fixed costs dominate
    rows = [{"case": "estimate.orbat", "size": 2_000, "orbat_s": 0.1, "bare_s": 0.01},
            {"case": "estimate.orbat", "size": 20_000, "orbat_s": 1.2, "bare_s": 0.1}]
    (growth,) = _growth(rows)
    assert growth["met"] is False and growth["orbat_s"] == 12.0


def test_show_prints_an_earlier_run_as_markdown(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["--steps", "validate", "--sizes", "40", "--repeat", "1", "--info-repeat", "0",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["--show", str(out), "--markdown"]) == 0
    text = capsys.readouterr().out
    assert "| validate | `validate.orbat` | 40 |" in text
    assert "CPUs" in text and "pandas" in text


def test_oryx_step_imports_the_whole_training_list_beside_the_bare_path(tmp_path):
    out = tmp_path / "r.json"
    code = main(["--steps", "oryx", "--repeat", "1", "--info-repeat", "0", "--out", str(out),
                 "--work", str(tmp_path / "w")])
    assert code == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    (row,) = [r for r in result["rows"] if r["case"] == "oryx.orbat"]
    assert row["status"] == "ok", row
    assert row["baseline"] == "oryx.bare" and row["file_rows"] == 27_878
    runs = {m["case"]: m for m in result["measurements"]}
    # one row per vehicle: rows that resolve to the same type in one sighting add up into one entry
    assert runs["oryx.bare"]["runs"][0]["rows"] == 27_878
    assert runs["oryx.orbat"]["runs"][0]["vehicles"] == 27_878
    assert runs["oryx.orbat"]["runs"][0]["rows"] <= 27_878
