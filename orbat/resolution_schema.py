"""The pydantic schema of ``catalogs/resolution.yaml``: how the pipeline's words and patterns are validated.

Imported only when the file is read (the first time, or after it changed);
the validated rules are cached as plain data and load without pydantic
(:mod:`orbat.resolution_rules`).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orbat.datafiles import RESOLUTION_FILE, bundled_catalog_dir, pydantic_location, read_yaml
from orbat.errors import InvalidCatalog


class DescriptorSchema(BaseModel):
    """Words that say what a thing is (``howitzer``, ``fuel tanker``) and the categories that fit them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: tuple[str, ...] = Field(min_length=1)
    categories: tuple[str, ...] = Field(min_length=1)
    entry: str | None = Field(default=None, description="the entry a name falls back to (else the category's)")
    fallback: bool = Field(default=True, description="false for words too wide to stand for a category")
    carriers: tuple[str, ...] = Field(default=(), description="categories of vehicles these words turn into one of theirs")


class StepSpecSchema(BaseModel):
    """One step of the pipeline: the id of its code, its cost, and what it does (for the docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    cost: float = Field(gt=0, le=100)
    description: str = Field(min_length=1)
    example: str = Field(min_length=1)
    eager: bool = Field(default=False, description="runs first, always, before any search")


class ResolutionRules(BaseModel):
    """The words and patterns of the resolution steps (``catalogs/resolution.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: tuple[StepSpecSchema, ...]
    counter: str
    calibre: str
    quotes: str = Field(min_length=1)
    year_markers: tuple[str, ...]
    unknown_markers: tuple[str, ...]
    unknown_suffixes: tuple[str, ...]
    alternative_separators: tuple[str, ...]
    with_words: tuple[str, ...]
    based_on_words: tuple[str, ...]
    for_words: tuple[str, ...]
    makers: tuple[str, ...]
    maker_categories: tuple[str, ...]
    kits: tuple[str, ...]
    weapon_categories: tuple[str, ...]
    descriptors: tuple[DescriptorSchema, ...]
    category_entries: dict[str, str]

    @field_validator("counter", "calibre", "kits")
    @classmethod
    def _compiles(cls, patterns: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for pattern in (patterns,) if isinstance(patterns, str) else patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _steps_are_known(self) -> ResolutionRules:
        from orbat.resolution import STEPS  # the registry of step code (imports this module first)

        ids = [s.id for s in self.steps]
        unknown = [i for i in ids if i not in STEPS]
        if unknown:
            raise ValueError(f"steps {unknown} have no code; known steps: {', '.join(STEPS)}")
        if len(set(ids)) != len(ids):
            raise ValueError("a step is listed twice")
        missing = [i for i in STEPS if i not in ids]
        if missing:
            raise ValueError(f"steps {missing} are registered but not configured")
        from orbat.catalog import CATEGORIES

        for descriptor in self.descriptors:
            bad = [c for c in descriptor.categories if c not in CATEGORIES]
            if bad:
                raise ValueError(f"descriptor {descriptor.words[0]!r}: unknown categories {bad}")
        bad = [c for c in (*self.category_entries, *self.weapon_categories, *self.maker_categories) if c not in CATEGORIES]
        if bad:
            raise ValueError(f"unknown categories {bad}")
        return self

    def spec(self, step_id: str) -> StepSpecSchema:
        """The configuration of one step."""
        return next(s for s in self.steps if s.id == step_id)


#: The word lists a user's ``resolution.yaml`` adds words to (the steps, their costs and patterns are ours).
EXTENDABLE_LISTS: tuple[str, ...] = (
    "year_markers", "unknown_markers", "unknown_suffixes", "alternative_separators", "with_words",
    "based_on_words", "for_words", "makers", "maker_categories", "kits", "weapon_categories",
)


class ResolutionExtension(BaseModel):
    """A user's ``resolution.yaml`` (beside the database or in a ``--catalog`` folder): words added to ours.

    Each list's words are added after the bundled ones, ``quotes`` adds
    quote characters, ``descriptors`` adds descriptors, and
    ``category_entries`` sets the fallback entry of a category.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    quotes: str = ""
    year_markers: tuple[str, ...] = ()
    unknown_markers: tuple[str, ...] = ()
    unknown_suffixes: tuple[str, ...] = ()
    alternative_separators: tuple[str, ...] = ()
    with_words: tuple[str, ...] = ()
    based_on_words: tuple[str, ...] = ()
    for_words: tuple[str, ...] = ()
    makers: tuple[str, ...] = ()
    maker_categories: tuple[str, ...] = ()
    kits: tuple[str, ...] = ()
    weapon_categories: tuple[str, ...] = ()
    descriptors: tuple[DescriptorSchema, ...] = ()
    category_entries: dict[str, str] = {}

    @field_validator(*EXTENDABLE_LISTS)
    @classmethod
    def _words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        if any(not w.strip() for w in words):
            raise ValueError("a word is empty")
        return words


def load_resolution_rules(path: Path | None = None, extensions: tuple[Path, ...] = ()) -> ResolutionRules:
    """Read and validate the pipeline's words and patterns (the bundled file unless ``path``), with the
    words of each of ``extensions`` (:class:`ResolutionExtension`) added, in order.

    A problem in an extension names that file (and the field): the bundled
    rules are valid, so what fails after adding its words is its doing.
    """
    ours = path or bundled_catalog_dir() / RESOLUTION_FILE
    rules = parse_model_file(ours, ResolutionRules)
    for extension in extensions:
        if _same_bytes(extension, ours):
            # A copy of ours (a catalogs/ folder copied whole beside the database, or a checkout's own
            # catalogs/ beside an orbat.db in it): every word it holds is already there.
            continue
        added = _parse_extension(extension)
        data = rules.model_dump(mode="json")
        for name in EXTENDABLE_LISTS:
            data[name] = list(dict.fromkeys([*data[name], *getattr(added, name)]))
        data["quotes"] += "".join(c for c in dict.fromkeys(added.quotes) if c not in data["quotes"])
        data["descriptors"] += [d.model_dump(mode="json") for d in added.descriptors]
        data["category_entries"].update(added.category_entries)
        rules = validate_model(extension, data, ResolutionRules)
    return rules


def _same_bytes(path: Path, other: Path) -> bool:
    """Whether two files hold the same bytes (an unreadable one is not the same: its error comes later)."""
    try:
        return path.stat().st_size == other.stat().st_size and path.read_bytes() == other.read_bytes()
    except OSError:
        return False


def _parse_extension(path: Path) -> ResolutionExtension:
    """A user's ``resolution.yaml``; sections that only orbat's own file may hold are named in one message."""
    data = _read_mapping(path)
    ours_only = [key for key in data if key in ResolutionRules.model_fields
                 and key not in ResolutionExtension.model_fields]
    if ours_only:
        raise InvalidCatalog(
            f"{path}: {', '.join(map(str, ours_only))}: only orbat's own {RESOLUTION_FILE} sets "
            f"{'these' if len(ours_only) > 1 else 'this'}; a user's {RESOLUTION_FILE} adds words to "
            f"{', '.join(EXTENDABLE_LISTS)}, quotes, descriptors and category_entries (keep only the "
            "words you add; a whole copy of orbat's file is not needed)")
    return validate_model(path, data, ResolutionExtension)


def parse_model_file(path: Path, model: type[BaseModel]) -> BaseModel:
    """Validate a YAML mapping with a pydantic model; every problem names the file and the field."""
    return validate_model(path, _read_mapping(path), model)


def _read_mapping(path: Path) -> dict:
    """A YAML file that must hold a mapping."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InvalidCatalog(f"{path}: expected a mapping, found {type(data).__name__}")
    return data


def validate_model(path: Path, data: dict, model: type[BaseModel]) -> BaseModel:
    """Validate data from ``path`` (or made from it) with a pydantic model; every problem names the file
    and the field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {pydantic_location(e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()]
        raise InvalidCatalog("\n".join(lines)) from None
