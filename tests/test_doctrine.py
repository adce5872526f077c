"""Doctrine files: validation with file/template/field in errors, rule registry, user files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the cache of the validated doctrine (orbat.validated) -------------------------------


def test_the_validated_doctrine_comes_back_the_same_from_its_cache(tmp_path, monkeypatch):
    """Every bundled template, unit, ladder and rule parameter, built back from the cache, is the validated one,
    value by value and type by type; and a fresh cache validates nothing."""
    import orbat.doctrine
    from orbat.validated import same

    monkeypatch.setenv("ORBAT_CACHE_DIR", "off")
    validated = load_doctrine()
    monkeypatch.setenv("ORBAT_CACHE_DIR", str(tmp_path / "cache"))
    load_doctrine()  # writes the cache
    assert len(list((tmp_path / "cache" / "doctrine").glob("*.json"))) >= 2
    monkeypatch.setattr(orbat.doctrine, "parse_doctrine_file", lambda path: pytest.fail(f"{path} validated"))
    cached = load_doctrine()
    for name in ("templates", "units", "ladder", "origins"):
        assert same(getattr(cached, name), getattr(validated, name)), name
    assert cached.compiled.keys() == validated.compiled.keys()
    for tid, rules in validated.compiled.items():
        for mine, theirs in zip(cached.compiled[tid], rules, strict=True):
            assert same(mine.params, theirs.params) and mine.rule == theirs.rule and mine.weight == theirs.weight
            assert mine.data == theirs.data and mine.text == theirs.text


def test_a_file_whose_models_json_cannot_give_back_is_validated_every_time(tmp_path, monkeypatch):
    """An infinite maximum is a valid parameter JSON cannot hold: the file is not kept, and reads the same."""
    import orbat.doctrine

    monkeypatch.setenv("ORBAT_CACHE_DIR", str(tmp_path / "cache"))
    text = (DOCTRINE_YAML.replace("max: 12", "max: .inf"))
    assert text != DOCTRINE_YAML
    path = _aged(_written(tmp_path / "mine.yaml", text))
    first = load_doctrine([path]).compiled["my-template"]
    seen = []
    real = orbat.doctrine.parse_doctrine_file
    monkeypatch.setattr(orbat.doctrine, "parse_doctrine_file", lambda p: seen.append(p) or real(p))
    again = load_doctrine([path]).compiled["my-template"]
    assert seen == [path]  # the bundled files came from the cache, this one was validated again
    assert repr(again) == repr(first) and again[0].params.max == float("inf")


def test_an_edited_file_is_validated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ORBAT_CACHE_DIR", str(tmp_path / "cache"))
    path = _aged(_written(tmp_path / "mine.yaml", DOCTRINE_YAML), 7200)
    assert load_doctrine([path]).compiled["my-template"][0].params.max == 12
    _aged(_written(path, DOCTRINE_YAML.replace("max: 12", "max: 1")))
    with pytest.raises(InvalidDoctrine, match="max 1 is below min 3"):
        load_doctrine([path])


def _written(path, text):
    path.write_text(text, encoding="utf-8")
    return path


DOCTRINE_YAML = """\
templates:
  - id: my-template
    label: My template
    kind: combat
    echelon: platoon
    description: A test template.
    sources: [a test]
    typical: {tank: 3}
    rules:
      - rule: count-in-range
        of: {category: tank}
        min: 3
        max: 12
"""


@settings(max_examples=200, deadline=None)
@given(low=st.one_of(st.integers(0, 10**6), st.floats(0, 1e9, allow_nan=False)),
       width=st.one_of(st.none(), st.integers(0, 100), st.floats(0, 1e300), st.just(float("inf"))),
       categories=st.lists(st.sampled_from(["tank", "ifv", "apc", "truck", "recon"]), max_size=3))
def test_dumped_data_builds_back_the_same_model_or_nothing(low, width, categories):
    """What must always hold: a kept model is built back exactly (ints stay ints, tuples tuples), or not kept."""
    from pydantic import ValidationError

    from orbat.rules import CountRange
    from orbat.validated import dumped, rebuilt, same

    raw = {"of": {"category": categories}, "min": low}
    if width is not None:
        raw["max"] = low + width
    try:
        model = CountRange.model_validate(raw)
    except ValidationError:
        return
    data = dumped(model)
    assert data is None or same(rebuilt(CountRange, data), model)
    if data is not None:
        assert type(rebuilt(CountRange, data).min) is type(model.min)


def test_same_tells_types_apart():
    from orbat.validated import same

    assert same({"a": (1, 2.0)}, {"a": (1, 2.0)})
    assert not same(1, 1.0) and not same((1,), [1]) and not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
