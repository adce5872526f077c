"""orbat.report and orbat.assessment: report tables, CSV/JSON export, and the Markdown assessment."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat.assessment import markdown_assessment, md_escape
from orbat.errors import OrbatError, UsageError
from orbat.report import (
    TABLES,
    build_report,
    csv_text,
    export_report,
    probability_words,
    report_format,
    write_report,
)
from orbat.sightings import COLUMNS, read_sightings
from orbat.store import open_store

CONVOY = "bamako-2025-01-17"
HOSTILE = ['=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx", "\rcr", "#N/A"]


@pytest.fixture(scope="module")
def mali_report(mali, catalog):
    return build_report(mali, catalog, filters={"convoy": CONVOY})


def estimate_dict(**best) -> dict:
    """A hand-made estimate in the shape of ``ConvoyEstimate.to_dict()``."""
    return {
        "convoy": CONVOY,
        "sightings": ["capmali-video-01", "social-photo-02"],
        "vehicles": {
            "total": 112, "total_max": 119,
            "by_type": [
                {"id": "t-72", "name": "T-72", "category": "tank", "role": "combat", "count": 6, "count_max": 7, "carried": 0},
                {"id": "bmp-3", "name": "BMP-3", "category": "ifv", "role": "combat", "count": 6, "count_max": 6, "carried": 0},
            ],
            "by_category": {"tank": 6, "ifv": 6}, "by_role": {"combat": 12}, "unknown": [],
        },
        "best": {
            "template": "btg", "label": "battalion tactical group", "kind": "combat", "echelon": "battalion",
            "confidence": 0.78, "score": 0.9, "wins": 0.8,
            "breakdown": [{"unit": "tank platoon", "count": 2, "size": 3},
                          {"unit": "remainder", "category": "apc", "vehicles": 2}],
            "personnel": {"min": 261, "max": 832}, **best,
        },
        "alternatives": [{"template": "tank-company", "label": "tank company", "score": 0.43, "wins": 0.2,
                          "probability": 0.15, "same_answer": False}],
        "trace": [
            {"template": "btg", "rule": "count-in-range", "passed": True, "weight": 2, "score": 1,
             "reason": "tank count 6 within 2-10", "values": {"value": 6, "min": 2, "max": 10}},
            {"template": "btg", "rule": "total-in-range", "passed": False, "weight": 1, "score": 0,
             "reason": "total 112 vehicles outside 150-300", "values": {"value": 112}},
            {"template": "tank-company", "rule": "total-in-range", "passed": False, "weight": 3, "score": 0,
             "reason": "total 112 vehicles above 14", "values": {"value": 112}},
        ],
        "indicators": {},
    }


# --------------------------------------------------------------------------- tables


def test_summary_has_one_row_per_convoy_with_the_max_merged_total(mali_report):
    summary = mali_report.tables["summary"]
    assert list(summary["convoy"]) == [CONVOY]
    row = summary.iloc[0]
    assert row["vehicles"] == 112
    assert row["vehicles_range"] == f"112 (112-{row['vehicles_max']})"
    assert row["vehicles_max"] >= 112
    assert row["sightings"] == 2
    assert row["first_seen"] == row["last_seen"] == dt.date(2025, 1, 17)
    assert row["actor"] == "Africa Corps"
    assert row["best_grade"] == "B2"  # the video is B2, the photo C3: the best one
    best = mali_report.estimates[0]["best"]
    assert row["best_estimate"] == best["label"] and row["echelon"] == best["echelon"]
    assert row["confidence"] == pytest.approx(best["confidence"])
    assert row["likelihood"] == probability_words(best["confidence"])
    assert (row["personnel_min"], row["personnel_max"]) == (best["personnel"]["min"], best["personnel"]["max"])
    assert "Cap Mali+ video" in row["sources"] and "photo shared" in row["sources"]


def test_sightings_table_is_exactly_the_interchange_format(mali_report, mali):
    table = mali_report.tables["sightings"]
    assert tuple(table.columns) == COLUMNS
    assert len(table) == len(mali) == 18


def test_equipment_tables_are_max_merged_as_the_estimator_sees_them(mali_report):
    by_type = mali_report.tables["equipment_by_type"]
    by_category = mali_report.tables["equipment_by_category"]
    assert by_type["count"].sum() == by_category["count"].sum() == 112
    t72 = by_type[by_type["equipment_id"] == "t-72"].iloc[0]
    assert (t72["count"], t72["count_max"]) == (6, 7)  # 6-7 in the video, 6 in the photo: max, not sum
    est = mali_report.estimates[0]["vehicles"]["by_category"]
    assert dict(zip(by_category["category"], by_category["count"])) == est


def test_estimates_and_trace_tables_keep_every_alternative_and_rule(mali_report):
    est = mali_report.estimates[0]
    table = mali_report.tables["estimates"]
    assert table.iloc[0]["template"] == est["best"]["template"] and bool(table.iloc[0]["best"])
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert set(table["template"][1:]) == {a["template"] for a in est["alternatives"]}
    trace = mali_report.tables["trace"]
    assert len(trace) == len(est["trace"])
    assert trace["reason"].notna().all()
    assert set(trace["passed"]) <= {True, False}


def test_composition_tables_feed_the_charts(mali_report):
    by_category = mali_report.composition["category"]
    assert list(by_category.columns) == ["category", CONVOY]
    assert by_category[CONVOY].sum() == 112
    assert by_category[CONVOY].is_monotonic_decreasing  # biggest first, as the chart shows them
    assert mali_report.composition["role"][CONVOY].sum() == 112


def test_inventory_tables_are_there_when_the_module_is(mali_report):
    holdings = mali_report.tables["holdings"]
    assert set(holdings["actor"]) == {"Africa Corps"}
    assert holdings["holdings"].sum() == 112
    timeline = mali_report.tables["timeline"]
    assert timeline["month"].iloc[0] == pd.Timestamp("2025-01-01")
    assert timeline["total"].iloc[0] == 112


def test_report_can_leave_out_the_inventory(mali, catalog):
    report = build_report(mali, catalog, inventory=False)
    assert "holdings" not in report.tables and list(report.tables) == list(TABLES[:6])


@pytest.mark.parametrize("confidence, words", [
    (0.01, "almost no chance"), (0.1, "very unlikely"), (0.3, "unlikely"), (0.5, "roughly even chance"),
    (0.78, "likely"), (0.9, "very likely"), (0.97, "almost certain"), (1.0, "almost certain"), (None, "unknown"),
])
def test_probability_words(confidence, words):
    assert probability_words(confidence) == words


# --------------------------------------------------------------------------- CSV / JSON


@pytest.mark.parametrize("out, fmt", [("r.xlsx", "xlsx"), ("r.CSV", "csv"), ("r.json", "json"), ("out/", "dir"), ("out", "dir")])
def test_report_format_follows_the_suffix(out, fmt):
    assert report_format(out) == fmt


def test_unknown_suffix_is_a_usage_error():
    with pytest.raises(UsageError, match=r"r\.txt: cannot tell the format"):
        report_format("r.txt")


def test_csv_escapes_free_text_but_not_numbers():
    import csv
    import io

    table = pd.DataFrame({"notes": pd.Series(HOSTILE + ["plain"], dtype="str"), "lon": [-8.1] * 8})
    rows = list(csv.reader(io.StringIO(csv_text(table), newline="")))
    assert rows[0] == ["notes", "lon"]
    assert [r[0] for r in rows[1:]] == ["'" + h for h in HOSTILE[:6]] + ["#N/A", "plain"]
    assert {r[1] for r in rows[1:]} == {"-8.1"}  # a negative longitude stays a number


def test_csv_files_one_per_table_and_sightings_reimport_unchanged(tmp_path, mali, catalog):
    hostile = mali.copy()
    # The reader trims cells, so leading tab/CR cannot survive any file; the rest must, exactly.
    kept = [h for h in HOSTILE if h == h.strip()]
    hostile.loc[:len(kept) - 1, "notes"] = kept
    report = build_report(hostile, catalog, inventory=False)
    written = write_report(report, tmp_path / "bamako.csv")
    assert [p.name for p in written] == [f"bamako-{name}.csv" for name in report.tables]
    back = read_sightings(tmp_path / "bamako-sightings.csv", catalog)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), hostile.reset_index(drop=True), check_dtype=False)


def test_folder_export_writes_plain_table_names(tmp_path, mali_report):
    written = write_report(mali_report, tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(f"{name}.csv" for name in mali_report.tables)
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary.loc[0, "vehicles"] == 112


def test_json_is_one_object_of_tables(tmp_path, mali_report):
    (path,) = write_report(mali_report, tmp_path / "r.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["filters"] == {"convoy": CONVOY}
    assert data["generated_at"].endswith("Z")
    for name in mali_report.tables:
        assert len(data[name]) == len(mali_report.tables[name])
    assert data["summary"][0]["first_seen"] == "2025-01-17"
    assert data["sightings"][1]["count_max"] is None  # NA becomes null, not NaN
    assert data["sightings"][0]["lon"] == pytest.approx(-8.120543)


def test_missing_output_folder_is_a_clear_error(tmp_path, mali_report):
    with pytest.raises(OrbatError, match="does not exist"):
        write_report(mali_report, tmp_path / "nowhere" / "r.json")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notes=st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).map(str.strip)
    .filter(bool).map(lambda s: s if len(s) > 1 else s + "x")
    | st.sampled_from(HOSTILE[:4]),
    min_size=18, max_size=18))
def test_csv_round_trip_keeps_any_notes(tmp_path_factory, mali, catalog, notes):
    frame = mali.copy()
    frame["notes"] = pd.Series(notes, dtype="str")
    out = tmp_path_factory.mktemp("csv") / "r.csv"
    write_report(build_report(frame, catalog, estimates=[], inventory=False), out)
    back = read_sightings(out.with_name("r-sightings.csv"), catalog)
    assert back["notes"].tolist() == notes


# --------------------------------------------------------------------------- from the database


def test_export_report_reads_the_filtered_database(tmp_path, db_url, mali, catalog):
    with open_store(db_url) as store:
        store.import_frame(mali, source="sightings.csv")
        report, written = export_report(store, catalog, tmp_path / "r.json", convoy=CONVOY)
        assert written == [tmp_path / "r.json"]
        assert len(report.tables["sightings"]) == 18
        with pytest.raises(OrbatError, match=r"no sightings .* match the filters \(since 2026-01-01\)"):
            export_report(store, catalog, tmp_path / "empty.json", since="2026-01-01")
    assert not (tmp_path / "empty.json").exists()


# --------------------------------------------------------------------------- Markdown


def test_markdown_headline_gives_the_judgement_in_words(mali):
    text = markdown_assessment(estimate_dict(), mali)
    first = text.splitlines()[0]
    assert first == f"# Convoy {CONVOY}: battalion tactical group, likely"
    assert "It is likely (0.78) that the Africa Corps convoy seen at Bamako south-western outskirts on 17 January 2025 is" in text
    assert "112 (112-119) vehicles" in text


def test_markdown_has_composition_estimate_rules_alternatives_and_sources(mali):
    text = markdown_assessment(estimate_dict(), mali)
    for heading in ("## Composition", "## Estimate", "## Decisive rules", "## Alternatives", "## Sources"):
        assert heading in text
    assert "| tank | combat | 6-7 | T-72 6-7 |" in text
    assert "- Breakdown: 2 x tank platoon (+ 2 apc not in a sub-unit)" in text
    assert "- Personnel: 261-832" in text
    assert "| `count-in-range` | passed | 2 | tank count 6 within 2-10 |" in text
    assert "| `total-in-range` | **failed** | 1 | total 112 vehicles outside 150-300 |" in text
    assert "| `tank-company` | tank company | 0.15 | no | 0.43 | 20% |" in text
    assert "Why not tank company: total 112 vehicles above 14." in text
    assert "| capmali-video-01 | 2025-01-17 | Bamako south-western outskirts |" in text and "| B2 |" in text
    assert "| C3 |" in text


def test_markdown_escapes_hostile_text(mali):
    frame = mali.copy()
    frame["place"] = "[click](javascript:alert(1)) <script>x</script> | col"
    frame["source"] = "https://evil.example/a b"  # a space: not a clean URL, so not a link
    text = markdown_assessment(estimate_dict(label="<img src=x onerror=alert(1)>"), frame)
    import re

    unescaped = re.compile(r"(?<!\\)(<script|<img|\[click\]\()")
    assert not unescaped.search(text)
    assert r"\[click\](javascript:alert(1)) \<script>x\</script> \| col" in text
    source_rows = [line for line in text.splitlines() if line.startswith("| capmali-video-01")]
    assert source_rows and all(line.count(" | ") == 4 for line in source_rows)  # no injected columns


def test_markdown_links_only_clean_http_sources(mali):
    frame = mali.copy()
    frame["source"] = "https://t.me/capmali/123"
    assert "<https://t.me/capmali/123>" in markdown_assessment(estimate_dict(), frame)
    frame["source"] = "javascript:alert(1)"
    text = markdown_assessment(estimate_dict(), frame)
    assert "<javascript" not in text and "javascript:alert(1)" in text


def test_md_escape_flattens_lines():
    assert md_escape("a\nb | c") == r"a b \| c"
    assert md_escape(None) == ""


def test_markdown_of_a_real_estimate(mali, catalog):
    from orbat.estimate import estimate_convoys

    (est,) = estimate_convoys(mali, catalog)
    text = markdown_assessment(est.to_dict(), mali)
    assert text.startswith(f"# Convoy {CONVOY}: ")
    assert est.to_dict()["best"]["label"] in text
    assert f"({est.to_dict()['best']['confidence']:.2f})" in text


def test_many_convoys_collapse_into_one_chart_series(ten_convoys, catalog):
    frame = ten_convoys
    report = build_report(frame, catalog, estimates=[], inventory=False)
    assert list(report.composition["category"].columns) == ["category", "all convoys"]
    assert report.composition["category"]["all convoys"].sum() == 10 * 112
    assert len(report.tables["summary"]) == 10
    assert report.tables["summary"]["vehicles"].tolist() == [112] * 10
    assert report.tables["summary"]["best_estimate"].isna().all()  # no estimates given: left empty, not invented


def test_markdown_without_a_match_says_so(mali):
    text = markdown_assessment({"convoy": CONVOY, "vehicles": {}, "best": {}, "alternatives": [], "trace": []}, mali)
    assert text.startswith(f"# Convoy {CONVOY}: no matching unit template\n")
    assert "No unit template matches the Africa Corps convoy seen at Bamako" in text
    assert "No vehicles counted." in text and "- No template matched." in text


def test_a_convoy_of_loss_reports_only_says_so(mali, catalog):
    losses = mali.iloc[:2].copy()
    losses["convoy"] = "losses"
    losses["sighting_id"] = "loss-1"
    losses["event"] = "destroyed"
    frame = pd.concat([mali, losses], ignore_index=True)
    summary = build_report(frame, catalog, inventory=False).tables["summary"].set_index("convoy")
    assert summary.loc["losses", "vehicles_range"] == "loss reports only"
    assert pd.isna(summary.loc["losses", "vehicles"])
    assert summary.loc[CONVOY, "vehicles"] == 112


def test_a_report_of_sightings_without_any_source_builds(catalog):
    # the Summary joins each convoy's sources: none at all once made an empty mask select columns
    from orbat.sightings import raw_from_records, validate_frame

    frame, problems = validate_frame(raw_from_records([
        {"sighting_id": "a", "observed_at": "2024-01-01", "equipment": "T-72B3", "count": 2}]),
        catalog, source="records", first_row=1)
    assert not problems
    report = build_report(frame, catalog, inventory=False)
    (summary,) = report.tables["summary"].to_dict("records")
    assert (summary["convoy"], summary["sources"], summary["place"], summary["vehicles"]) == ("a", "", "", 2)


def test_markdown_says_when_no_template_fits(mali):
    ruled_out = markdown_assessment(estimate_dict(fits=False, score=0, confidence=0.0), mali)
    assert "- Note: no template fits: every one fails a required rule (score 0)" in ruled_out
    weak = markdown_assessment(estimate_dict(fits=False, score=0.26), mali)
    assert "- Note: no template really fits (best score 0.26, below 0.5)" in weak
    assert "- Note:" not in markdown_assessment(estimate_dict(fits=True), mali)
    assert "- Note:" not in markdown_assessment(estimate_dict(), mali)  # older JSON without "fits"
