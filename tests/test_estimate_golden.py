"""Golden cases: a sightings file in, the expected estimate out (tests/cases/<name>.csv + .expected.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name[: -len(".expected.yaml")] for p in CASES.glob("*.expected.yaml"))


@pytest.fixture(scope="module")
def doctrine():
    from orbat.doctrine import load_doctrine

    return load_doctrine()


def _subset(expected, actual, where: str) -> None:
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{where}: missing {key}"
            _subset(value, actual[key], f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def test_there_are_enough_cases():
    assert len(NAMES) >= 13
    assert "bamako-expeditionary-btg" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_golden_case(name, catalog, doctrine):
    from orbat.estimate import estimate_convoys
    from orbat.sightings import read_sightings

    expected = yaml.safe_load((CASES / f"{name}.expected.yaml").read_text(encoding="utf-8"))
    frame = read_sightings(CASES / f"{name}.csv", catalog)
    [result] = estimate_convoys(frame, catalog, doctrine)
    data = result.to_dict()
    best = data["best"]
    assert best["template"] == expected["template"], data["trace"]
    assert best["kind"] == expected["kind"]
    assert best["echelon"] == expected["echelon"]
    assert data["vehicles"]["total"] == expected["total"]
    breakdown = [{k: v for k, v in b.items() if k != "size"} for b in best["breakdown"]]
    assert breakdown == expected["breakdown"]
    # A doctrinal case fits its template clearly.
    assert best["confidence"] >= expected.get("min_confidence", 0.7)
    _subset(expected.get("indicators", {}), data["indicators"], "indicators")
    _subset(expected.get("by_category", {}), data["vehicles"]["by_category"], "by_category")
