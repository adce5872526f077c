"""The pydantic base of a YAML entry that names resolve to (equipment types, actors, units).

Kept apart from :mod:`orbat.names` so that resolving a name, and loading a
cached catalog, never import pydantic; ``orbat.names.NamedEntry`` still
names this class.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orbat.names import normalize_name


class NamedEntry(BaseModel):
    """An entry of a YAML list that names resolve to: a stable id, a display name, aliases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="stable identifier")
    name: str = Field(min_length=1, description="display name")
    aliases: tuple[str, ...] = ()

    @field_validator("aliases")
    @classmethod
    def _aliases_have_letters(cls, aliases: tuple[str, ...]) -> tuple[str, ...]:
        for alias in aliases:
            if not isinstance(alias, str) or not normalize_name(alias):
                raise ValueError(f"alias {alias!r} is empty once spaces and hyphens are removed")
        return aliases

    @property
    def names(self) -> tuple[str, ...]:
        """The display name followed by every alias."""
        return (self.name, *self.aliases)
