"""The actor list: names, aliases, successions, and the errors its YAML can cause."""

from __future__ import annotations

import datetime as dt

import pytest

from orbat.actors import InvalidActors, load_actors
from orbat.errors import DataFileError, UnknownActor


@pytest.fixture(scope="module")
def actors():
    return load_actors()


@pytest.mark.parametrize(
    "written, actor_id",
    [
        ("Wagner", "wagner"),
        ("PMC Wagner", "wagner"),
        ("ЧВК Вагнер", "wagner"),
        ("chvk-vagner", "wagner"),
        ("Africa Corps", "africa-corps"),
        ("Африканский корпус", "africa-corps"),
        ("FAMa", "fama"),
        ("Malian Armed Forces", "fama"),
        ("forces armées maliennes", "fama"),
        ("CSP-DPA", "csp-dpa"),
        ("FLA", "fla"),
        ("Front de Libération de l'Azawad", "fla"),
        ("JNIM", "jnim"),
        ("GSIM", "jnim"),
        ("IS Sahel", "issp"),
        ("ISGS", "issp"),
        ("Forces armées nigériennes", "niger-armed-forces"),
        ("Burkinabe army", "burkina-armed-forces"),
    ],
)
def test_names_resolve_like_equipment_names(actors, written, actor_id):
    assert actors.resolve(written).id == actor_id
    assert written in actors


def test_unknown_names_resolve_to_none_and_require_suggests(actors):
    assert actors.resolve("Katiba Macina") is None
    assert actors.resolve(None) is None
    with pytest.raises(UnknownActor, match="Wagner Group"):
        actors.require("Wagnr")


def test_names_lists_display_names(actors):
    names = actors.names()
    assert {"Wagner Group", "Africa Corps", "FAMa", "FLA", "JNIM", "ISSP"} <= set(names)
    assert len(names) == len(actors)


def test_successions_follow_the_date(actors):
    assert actors.successor_on("wagner", dt.date(2025, 6, 5)) == "wagner"
    assert actors.successor_on("wagner", dt.date(2025, 6, 6)) == "africa-corps"
    assert actors.successor_on("wagner") == "africa-corps"
    # a chain: CSP-PSD -> CSP-DPA (May 2024) -> FLA (30 Nov 2024)
    assert actors.successor_on("csp-psd", dt.date(2024, 1, 1)) == "csp-psd"
    assert actors.successor_on("csp-psd", dt.date(2024, 6, 1)) == "csp-dpa"
    assert actors.successor_on("csp-psd", dt.date(2024, 11, 30)) == "fla"
    assert sorted(actors.predecessors("fla")) == ["csp-dpa", "csp-psd"]
    assert actors.successor_on("fama") == "fama"
    assert actors.successor_on("not-an-actor") == "not-an-actor"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_extends_and_overrides(tmp_path):
    extra = write(tmp_path, "mine.yaml", """
actors:
  - {id: katiba-macina, name: Katiba Macina, aliases: [Macina Liberation Front, FLM], kind: jihadist-group, country: ML}
  - {id: fama, name: Forces Armées Maliennes, aliases: [FAMa, Malian army], kind: armed-forces, country: ML}
""")
    actors = load_actors([extra])
    assert actors.resolve("FLM").name == "Katiba Macina"
    assert actors.resolve("FAMa").name == "Forces Armées Maliennes"
    # the override replaced the whole entry: our aliases it dropped no longer resolve
    assert actors.resolve("Malian Armed Forces") is None
    assert actors.origins["katiba-macina"] == str(extra)


def test_a_folder_means_its_actors_yaml(tmp_path):
    write(tmp_path, "actors.yaml", "actors: [{id: x-force, name: X Force, kind: other}]\n")
    assert load_actors([tmp_path]).resolve("x force").id == "x-force"


def test_actors_beside_the_database(tmp_path):
    (tmp_path / "catalogs").mkdir()
    write(tmp_path / "catalogs", "actors.yaml", "actors: [{id: y-force, name: Y Force, kind: militia}]\n")
    assert load_actors(db_url=f"sqlite:///{tmp_path / 'orbat.db'}").resolve("Y Force").id == "y-force"


def test_alias_collision_names_both_actors(tmp_path):
    extra = write(tmp_path, "clash.yaml", "actors: [{id: other, name: Other, aliases: [PMC Wagner], kind: pmc}]\n")
    with pytest.raises(InvalidActors) as err:
        load_actors([extra])
    message = str(err.value)
    assert "clash.yaml" in message and "'other'" in message and "'wagner'" in message and "actors.yaml" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("actors: [{id: a, name: A, kind: army}]", "entry 1 (a), field kind"),
        ("actors: [{name: A, kind: pmc}]", "entry 1, field id"),
        ("actors: [{id: a, name: A, kind: pmc, colour: red}]", "entry 1 (a), field colour"),
        ("actors: [{id: a, name: A, kind: pmc, successor: b}]", "successor and succession_date go together"),
        ("actors: [{id: a, name: A, kind: pmc, successor: a, succession_date: 2024-01-01}]", "cannot succeed itself"),
        ("actors: [{id: a, name: A, kind: pmc, succession_date: 2024-13-01, successor: b}]", "month must be in 1..12"),
        ("actors: [{id: a, name: A, kind: pmc, succession_date: soon, successor: b}]", "field succession_date"),
        ("actors: [{id: a, name: A, kind: pmc, aliases: ['--']}]", "field aliases"),
        ("actors: [{id: a, name: A, kind: pmc, successor: nobody, succession_date: 2024-01-01}]",
         "field successor: no actor has id 'nobody'"),
        ("actors:\n  - {id: a, name: A, kind: pmc, successor: b, succession_date: 2024-01-01}\n"
         "  - {id: b, name: B, kind: pmc, successor: a, succession_date: 2024-02-01}\n", "succession loops"),
        ("- just a list of strings", "entry 1"),
        ("42", "expected a mapping"),
        ("actors: [unclosed", "invalid YAML"),
    ],
)
def test_invalid_files_name_file_entry_and_field(tmp_path, text, expected):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(DataFileError) as err:
        load_actors([path])
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(DataFileError, match="actor file not found"):
        load_actors([tmp_path / "nope.yaml"])


def test_yaml_is_loaded_safely(tmp_path):
    path = write(tmp_path, "evil.yaml", "actors: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(DataFileError, match="invalid YAML"):
        load_actors([path])


def test_empty_file_adds_nothing(tmp_path):
    assert len(load_actors([write(tmp_path, "empty.yaml", "")])) == len(load_actors())
