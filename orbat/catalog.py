"""The equipment catalog: types, aliases, categories, roles, crews.

Entries are YAML data (``catalogs/equipment/*.yaml``) validated with pydantic.
A name resolves exactly, after normalization (case, spacing, hyphens and
script do not matter), or through the named steps of the resolution pipeline
(:mod:`orbat.resolution`: calibre, nickname, descriptor, variant, ``Unknown``,
alternatives, ...), each recorded in the resolution's ``how``. An unknown name
is an error that suggests the nearest names, never a silent guess.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orbat.datafiles import catalog_dirs, parse_entry_list, yaml_files
from orbat.errors import InvalidCatalog, UnknownEquipment
from orbat.names import NameIndex, NamedEntry, normalize_name
from orbat.resolution import Resolution, bundled_rules, resolve_name

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

Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
Role = Literal[tuple(ROLES)]  # type: ignore[valid-type]

class SerialFormat(BaseModel):
    """How a type's serial numbers read: ``pattern`` (a regex) matches a whole identifier, its one group the number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(min_length=1, max_length=200)

    @field_validator("pattern")
    @classmethod
    def _one_number_group(cls, pattern: str) -> str:
        import re

        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        if groups > 1:
            raise ValueError("expected at most one group (the number), e.g. 'TZ-(\\d+)D'")
        return pattern


class EquipmentType(NamedEntry):
    """One equipment type of the catalog."""

    family: str = Field(min_length=1)
    category: Category
    role: Role
    armoured: bool
    origin: str | None = None
    crew: int = Field(ge=0, le=1000)
    passengers: int = Field(default=0, ge=0, le=1000)
    generic: bool = False
    sidc: str | None = Field(default=None, pattern=r"^\d{20}$")
    notes: str | None = None
    serial: SerialFormat | None = None  #: how serials read, for `orbat fleet`


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[EquipmentType]


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

    def lookup(self, name: str) -> EquipmentType | None:
        """The entry a name resolves to, exactly or through the pipeline's steps, or None."""
        return self.explain(name, suggest=False).entry

    def explain(self, name: str, suggest: bool = True) -> Resolution:
        """How a name resolves: the entry (or None), the steps taken, and suggestions when unresolved.

        Resolutions are cached per catalog (by the name's normalized form), so
        resolving the 1,200 distinct names of a 37,000-row list costs 1,200 searches.
        """
        if not isinstance(name, str):
            return Resolution(str(name), None)
        key = normalize_name(name) + "\x00" + " ".join(name.split()).casefold()
        found = self._explained.get(key)
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
        """The compiled words and patterns of the resolution pipeline."""
        if self._rules is None:
            self._rules = bundled_rules()
        return self._rules

    _rules = None

    def resolve(self, name: str) -> EquipmentType:
        """The entry a name resolves to; :class:`UnknownEquipment` with suggestions if none."""
        resolution = self.explain(name)
        if resolution.entry is None:
            raise UnknownEquipment(name, list(resolution.suggestions))
        return resolution.entry

    def by_category(self, category: str) -> list[EquipmentType]:
        """Entries of one category, in catalog order."""
        return [e for e in self.items.values() if e.category == category]

    def records(self) -> list[dict]:
        """Every entry as a plain dict (for tables and JSON)."""
        return [e.model_dump(mode="json") for e in self.items.values()]


def parse_catalog_file(path: Path) -> list[EquipmentType]:
    """Validate one equipment YAML file; errors name the file, the entry and the field."""
    return parse_entry_list(path, _CatalogFile, "entries", InvalidCatalog)


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

    An entry in a later file with the same id replaces the earlier one.
    """
    catalog = Catalog()
    for source in catalog_dirs(db_url, extra):
        for path in _equipment_files(source):
            stat = path.stat()
            for entry in _parse_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size):
                catalog.add(entry, str(path))
    return catalog
