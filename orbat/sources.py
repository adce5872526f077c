"""What a loss list's own category says: the orbat categories that fit each of its values.

WarSpotting files a BTR-80 under "Infantry fighting vehicles" and a KamAZ
under "Transport"; ``catalogs/source-categories.yaml`` says, as data, which
catalog categories fit each such value. It checks a resolution (a name that
resolved to an entry of a category the source rules out resolved wrongly) and
lets a reader keep the source's category beside the entry's.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from orbat.datafiles import bundled_catalog_dir
from orbat.errors import UsageError
from orbat.resolution import parse_model_file

SOURCE_CATEGORIES_FILE = "source-categories.yaml"


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


class SourceCategories(BaseModel):
    """``sources``: per source, its category values and the orbat categories that fit each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, dict[str, tuple[str, ...]]]

    @field_validator("sources")
    @classmethod
    def _known_categories(cls, sources: dict[str, dict[str, tuple[str, ...]]]) -> dict:
        from orbat.catalog import CATEGORIES

        for source, values in sources.items():
            for value, categories in values.items():
                bad = [c for c in categories if c not in CATEGORIES]
                if bad:
                    raise ValueError(f"{source}: {value!r}: unknown categories {bad}")
                if not categories:
                    raise ValueError(f"{source}: {value!r}: no category fits")
        return sources

    def fitting(self, source: str, value: str) -> frozenset[str] | None:
        """The orbat categories that fit ``value`` of ``source`` (None when the value is not listed)."""
        values = self._values(source)
        found = values.get(_key(value))
        return frozenset(found) if found is not None else None

    def _values(self, source: str) -> dict[str, tuple[str, ...]]:
        for name, values in self.sources.items():
            if _key(name) == _key(source):
                return {_key(k): v for k, v in values.items()}
        raise UsageError(f"unknown source {source!r}; expected one of: {', '.join(self.sources)}")


@lru_cache(maxsize=4)
def load_source_categories(path: Path | None = None) -> SourceCategories:
    """Read and validate the mapping (the bundled ``catalogs/source-categories.yaml`` unless ``path``)."""
    return parse_model_file(path or bundled_catalog_dir() / SOURCE_CATEGORIES_FILE, SourceCategories)


def fitting_categories(source: str, value: str) -> frozenset[str] | None:
    """The orbat categories that fit a source's category value, or None when it is not listed."""
    return load_source_categories().fitting(source, value)


def category_fits(source: str, value: str, category: str) -> bool:
    """Whether an entry of ``category`` fits what ``source`` calls ``value`` (an unlisted value fits anything)."""
    fitting = fitting_categories(source, value)
    return fitting is None or category in fitting
