"""The equipment catalog: data integrity, name resolution, user extensions."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbat.catalog import CATEGORIES, EquipmentType, load_catalog
from orbat.names import normalize_name
from orbat.errors import InvalidCatalog, UnknownEquipment

MALI_NAMES = {
    "T-72": ("tank", "combat"),
    "BMP-3": ("ifv", "combat"),
    "BTR": ("apc", "combat"),
    "VPK-Ural": ("mrap", "combat"),
    "Tigr": ("mrap", "combat"),
    "armoured truck": ("mrap", "combat-support"),
    "anti-aircraft autocannon": ("aa-gun", "combat-support"),
    "towed howitzer": ("towed-artillery", "combat-support"),
    "Ural-4320": ("cargo-truck", "logistics"),
    "KamAZ truck": ("cargo-truck", "logistics"),
    "fuel truck": ("fuel-truck", "logistics"),
    "MTO-UB1": ("repair", "logistics"),
    "ambulance": ("ambulance", "logistics"),
    "bus": ("bus", "logistics"),
    "motorboat": ("boat", "logistics"),
}


def test_catalog_has_at_least_150_types(catalog):
    assert len(catalog) >= 150


def test_every_category_is_used(catalog):
    used = {e.category for e in catalog}
    # Every category the catalog declares should have at least one type.
    assert set(CATEGORIES) - used == set()


@pytest.mark.parametrize("name, expected", sorted(MALI_NAMES.items()))
def test_founding_case_names_resolve(catalog, name, expected):
    entry = catalog.resolve(name)
    assert (entry.category, entry.role) == expected


def test_every_alias_resolves_to_its_own_entry(catalog):
    wrong = [
        (entry.id, name, catalog.lookup(name).id)
        for entry in catalog
        for name in entry.names
        if catalog.lookup(name).id != entry.id
    ]
    assert wrong == []


def test_no_normalized_name_collides_across_entries():
    """Check the raw files, since loading would refuse a collision: name both entries."""
    from orbat.catalog import parse_catalog_file
    from orbat.datafiles import bundled_catalog_dir, yaml_files

    owner: dict[str, str] = {}
    collisions = []
    for path in yaml_files(bundled_catalog_dir(), "equipment"):
        for entry in parse_catalog_file(path):
            for name in entry.names:
                key = normalize_name(name)
                if owner.setdefault(key, entry.id) != entry.id:
                    collisions.append(f"{name!r}: {owner[key]} and {entry.id}")
    assert collisions == []


def test_ids_are_unique_across_files():
    from orbat.catalog import parse_catalog_file
    from orbat.datafiles import bundled_catalog_dir, yaml_files

    seen: dict[str, str] = {}
    dupes = []
    for path in yaml_files(bundled_catalog_dir(), "equipment"):
        for entry in parse_catalog_file(path):
            if entry.id in seen:
                dupes.append(f"{entry.id} in {seen[entry.id]} and {path.name}")
            seen[entry.id] = path.name
    assert dupes == []


@pytest.mark.parametrize(
    "written, expected_id_name",
    [
        ("Т-72Б3", "T-72B3"),
        ("t72b3", "T-72B3"),
        ("T 72 B3", "T-72B3"),
        ("МТО-УБ1", "MTO-UB1"),
        ("Msta-S", "2S19 Msta-S"),
        ("Grad", "BM-21 Grad"),
    ],
)
def test_aliases_in_latin_and_cyrillic(catalog, written, expected_id_name):
    entry = catalog.resolve(written)
    target = catalog.resolve(expected_id_name.split()[0])
    assert entry.id == target.id


def test_unknown_name_suggests_nearest(catalog):
    with pytest.raises(UnknownEquipment) as info:
        catalog.resolve("T-72B33")
    assert "T-72B3" in info.value.suggestions
    assert "did you mean" in str(info.value)


def test_unknown_name_is_never_guessed(catalog):
    assert catalog.lookup("Leopard 9") is None


# --- normalization properties -------------------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "Pd")), min_size=1, max_size=20
)


@settings(max_examples=200, deadline=None)
@given(names)
def test_normalization_is_idempotent(name):
    assert normalize_name(normalize_name(name)) == normalize_name(name)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_resolution_ignores_case_spacing_and_hyphens(catalog, data):
    entry = data.draw(st.sampled_from(list(catalog)))
    name = data.draw(st.sampled_from(entry.names))
    seps = data.draw(st.lists(st.sampled_from(["", " ", "-", "  "]), min_size=len(name), max_size=len(name)))
    mangled = "".join(ch + sep for ch, sep in zip(name, seps))
    mangled = data.draw(st.sampled_from([mangled.upper(), mangled.lower(), mangled.swapcase()]))
    found = catalog.lookup(mangled)
    # upper/lower of some letters transliterates differently only for exotic scripts; our names are Latin/Cyrillic
    assert found is not None and found.id == entry.id, (name, mangled)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_every_entry_validates(catalog, data):
    entry = data.draw(st.sampled_from(list(catalog)))
    assert EquipmentType.model_validate(entry.model_dump()) == entry


# --- user extensions --------------------------------------------------------------


def write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_user_file_extends_the_catalog(tmp_path):
    extra = write(
        tmp_path / "mine.yaml",
        """
        entries:
          - id: wiesel-2-ozelot
            name: Wiesel 2 Ozelot
            aliases: [Ozelot]
            family: Wiesel
            category: sam
            role: combat-support
            armoured: true
            origin: DE
            crew: 3
        """,
    )
    cat = load_catalog([extra])
    assert cat.resolve("ozelot").id == "wiesel-2-ozelot"
    assert len(cat) == len(load_catalog()) + 1


def test_user_file_with_bad_field_names_file_entry_and_field(tmp_path):
    bad = write(
        tmp_path / "bad.yaml",
        """
        entries:
          - id: thing
            name: Thing
            family: Thing
            category: spaceship
            role: combat
            armoured: true
            crew: -1
        """,
    )
    with pytest.raises(InvalidCatalog) as info:
        load_catalog([bad])
    message = str(info.value)
    assert "bad.yaml" in message and "entry 1 (thing)" in message
    assert "category" in message and "crew" in message


def test_user_alias_that_collides_names_both_entries(tmp_path):
    clash = write(
        tmp_path / "clash.yaml",
        """
        entries:
          - id: my-tank
            name: My Tank
            aliases: ["T72B3"]
            family: T-72
            category: tank
            role: combat
            armoured: true
            crew: 3
        """,
    )
    with pytest.raises(InvalidCatalog) as info:
        load_catalog([clash])
    assert "my-tank" in str(info.value) and "t-72b3" in str(info.value)


def test_user_entry_with_same_id_replaces_bundled(tmp_path, catalog):
    original = catalog.resolve("BMP-3")
    override = write(
        tmp_path / "override.yaml",
        f"""
        entries:
          - id: {original.id}
            name: BMP-3
            aliases: [БМП-3]
            family: BMP
            category: ifv
            role: combat
            armoured: true
            crew: 3
            passengers: 8
        """,
    )
    cat = load_catalog([override])
    assert cat.resolve("БМП-3").passengers == 8


def test_invalid_yaml_names_file_and_line(tmp_path):
    from orbat.errors import DataFileError

    bad = write(tmp_path / "broken.yaml", "entries:\n  - id: x\n    name: [unclosed\n")
    with pytest.raises(DataFileError) as info:
        load_catalog([bad])
    assert "broken.yaml" in str(info.value) and "line" in str(info.value)


def test_yaml_cannot_execute_code(tmp_path):
    from orbat.errors import DataFileError

    evil = write(tmp_path / "evil.yaml", "entries: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(DataFileError):
        load_catalog([evil])


def test_catalogs_folder_beside_database_is_loaded(tmp_path):
    folder = tmp_path / "catalogs" / "equipment"
    folder.mkdir(parents=True)
    write(
        folder / "local.yaml",
        """
        entries:
          - id: local-gun-truck
            name: Local gun truck
            family: technical
            category: technical
            role: combat
            armoured: false
            crew: 3
        """,
    )
    cat = load_catalog(db_url=f"sqlite:///{tmp_path / 'orbat.db'}")
    assert cat.resolve("local gun truck").id == "local-gun-truck"


def test_invalid_yaml_value_is_a_clear_error(tmp_path):
    from orbat.errors import DataFileError

    bad = write(tmp_path / "date.yaml", "entries:\n  - id: x\n    notes: 2024-13-01\n")
    with pytest.raises(DataFileError) as info:
        load_catalog([bad])
    assert "date.yaml" in str(info.value)


# --- the cache of the parsed catalog ------------------------------------------------

OZELOT = """
entries:
  - id: wiesel-2-ozelot
    name: Wiesel 2 Ozelot
    aliases: [Ozelot]
    family: Wiesel
    category: sam
    role: combat-support
    armoured: true
    crew: 3
"""

HOUR_AGO = 3600


def _age(path, seconds=HOUR_AGO):
    """Give a file an mtime in the past (a file just written is too fresh to cache, by design)."""
    import os
    import time

    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ORBAT_CACHE_DIR", str(folder))
    return folder


def _cache_files(folder):
    return sorted((folder / "catalog").glob("*.json")) if (folder / "catalog").is_dir() else []


def _same(a, b):
    return list(a) == list(b) and a.origins == b.origins and a._index == b._index


def test_the_cached_catalog_is_the_parsed_one(cache, tmp_path, monkeypatch):
    import orbat.catalog as module

    extra = _age(write(tmp_path / "mine.yaml", OZELOT))
    first = load_catalog([extra])
    assert len(_cache_files(cache)) == 1

    def no_parsing(files):
        raise AssertionError("the catalog was parsed although its cache is fresh")

    monkeypatch.setattr(module, "_build", no_parsing)
    again = load_catalog([extra])
    assert _same(again, first)
    assert again.resolve("ozelot").id == "wiesel-2-ozelot" and again.resolve("Т-72Б3").id == "t-72b3"


def test_an_edited_catalog_file_is_seen(cache, tmp_path):
    extra = _age(write(tmp_path / "mine.yaml", OZELOT))
    assert load_catalog([extra]).resolve("ozelot").crew == 3
    write(tmp_path / "mine.yaml", OZELOT.replace("crew: 3", "crew: 4"))  # same size, new mtime
    assert load_catalog([extra]).resolve("ozelot").crew == 4
    write(tmp_path / "mine.yaml", OZELOT.replace("crew: 3", "crew: 5"))
    _age(extra, 2 * HOUR_AGO)  # an mtime in the past again, but not the cached one
    assert load_catalog([extra]).resolve("ozelot").crew == 5


def test_a_file_edited_within_its_mtime_is_seen(cache, tmp_path):
    """A file written moments ago is not cached: a second edit of the same size and mtime stays visible."""
    import os

    extra = write(tmp_path / "mine.yaml", OZELOT)
    stat = extra.stat()
    assert load_catalog([extra]).resolve("ozelot").crew == 3
    write(tmp_path / "mine.yaml", OZELOT.replace("crew: 3", "crew: 7"))
    os.utime(extra, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert extra.stat().st_size == stat.st_size
    assert load_catalog([extra]).resolve("ozelot").crew == 7


def test_a_corrupt_cache_is_ignored(cache, tmp_path):
    extra = _age(write(tmp_path / "mine.yaml", OZELOT))
    fresh = load_catalog([extra])
    (target,) = _cache_files(cache)
    stored = json.loads(target.read_text(encoding="utf-8"))
    row = next(r for r in stored["data"]["entries"] if "wiesel-2-ozelot" in r)
    bad_rows = [
        [*row[:9], "three", *row[10:]],  # crew as text
        [*row[:5], "spaceship", *row[6:]],  # an unknown category
        row[:-1],  # a field missing
        [99, *row[1:]],  # a file that is not there
    ]
    for text in ["", "{", "[1, 2]", '{"key": 1}', *(json.dumps({**stored, "data": {**stored["data"], "entries": [r]}})
                                                    for r in bad_rows)]:
        target.write_text(text, encoding="utf-8")
        assert _same(load_catalog([extra]), fresh), text[:60]
    assert json.loads(target.read_text(encoding="utf-8"))["key"] == stored["key"]  # and written again


def test_no_cache_when_its_folder_cannot_be_written(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("ORBAT_CACHE_DIR", str(blocker / "cache"))
    extra = _age(write(tmp_path / "mine.yaml", OZELOT))
    assert load_catalog([extra]).resolve("ozelot").id == "wiesel-2-ozelot"
    assert load_catalog([extra]).resolve("ozelot").id == "wiesel-2-ozelot"


def test_a_read_only_catalog_folder_loads(cache, tmp_path):
    """The cache lives in the user's cache folder, never beside the YAML (an install may be read-only)."""
    import os
    import stat

    folder = tmp_path / "ro"
    folder.mkdir()
    _age(write(folder / "mine.yaml", OZELOT))
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert load_catalog([folder]).resolve("ozelot").id == "wiesel-2-ozelot"
        assert sorted(p.name for p in folder.iterdir()) == ["mine.yaml"]
    finally:
        os.chmod(folder, stat.S_IRWXU)


@pytest.mark.parametrize("value", ["", "off", "0"])
def test_the_cache_can_be_turned_off(tmp_path, monkeypatch, value):
    from orbat.datafiles import cache_dir

    monkeypatch.setenv("ORBAT_CACHE_DIR", value)
    assert cache_dir() is None
    monkeypatch.delenv("ORBAT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "orbat"


def test_an_invalid_file_is_never_cached(cache, tmp_path):
    bad = _age(write(tmp_path / "bad.yaml", OZELOT.replace("crew: 3", "crew: -1")))
    for _ in range(2):
        with pytest.raises(InvalidCatalog):
            load_catalog([bad])
    assert _cache_files(cache) == []


def test_a_cached_catalog_loads_without_yaml_or_pydantic(cache, tmp_path):
    import subprocess
    import sys

    load_catalog()  # writes the cache of the bundled catalog
    code = ("import sys\nsys.argv = ['orbat', 'catalog', 'show', 'T-72']\nfrom orbat.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(','.join(m for m in ('pydantic', 'yaml', 'rapidfuzz', 'rich') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "t-72" in done.stdout
    assert done.stderr.strip().splitlines()[-1:] in ([], [""])


def test_entries_round_trip_as_records(catalog):
    for entry in catalog:
        assert EquipmentType.from_record(entry.as_record()) == entry
        assert EquipmentType._from_row(list(entry.as_record().values())) == entry
