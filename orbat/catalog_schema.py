"""The pydantic schema of an equipment YAML file: how a catalog file is validated.

Imported only when a file is parsed (the first time, or after it changed):
a catalog whose parsed form is cached loads without pydantic
(:mod:`orbat.catalog`, :func:`orbat.datafiles.cached_records`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orbat.catalog import CATEGORIES, ROLES
from orbat.entries import NamedEntry

Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
Role = Literal[tuple(ROLES)]  # type: ignore[valid-type]


class SerialFormatSchema(BaseModel):
    """How a type's serial numbers read: ``pattern`` (a regex) matches a whole identifier, its one group the number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(min_length=1, max_length=200)

    @field_validator("pattern")
    @classmethod
    def _one_number_group(cls, pattern: str) -> str:
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        if groups > 1:
            raise ValueError("expected at most one group (the number), e.g. 'TZ-(\\d+)D'")
        return pattern


class EquipmentSchema(NamedEntry):
    """One equipment type as a catalog file writes it (validated; see :class:`orbat.catalog.EquipmentType`)."""

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
    serial: SerialFormatSchema | None = None  #: how serials read, for `orbat fleet`


class CatalogFileSchema(BaseModel):
    """A whole equipment file: its ``entries``."""

    model_config = ConfigDict(extra="forbid")
    entries: list[EquipmentSchema]
