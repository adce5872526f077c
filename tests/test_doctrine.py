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
