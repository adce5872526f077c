"""Doctrine files: validation with file/template/field in errors, rule registry, user files."""

from __future__ import annotations

import pytest

from orbat.doctrine import ECHELONS, KINDS, load_doctrine
from orbat.errors import DataFileError, InvalidDoctrine
from orbat.rules import RULES


@pytest.fixture(scope="module")
def doctrine():
    return load_doctrine()


def test_every_rule_has_a_description():
    for rule_id, rule in RULES.items():
        assert rule.description, f"rule {rule_id} has no description"
        assert rule_id == rule_id.lower() and " " not in rule_id


def test_bundled_templates_cover_the_brief(doctrine):
    for template_id in ("tank-platoon", "tank-company", "tank-battalion", "ifv-platoon", "ifv-company",
                        "apc-platoon", "apc-company", "motor-rifle-battalion", "artillery-battery",
                        "artillery-battalion", "mrl-battery", "mrl-battalion", "air-defence-platoon",
                        "air-defence-battery", "recon-patrol", "btg", "expeditionary-btg",
                        "manoeuvre-brigade", "logistics-column", "equipment-delivery"):
        assert template_id in doctrine.templates, template_id


def test_every_template_cites_sources_and_is_consistent(doctrine):
    for template in doctrine:
        assert template.sources, template.id
        assert template.kind in KINDS
        assert template.echelon is None or template.echelon in ECHELONS
        for unit in template.breakdown:
            assert unit in doctrine.units
        assert doctrine.compiled[template.id], template.id


def _write(tmp_path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


TEMPLATE = """
templates:
  - id: my-unit
    label: my unit
    kind: combat
    echelon: company
    description: a test unit
    sources: ["my notes"]
    typical: {tank: 5}
    rules:
      - {rule: count-in-range, of: {category: tank}, min: 4, max: 6, weight: 2}
"""


def test_a_user_file_adds_a_template(tmp_path):
    doctrine = load_doctrine([_write(tmp_path, TEMPLATE)])
    assert "my-unit" in doctrine.templates
    assert "tank-platoon" in doctrine.templates


def test_a_user_folder_is_read_too(tmp_path):
    (tmp_path / "doctrine").mkdir()
    (tmp_path / "doctrine" / "x.yaml").write_text(TEMPLATE, encoding="utf-8")
    assert "my-unit" in load_doctrine([tmp_path]).templates


def test_a_doctrine_folder_beside_the_database_is_read(tmp_path):
    folder = tmp_path / "catalogs" / "doctrine"
    folder.mkdir(parents=True)
    (folder / "x.yaml").write_text(TEMPLATE, encoding="utf-8")
    assert "my-unit" in load_doctrine(db_url=f"sqlite:///{tmp_path / 'orbat.db'}").templates


def test_unknown_rule_lists_the_known_ones(tmp_path):
    path = _write(tmp_path, TEMPLATE.replace("count-in-range", "count-between"))
    with pytest.raises(InvalidDoctrine) as err:
        load_doctrine([path])
    message = str(err.value)
    assert str(path) in message and "'my-unit'" in message and "rules[0].rule" in message
    assert "count-between" in message and "count-in-range" in message and "share-in-range" in message


def test_bad_rule_parameter_names_template_rule_and_field(tmp_path):
    path = _write(tmp_path, TEMPLATE.replace("min: 4, max: 6", "min: 7, max: 6"))
    with pytest.raises(InvalidDoctrine, match=r"template 'my-unit', rules\[0\] \(count-in-range\).*below min"):
        load_doctrine([path])


def test_unknown_category_in_a_selection(tmp_path):
    path = _write(tmp_path, TEMPLATE.replace("of: {category: tank}", "of: {category: tanks}"))
    with pytest.raises(InvalidDoctrine, match=r"unknown category 'tanks'"):
        load_doctrine([path])


def test_missing_field_and_bad_echelon(tmp_path):
    path = _write(tmp_path, TEMPLATE.replace('    sources: ["my notes"]\n', "").replace("echelon: company", "echelon: corps"))
    with pytest.raises(InvalidDoctrine) as err:
        load_doctrine([path])
    message = str(err.value)
    assert "template 'my-unit', field sources" in message
    assert "template 'my-unit', field echelon" in message


def test_unknown_breakdown_unit(tmp_path):
    path = _write(tmp_path, TEMPLATE + "    breakdown: [tank regiment]\n")
    with pytest.raises(InvalidDoctrine, match=r"unknown unit 'tank regiment'"):
        load_doctrine([path])


def test_missing_file(tmp_path):
    with pytest.raises(InvalidDoctrine, match="not found"):
        load_doctrine([tmp_path / "nope.yaml"])


def test_yaml_is_loaded_safely(tmp_path):
    path = _write(tmp_path, "templates: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(DataFileError, match="invalid YAML"):
        load_doctrine([path])


# --- the cache of the doctrine's YAML ---------------------------------------------------


def _aged(path, seconds=3600):
    """A file with an mtime in the past (a file just written is too fresh to cache, by design)."""
    import os
    import time

    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def test_the_doctrine_read_from_the_cache_is_the_parsed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("ORBAT_CACHE_DIR", "off")
    parsed = load_doctrine()
    monkeypatch.setenv("ORBAT_CACHE_DIR", str(tmp_path / "cache"))
    load_doctrine()  # writes the cache
    assert list((tmp_path / "cache" / "doctrine-yaml").glob("*.json"))
    import orbat.datafiles

    monkeypatch.setattr(orbat.datafiles, "read_yaml", lambda path: pytest.fail(f"{path} parsed, its cache fresh"))
    cached = load_doctrine()
    for name in ("templates", "units", "ladder", "origins", "compiled"):
        assert repr(getattr(cached, name)) == repr(getattr(parsed, name)), name


@pytest.mark.parametrize("text, exact", [
    ("a: [1, 2.5, true, null, text]\n", True),
    ("day: 2024-01-02\n", False),  # a date: JSON would give text back
    ("1: one\n", False),  # a number as a key
    ("x: .inf\n", False),
])
def test_only_yaml_that_json_gives_back_exactly_is_cached(tmp_path, monkeypatch, text, exact):
    from orbat.datafiles import read_yaml, read_yaml_cached

    monkeypatch.setenv("ORBAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    _aged(path)
    first, again = read_yaml_cached(path, "test"), read_yaml_cached(path, "test")
    assert first == again == read_yaml(path)
    assert type(next(iter(again))) is type(next(iter(read_yaml(path))))
    (stored,) = (tmp_path / "cache" / "test").glob("*.json")
    assert ('"yaml"' in stored.read_text(encoding="utf-8")) is exact


def test_an_edited_doctrine_file_is_seen(tmp_path, monkeypatch):
    from orbat.datafiles import read_yaml_cached

    monkeypatch.setenv("ORBAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "file.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert read_yaml_cached(_aged(path, 7200), "test") == {"a": 1}
    path.write_text("a: 22\n", encoding="utf-8")
    assert read_yaml_cached(_aged(path), "test") == {"a": 22}
