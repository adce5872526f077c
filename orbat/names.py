"""Names that resolve: normalization, and an index of named items (equipment types, actors).

A name resolves exactly, after normalization; an unknown name gets the
nearest names as suggestions, never a silent guess. Two items may not share a
normalized name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import ClassVar, Generic, Protocol, TypeVar

from orbat.errors import DataFileError

_STRIP = re.compile(r"[\s\-_./]+")
#: Names longer than this are not resolved (text from the internet is hostile; parsing is bounded).
MAX_NAME_LENGTH = 200


@lru_cache(maxsize=16384)
def normalize_name(name: str) -> str:
    """The key a name resolves by: script-, case-, space- and hyphen-insensitive.

    Cyrillic (and any other script) is transliterated with ``anyascii``, so
    ``"Т-72Б3"``, ``"t72b3"`` and ``"T 72 B3"`` share the key ``"t72b3"``.
    Cached: a file's distinct names are normalized several times each (the
    exact look-up, the resolution cache's key, the pipeline's first step).
    """
    if not name.isascii():  # ASCII is its own NFKC form and transliteration: no anyascii to import
        from anyascii import anyascii

        name = anyascii(unicodedata.normalize("NFKC", name))
    return _STRIP.sub("", name.lower())


class Named(Protocol):
    id: str
    name: str

    @property
    def names(self) -> tuple[str, ...]: ...


T = TypeVar("T", bound=Named)


class NameIndex(Generic[T]):
    """Items by id, with an index of their normalized names and aliases.

    Subclasses say what an item is called in messages (``noun``) and which
    error a name claimed twice raises (``collision_error``).
    """

    noun: ClassVar[str] = "item"
    collision_error: ClassVar[type[DataFileError]] = DataFileError

    def __init__(self) -> None:
        self.items: dict[str, T] = {}
        self.origins: dict[str, str] = {}  # id -> file it came from
        self._index: dict[str, str] = {}  # normalized name -> id

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self._index

    def get(self, item_id: str) -> T:
        """The item with this id (KeyError if none)."""
        return self.items[item_id]

    def lookup(self, name: str) -> T | None:
        """The item a name or alias resolves to, or None."""
        if not isinstance(name, str):
            return None
        found = self._index.get(normalize_name(name))
        return self.items[found] if found else None

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Display names of the items whose names are nearest to ``name``."""
        from rapidfuzz import fuzz, process

        key = normalize_name(name)
        if not key:
            return []
        matches = process.extract(key, list(self._index), scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=60)
        out: list[str] = []
        for match, _score, _ in matches:
            display = self.items[self._index[match]].name
            if display not in out:
                out.append(display)
            if len(out) == limit:
                break
        return out

    def add(self, item: T, origin: str) -> None:
        """Add an item, or replace the one with the same id (a user's file overrides ours).

        Raises ``collision_error`` when one of its names belongs to another item.
        """
        if item.id in self.items:
            for key in [k for k, v in self._index.items() if v == item.id]:
                del self._index[key]
        claimed: dict[str, str] = {}
        for name in item.names:
            key = normalize_name(name)
            other = self._index.get(key)
            if other is not None and other != item.id:
                raise self.collision_error(
                    f"{origin}: {self.noun} {item.id!r}: name {name!r} is already used by {self.noun} "
                    f"{other!r} (from {self.origins[other]}); names must resolve to one {self.noun}"
                )
            claimed[key] = item.id
        self.items[item.id] = item
        self.origins[item.id] = origin
        self._index.update(claimed)


def __getattr__(name: str):
    # NamedEntry is a pydantic model (orbat.entries): imported only by whoever validates
    # YAML entries with it, so that resolving names never imports pydantic.
    if name == "NamedEntry":
        from orbat.entries import NamedEntry

        return NamedEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
