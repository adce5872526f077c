"""The equipment catalog: types, aliases, categories, roles, crews.

Entries are YAML data (``catalogs/equipment/*.yaml``) validated with pydantic
(:mod:`orbat.catalog_schema`) when a file is first read or has changed; the
validated entries are cached as plain JSON (:func:`orbat.datafiles.cached_records`,
keyed by each file's path, size and mtime), so a command that only looks names
up loads the catalog without PyYAML or pydantic. A name resolves exactly,
after normalization (case, spacing, hyphens and script do not matter), or
through the named steps of the resolution pipeline (:mod:`orbat.resolution`:
calibre, nickname, descriptor, variant, ``Unknown``, alternatives, ...), each
recorded in the resolution's ``how``. An unknown name is an error that
suggests the nearest names, never a silent guess.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orbat.datafiles import (
    RACY_SECONDS,
    RESOLUTION_FILE,
    cached_data,
    catalog_dirs,
    parse_entry_list,
    yaml_files,
)
from orbat.errors import InvalidCatalog, UnknownEquipment
from orbat.names import MAX_NAME_LENGTH, NameIndex, normalize_name

if TYPE_CHECKING:
    from orbat.resolution import Resolution

CATEGORIES: dict[str, str] = {
    "tank": "main battle tank",
    "ifv": "infantry fighting vehicle",
    "apc": "armoured personnel carrier",
    "mrap": "MRAP, infantry mobility vehicle or armoured car",
    "recon": "reconnaissance vehicle",
    "sp-artillery": "self-propelled artillery",
    "towed-artillery": "towed artillery",
    "mortar": "mortar",
    "mrl": "multiple rocket launcher",
    "aa-gun": "anti-aircraft gun",
    "sam": "surface-to-air missile system",
    "radar": "radar",
    "ew": "electronic warfare",
    "command": "command and communications vehicle",
    "engineering": "engineering vehicle",
    "repair": "recovery and repair vehicle or workshop",
    "cargo-truck": "cargo truck",
    "fuel-truck": "fuel truck",
    "transporter": "tank transporter, trailer or low-loader",
    "ambulance": "ambulance",
    "bus": "bus",
    "utility": "light utility vehicle, car or unarmed pickup",
    "boat": "boat",
    "helicopter": "helicopter",
    "aircraft": "fixed-wing aircraft",
    "uav": "unmanned aerial vehicle",
    "technical": "armed pickup (technical)",
    "motorcycle": "motorcycle",
    "ugv": "unmanned ground vehicle",
}

ROLES: dict[str, str] = {
    "combat": "fights: tanks, IFVs, APCs, armoured cars, attack aircraft",
    "combat-support": "supports the fight: artillery, air defence, engineers, EW, command",
    "logistics": "sustains: trucks, fuel, repair, medical, transport",
    "civilian": "civilian vehicles",
}


@dataclass(frozen=True)
class SerialFormat:
    """How a type's serial numbers read: ``pattern`` (a regex) matches a whole identifier, its one group the number."""

    pattern: str


@dataclass(frozen=True, kw_only=True)
class EquipmentType:
    """One equipment type of the catalog (validated by :class:`orbat.catalog_schema.EquipmentSchema`).

    A plain immutable record: entries come from validated YAML (or from the
    cache of it). :meth:`model_validate` validates a mapping; the constructor
    itself trusts its arguments.
    """

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    family: str
    category: str
    role: str
    armoured: bool
    origin: str | None = None
    crew: int
    passengers: int = 0
    generic: bool = False
    sidc: str | None = None
    notes: str | None = None
    serial: SerialFormat | None = None  #: how serials read, for `orbat fleet`

    @property
    def names(self) -> tuple[str, ...]:
        """The display name followed by every alias."""
        return (self.name, *self.aliases)

    def as_record(self) -> dict[str, Any]:
        """The entry as plain JSON data, fields in catalog order (``aliases`` a list, ``serial`` a dict or None)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["aliases"] = list(self.aliases)
        out["serial"] = None if self.serial is None else {"pattern": self.serial.pattern}
        return out

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The entry as a dict, as the pydantic model gave it: ``mode="json"`` is :meth:`as_record`."""
        if mode == "json":
            return self.as_record()
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["serial"] = None if self.serial is None else {"pattern": self.serial.pattern}
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> EquipmentType:
        """An entry from :meth:`as_record` data (already validated: the catalog's cache)."""
        serial = record.get("serial")
        return cls(**{**record, "aliases": tuple(record.get("aliases") or ()),
                      "serial": SerialFormat(serial["pattern"]) if serial else None})

    @classmethod
    def _from_row(cls, row: list) -> EquipmentType:
        """An entry from the values of :data:`_FIELDS`, in order (the cache: validated when it was made).

        Fills the instance's fields directly: a frozen dataclass's ``__init__``
        sets each field through ``object.__setattr__``, 3x slower for the
        catalog's 800 entries, on every command that loads it.
        """
        entry = object.__new__(cls)
        values = dict(zip(_FIELDS, row))
        values["aliases"] = tuple(values["aliases"])
        serial = values["serial"]
        values["serial"] = SerialFormat(serial["pattern"]) if serial else None
        entry.__dict__.update(values)
        return entry

    @classmethod
    def model_validate(cls, data: dict[str, Any]) -> EquipmentType:
        """Validate one entry as a catalog file writes it (pydantic ``ValidationError`` if it does not)."""
        from orbat.catalog_schema import EquipmentSchema

        return cls.from_record(EquipmentSchema.model_validate(data).model_dump(mode="json"))


#: An entry's fields, in order: the columns of the cache's rows.
_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EquipmentType))

#: The type of each field of a cached record (a corrupt or foreign cache is not used).
_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "name": (str,), "aliases": (list,), "family": (str,), "category": (str,), "role": (str,),
    "armoured": (bool,), "origin": (str, type(None)), "crew": (int,), "passengers": (int,), "generic": (bool,),
    "sidc": (str, type(None)), "notes": (str, type(None)), "serial": (dict, type(None)),
}


def _valid_row(row: Any) -> bool:
    """Whether cached data reads as an entry: a file number and every field, each of its type."""
    if not isinstance(row, list) or len(row) != len(_FIELDS) + 1 or type(row[0]) is not int:
        return False
    for value, types in zip(row[1:], _ROW_TYPES):
        if not isinstance(value, types):
            return False
    record = dict(zip(_FIELDS, row[1:]))
    if record["category"] not in CATEGORIES or record["role"] not in ROLES:
        return False
    if not all(isinstance(a, str) for a in record["aliases"]):
        return False
    serial = record["serial"]
    return serial is None or (serial.keys() == {"pattern"} and isinstance(serial["pattern"], str))


_ROW_TYPES = tuple(_RECORD_TYPES[f] for f in _FIELDS)


def _valid_snapshot(data: Any, n_files: int) -> bool:
    """Whether a cached catalog of ``n_files`` files reads as one (see :meth:`Catalog.snapshot`); a corrupt cache is not used."""
    if not isinstance(data, dict) or data.keys() != {"fields", "entries", "index"} or data["fields"] != list(_FIELDS):
        return False
    entries, index = data["entries"], data["index"]
    if not isinstance(entries, list) or not isinstance(index, dict) or not all(map(_valid_row, entries)):
        return False
    if not all(0 <= row[0] < n_files for row in entries):
        return False
    ids = {row[1] for row in entries}
    return len(ids) == len(entries) and all(type(k) is str and v in ids for k, v in index.items())


class Catalog(NameIndex[EquipmentType]):
    """Equipment types by id, with an index of normalized names."""

    noun = "entry"
    collision_error = InvalidCatalog

    def __init__(self) -> None:
        super().__init__()
        self._explained: dict[str, Resolution] = {}
        self._pending: set[str] = set()

    @property
    def entries(self) -> dict[str, EquipmentType]:
        """Entries by id, in catalog order."""
        return self.items

    def add(self, item: EquipmentType, origin: str) -> None:
        """Add an entry (see :meth:`NameIndex.add`); resolutions cached so far are forgotten."""
        super().add(item, origin)
        self._explained.clear()
        self._words = None

    _words: frozenset[str] | None = None

    def name_words(self) -> frozenset[str]:
        """Every word (case-folded) of the names and aliases of specific (not generic) entries."""
        if self._words is None:
            self._words = frozenset(
                w.casefold() for e in self.items.values() if not e.generic for n in e.names for w in re.split(r"[\s/()'\"]+", n) if w
            )
        return self._words

    def lookup_exact(self, name: str) -> EquipmentType | None:
        """The entry whose name or alias this is (after normalization only), or None."""
        return super().lookup(name)

    def _as_written(self, name: str) -> EquipmentType | None:
        """The entry a name is (after normalization only): the first thing :meth:`explain` tries."""
        if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and name.strip():
            return self.lookup_exact(name)
        return None

    def lookup(self, name: str) -> EquipmentType | None:
        """The entry a name resolves to, exactly or through the pipeline's steps, or None."""
        # a name as written needs neither the pipeline nor orbat.resolution's import
        return self._as_written(name) or self.explain(name, suggest=False).entry

    def explain(self, name: str, suggest: bool = True) -> Resolution:
        """How a name resolves: the entry (or None), the steps taken, and suggestions when unresolved.

        Resolutions are cached per catalog (by the name's normalized form), so
        resolving the 1,200 distinct names of a 37,000-row list costs 1,200 searches.
        """
        from orbat.resolution import Resolution, exact_resolution, resolve_name

        if not isinstance(name, str):
            return Resolution(str(name), None)
        key = normalize_name(name) + "\x00" + " ".join(name.split()).casefold()
        found = self._explained.get(key)
        if found is None:
            found = exact_resolution(name, self)  # no pipeline (nor its rules) for a name as written
            if found is not None:
                self._explained[key] = found
        if found is None:
            if key in self._pending:
                return Resolution(name, None)  # a step asked about the name being resolved: no loop
            self._pending.add(key)
            try:
                found = resolve_name(name, self, self.rules)
            finally:
                self._pending.discard(key)
            self._explained[key] = found
        if found.name != name:
            found = replace(found, name=name)
        if suggest and found.entry is None and not found.suggestions:
            found = replace(found, suggestions=tuple(self.suggest(name)))
            self._explained[key] = replace(found, name=found.name)
        return found

    @property
    def rules(self):
        """The compiled words and patterns of the resolution pipeline: the bundled ones, with the words of
        the ``resolution.yaml`` files of the catalog's other folders added (:attr:`resolution_files`)."""
        if self._rules is None:
            from orbat.resolution_rules import extended_rules

            self._rules = extended_rules(self.resolution_files)
        return self._rules

    _rules = None
    #: A user's ``resolution.yaml`` files (beside the database, in ``--catalog`` folders), in load order.
    resolution_files: tuple[Path, ...] = ()

    def resolve(self, name: str) -> EquipmentType:
        """The entry a name resolves to; :class:`UnknownEquipment` with suggestions if none."""
        entry = self._as_written(name)
        if entry is not None:
            return entry
        resolution = self.explain(name)
        if resolution.entry is None:
            raise UnknownEquipment(name, list(resolution.suggestions))
        return resolution.entry

    def snapshot(self, files: list[Path]) -> dict[str, Any]:
        """The catalog as plain data for the cache: the field names, one row per entry (the number
        of its file in ``files``, then its fields) and the name index."""
        number = {str(f): i for i, f in enumerate(files)}
        return {"fields": list(_FIELDS),
                "entries": [[number[self.origins[e.id]], *e.as_record().values()] for e in self.items.values()],
                "index": dict(self._index)}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any], files: list[Path]) -> Catalog:
        """A catalog from :meth:`snapshot` data (already validated when it was made), origins from ``files``."""
        catalog = cls()
        for row in data["entries"]:
            entry = EquipmentType._from_row(row[1:])
            catalog.items[entry.id] = entry
            catalog.origins[entry.id] = str(files[row[0]])
        catalog._index = dict(data["index"])
        return catalog

    def by_category(self, category: str) -> list[EquipmentType]:
        """Entries of one category, in catalog order."""
        return [e for e in self.items.values() if e.category == category]

    def records(self) -> list[dict]:
        """Every entry as a plain dict (for tables and JSON)."""
        return [e.as_record() for e in self.items.values()]


def parse_catalog_file(path: Path) -> list[EquipmentType]:
    """Validate one equipment YAML file; errors name the file, the entry and the field."""
    return [EquipmentType.from_record(r) for r in _validated_records(path)]


def _validated_records(path: Path) -> list[dict]:
    from orbat.catalog_schema import CatalogFileSchema

    entries = parse_entry_list(path, CatalogFileSchema, "entries", InvalidCatalog)
    return [e.model_dump(mode="json") for e in entries]


#: The modules that define a cached catalog's layout: a change to one of them invalidates the cache.
_SCHEMA_CODE = (Path(__file__), Path(__file__).with_name("catalog_schema.py"), Path(__file__).with_name("names.py"))


@lru_cache(maxsize=32)
def _parse_cached(path: str, mtime_ns: int, size: int) -> tuple[EquipmentType, ...]:
    return tuple(parse_catalog_file(Path(path)))


def _equipment_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    files = list(yaml_files(source, "equipment"))
    # A user's folder may hold equipment YAML directly rather than under equipment/.
    if not files and source.is_dir() and not (source / "equipment").is_dir():
        files = sorted(
            p for p in source.iterdir()
            if p.suffix in (".yaml", ".yml") and p.stem not in ("actors", "resolution", "source-categories")
            and p.parent.name != "doctrine"
        )
    return files


def load_catalog(extra: Iterable[str | os.PathLike] = (), db_url: str | None = None) -> Catalog:
    """Load the bundled catalog, a ``catalogs/`` folder beside a SQLite database, then ``extra`` files.

    An entry in a later file with the same id replaces the earlier one. The
    combined catalog is cached (:func:`orbat.datafiles.cached_data`): while
    no file changes, it loads as plain JSON, without YAML or pydantic.
    """
    sources = catalog_dirs(db_url, extra)
    files = [path for source in sources for path in _equipment_files(source)]
    data = cached_data("catalog", files, lambda: _build(files).snapshot(files),
                       lambda cached: _valid_snapshot(cached, len(files)), _SCHEMA_CODE)
    catalog = Catalog.from_snapshot(data, files)
    # The words a user adds to the resolution steps: a resolution.yaml in a catalog folder after ours.
    catalog.resolution_files = tuple(source / RESOLUTION_FILE for source in sources[1:]
                                     if source.is_dir() and (source / RESOLUTION_FILE).is_file())
    return catalog


def _build(files: list[Path]) -> Catalog:
    """Parse and validate every file, in order (a later entry with the same id replaces an earlier one)."""
    catalog = Catalog()
    now = time.time()
    for path in files:
        stat = path.stat()
        if now - stat.st_mtime < RACY_SECONDS:  # too fresh to key by mtime: a second edit may share it
            entries = parse_catalog_file(path)
        else:
            entries = _parse_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        for entry in entries:
            catalog.add(entry, str(path))
    return catalog
