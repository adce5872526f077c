"""The words and patterns of the resolution pipeline: ``catalogs/resolution.yaml``, validated and compiled.

The steps themselves are code (:mod:`orbat.resolution`); this module holds
what they are configured with (costs, descriptors, makers, kit patterns, ...),
reads the YAML safely, validates it with pydantic (every problem names the file
and the field) and compiles it once per version of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orbat.datafiles import bundled_catalog_dir, pydantic_location, read_yaml
from orbat.errors import InvalidCatalog
from orbat.resolution import _descriptor_key

RESOLUTION_FILE = "resolution.yaml"

# --- the data the steps use --------------------------------------------------------------


class Descriptor(BaseModel):
    """Words that say what a thing is (``howitzer``, ``fuel tanker``) and the categories that fit them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: tuple[str, ...] = Field(min_length=1)
    categories: tuple[str, ...] = Field(min_length=1)
    entry: str | None = Field(default=None, description="the entry a name falls back to (else the category's)")
    fallback: bool = Field(default=True, description="false for words too wide to stand for a category")
    carriers: tuple[str, ...] = Field(default=(), description="categories of vehicles these words turn into one of theirs")


class StepSpec(BaseModel):
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

    steps: tuple[StepSpec, ...]
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
    descriptors: tuple[Descriptor, ...]
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

    def spec(self, step_id: str) -> StepSpec:
        """The configuration of one step."""
        return next(s for s in self.steps if s.id == step_id)


@dataclass(frozen=True)
class _Compiled:
    """The rules turned into regular expressions once."""

    rules: ResolutionRules
    counter: re.Pattern
    calibre: re.Pattern
    quoted: re.Pattern
    quote_chars: re.Pattern
    year: re.Pattern
    unknown: re.Pattern
    unknown_suffix: re.Pattern
    alternatives: re.Pattern
    with_: re.Pattern
    based_on: re.Pattern
    for_: re.Pattern
    for_bare: re.Pattern
    kit: re.Pattern
    maker: re.Pattern
    descriptor: _DescriptorMatcher
    descriptor_categories: dict[str, frozenset[str]]
    descriptor_of: dict[str, Descriptor]
    eager: tuple[str, ...]
    costs: dict[str, float]


def _words(options: Iterable[str]) -> str:
    """An alternation of phrases, longest first, spaces matching any run of spaces or hyphens."""
    ordered = sorted(set(options), key=len, reverse=True)
    return "|".join(r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", o.strip())) for o in ordered)


def _compile(rules: ResolutionRules) -> _Compiled:
    q = re.escape(rules.quotes)
    desc_cats: dict[str, frozenset[str]] = {}
    desc_of: dict[str, Descriptor] = {}
    for d in rules.descriptors:
        for w in d.words:
            desc_cats[_descriptor_key(w)] = frozenset(d.categories)
            desc_of[_descriptor_key(w)] = d
    all_words = [w for d in rules.descriptors for w in d.words]
    return _Compiled(
        rules=rules,
        counter=re.compile(rules.counter, re.IGNORECASE),
        calibre=re.compile(rules.calibre, re.IGNORECASE),
        quoted=re.compile(rf"[{q}]+([^{q}]+?)[{q}]+"),
        quote_chars=re.compile(rf"[{q}]+"),
        year=re.compile(rf"\s*\(?\b(?:{_words(rules.year_markers)})\s*\.?\s*(?:19|20)\d\d\)?\s*$", re.IGNORECASE),
        unknown=re.compile(rf"^\s*\(?(?:{_words(rules.unknown_markers)})\)?\s+(?=\S)", re.IGNORECASE),
        unknown_suffix=re.compile(rf"\s*\(?\b(?:{_words(rules.unknown_suffixes)})\)?\s*$", re.IGNORECASE),
        alternatives=re.compile(rf"\s*(?:{'|'.join(re.escape(s) for s in rules.alternative_separators)})\s*", re.IGNORECASE),
        with_=re.compile(rf"^(?P<carrier>.+?)\s+(?:{_words(rules.with_words)})\s+(?P<weapon>.+)$", re.IGNORECASE),
        based_on=re.compile(rf"\s+(?:{_words(rules.based_on_words)})\s+.*$", re.IGNORECASE),
        for_=re.compile(rf"^(?P<part>[^(]*?)\s*\(\s*(?P<inner>[^()]*?)\s*\b(?:{_words(rules.for_words)})\s+(?P<system>[^()]+(?:\([^()]*\)[^()]*)*)\)\s*$", re.IGNORECASE),
        for_bare=re.compile(rf"^(?P<part>[^()]+?)\s+(?:{_words(rules.for_words)})\s+(?:the\s+)?(?P<system>[^()]+)$", re.IGNORECASE),
        kit=re.compile(rf"\s+(?:{'|'.join(rules.kits)})\s*$", re.IGNORECASE),
        maker=re.compile(rf"^(?:{_words(rules.makers)})\s+(?=\S)", re.IGNORECASE),
        descriptor=_DescriptorMatcher(desc_of),
        descriptor_categories=desc_cats,
        descriptor_of=desc_of,
        eager=tuple(s.id for s in rules.steps if s.eager),
        costs={s.id: s.cost for s in rules.steps},
    )


class _DescriptorMatch:
    """Where a trailing descriptor starts: ``group("rest")`` before it, ``group("words")`` the words."""

    def __init__(self, rest: str, words: str, key: str):
        self._groups = {"rest": rest, "words": words, "key": key}

    def group(self, name: str) -> str:
        return self._groups[name]


_TOKEN = re.compile(r"[^\s-]+")


class _DescriptorMatcher:
    """The longest known descriptor a text ends in, after at least one other word.

    A dictionary lookup per trailing run of words (a plural ``s`` allowed), not
    one regular expression of every descriptor: that backtracked through the
    whole alternation at every position and was most of the pipeline's time.
    """

    def __init__(self, descriptors: dict[str, Descriptor]):
        self.keys = frozenset(descriptors)
        self.longest = max((len(k.split()) for k in descriptors), default=0)

    def match(self, text: str) -> _DescriptorMatch | None:
        tokens = list(_TOKEN.finditer(text))
        for n in range(min(self.longest, len(tokens) - 1), 0, -1):
            start = tokens[-n].start()
            if not text[start - 1].isspace():
                continue  # "T-72B3" does not end in the descriptor "B3"; words start after a space
            words = text[start:].rstrip()
            key = _descriptor_key(words)
            if key not in self.keys and key.endswith("s") and key[:-1] in self.keys:
                key = key[:-1]  # "patrol boats"
            if key in self.keys:
                rest = text[:start].rstrip()
                if rest:
                    return _DescriptorMatch(rest, words, key)
        return None




def load_resolution_rules(path: Path | None = None) -> ResolutionRules:
    """Read and validate the pipeline's words and patterns (the bundled file unless ``path``)."""
    path = path or bundled_catalog_dir() / RESOLUTION_FILE
    return parse_model_file(path, ResolutionRules)


def parse_model_file(path: Path, model: type[BaseModel]) -> BaseModel:
    """Validate a YAML mapping with a pydantic model; every problem names the file and the field."""
    from pydantic import ValidationError

    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InvalidCatalog(f"{path}: expected a mapping, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {pydantic_location(e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()]
        raise InvalidCatalog("\n".join(lines)) from None


@lru_cache(maxsize=4)
def _bundled_compiled(mtime_ns: int) -> _Compiled:
    return _compile(load_resolution_rules())


def bundled_rules() -> _Compiled:
    """The bundled rules, compiled once per version of the file."""
    path = bundled_catalog_dir() / RESOLUTION_FILE
    return _bundled_compiled(path.stat().st_mtime_ns)
