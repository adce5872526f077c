"""The equipment catalog: types, aliases, categories, roles, crews.

Entries are YAML data (``catalogs/equipment/*.yaml``) validated with pydantic.
Names resolve exactly, after normalization (case, spacing, hyphens and script
do not matter); an unknown name is an error that suggests the nearest names,
never a silent guess.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orbat.datafiles import catalog_dirs, parse_entry_list, yaml_files
from orbat.errors import InvalidCatalog, UnknownEquipment
from orbat.names import NameIndex, NamedEntry

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

    @property
    def entries(self) -> dict[str, EquipmentType]:
        """Entries by id, in catalog order."""
        return self.items

    def resolve(self, name: str) -> EquipmentType:
        """The entry a name or alias resolves to; :class:`UnknownEquipment` with suggestions if none."""
        entry = self.lookup(name)
        if entry is None:
            raise UnknownEquipment(name, self.suggest(name))
        return entry

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
            if p.suffix in (".yaml", ".yml") and p.stem not in ("actors",) and p.parent.name != "doctrine"
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
