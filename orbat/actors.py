"""Actors: who holds equipment. Names, aliases and successions.

An actor list is YAML data (``catalogs/actors.yaml``) validated with pydantic,
extensible like the equipment catalog: the bundled file, then
``catalogs/actors.yaml`` beside a SQLite database, then files given with
``--actors``. A later entry with the same id replaces the earlier one; a name
that would resolve to two actors is an error naming both.

Names resolve like equipment names (:func:`orbat.names.normalize_name`):
case, spacing, hyphens and script do not matter, so ``"ЧВК Вагнер"`` and
``"chvk vagner"`` are the same. A name nobody listed resolves to ``None``:
sightings keep it as written, it is not an error.

A *succession* says that one actor's holdings pass to another from a date:
Wagner's Mali contingent to Africa Corps (June 2025), CSP-DPA to FLA
(30 November 2024). :meth:`ActorList.successor_on` follows the chain.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orbat.datafiles import beside_database, bundled_catalog_dir, named_files, parse_entry_list
from orbat.errors import DataFileError, UnknownActor
from orbat.names import NameIndex, NamedEntry

ACTORS_FILE = "actors.yaml"

KINDS: dict[str, str] = {
    "armed-forces": "a state's armed forces",
    "paramilitary": "state-controlled paramilitary or gendarmerie",
    "pmc": "private military company",
    "rebel-group": "rebel or separatist armed group",
    "jihadist-group": "jihadist armed group",
    "militia": "self-defence militia",
    "international": "international or foreign intervention force",
    "other": "anything else",
}

Kind = Literal[tuple(KINDS)]  # type: ignore[valid-type]


class InvalidActors(DataFileError):
    """An actor list file does not validate."""


class Actor(NamedEntry):
    """One actor of the actor list."""

    kind: Kind
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    successor: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9-]*$", description="id of the actor its holdings pass to"
    )
    succession_date: dt.date | None = Field(default=None, description="from this date on, the successor holds them")
    notes: str | None = None

    @model_validator(mode="after")
    def _succession_is_complete(self) -> Actor:
        if (self.successor is None) != (self.succession_date is None):
            raise ValueError("successor and succession_date go together: give both or neither")
        if self.successor == self.id:
            raise ValueError("an actor cannot succeed itself")
        return self


class _ActorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actors: list[Actor]


class ActorList(NameIndex[Actor]):
    """Actors by id, with an index of normalized names and the succession chain."""

    noun = "actor"
    collision_error = InvalidActors

    @property
    def actors(self) -> dict[str, Actor]:
        """Actors by id, in list order."""
        return self.items

    def resolve(self, name: str) -> Actor | None:
        """The actor a name or alias resolves to, or None when nobody listed it."""
        return self.lookup(name)

    def require(self, name: str) -> Actor:
        """Like :meth:`resolve`, but :class:`UnknownActor` (with the nearest names) when unknown."""
        actor = self.resolve(name)
        if actor is None:
            hint = self.suggest(name)
            raise UnknownActor(
                f"unknown actor {name!r}" + (f" (did you mean {', '.join(hint)}?)" if hint else "")
            )
        return actor

    def names(self) -> list[str]:
        """Display names of every actor, in list order."""
        return [a.name for a in self.actors.values()]

    def successor_on(self, actor_id: str, on: dt.date | None = None) -> str:
        """The id of the actor holding ``actor_id``'s equipment on date ``on``.

        Follows successions whose date is on or before ``on`` (all of them when
        ``on`` is None). An actor nobody succeeded is its own holder.
        """
        seen = {actor_id}
        current = actor_id
        while True:
            actor = self.actors.get(current)
            if actor is None or actor.successor is None:
                return current
            if on is not None and actor.succession_date > on:
                return current
            current = actor.successor
            if current in seen:  # validated away on load; kept so a bad edit cannot hang us
                return current
            seen.add(current)

    def predecessors(self, actor_id: str) -> list[str]:
        """Ids of every actor whose holdings end up with ``actor_id`` (itself excluded)."""
        out: list[str] = []
        for actor in self.actors.values():
            if actor.id != actor_id and self.successor_on(actor.id) == actor_id:
                out.append(actor.id)
        return out

    def check_successions(self) -> None:
        """Every successor exists and no chain loops; :class:`InvalidActors` otherwise."""
        problems = []
        for actor in self.actors.values():
            if actor.successor is not None and actor.successor not in self.actors:
                problems.append(
                    f"{self.origins[actor.id]}: actor {actor.id!r}, field successor: "
                    f"no actor has id {actor.successor!r}"
                )
        for actor in self.actors.values():
            seen = [actor.id]
            current = actor
            while current.successor is not None and current.successor in self.actors:
                if current.successor in seen:
                    problems.append(
                        f"{self.origins[actor.id]}: actor {actor.id!r}: succession loops: "
                        + " -> ".join([*seen, current.successor])
                    )
                    break
                seen.append(current.successor)
                current = self.actors[current.successor]
        if problems:
            raise InvalidActors("\n".join(dict.fromkeys(problems)))


def parse_actors_file(path: Path) -> list[Actor]:
    """Validate one actor YAML file; errors name the file, the entry and the field."""
    return parse_entry_list(path, _ActorsFile, "actors", InvalidActors)


def actor_files(extra: Iterable[str | os.PathLike] = (), db_url: str | None = None) -> list[Path]:
    """The actor files to load, in order: bundled, beside the database, then ``extra``.

    An ``extra`` folder means its ``actors.yaml``.
    """
    found: list[Path] = []
    bundled = bundled_catalog_dir() / ACTORS_FILE
    if bundled.is_file():
        found.append(bundled)
    beside = beside_database(db_url, ACTORS_FILE)
    if beside is not None:
        found.append(beside)
    found.extend(named_files(extra, ACTORS_FILE, "actor"))
    unique: list[Path] = []
    for path in found:
        if all(path.resolve() != p.resolve() for p in unique):
            unique.append(path)
    return unique


def load_actors(extra: Iterable[str | os.PathLike] = (), db_url: str | None = None) -> ActorList:
    """Load the bundled actor list, ``catalogs/actors.yaml`` beside a SQLite database, then ``extra`` files.

    An actor in a later file with the same id replaces the earlier one.
    Successions are checked once every file is in: a successor must exist
    and a chain must not loop.
    """
    actors = ActorList()
    for path in actor_files(extra, db_url):
        for actor in parse_actors_file(path):
            actors.add(actor, str(path))
    actors.check_successions()
    return actors
