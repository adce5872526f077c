"""The words and patterns of the resolution pipeline: ``catalogs/resolution.yaml``, validated and compiled.

The steps themselves are code (:mod:`orbat.resolution`); this module holds
what they are configured with (costs, descriptors, makers, kit patterns, ...),
reads the YAML safely, validates it with pydantic (:mod:`orbat.resolution_schema`:
every problem names the file and the field), caches the validated words as
plain JSON (so a later command loads them without PyYAML or pydantic) and
compiles them once per version of the file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii

from orbat.datafiles import RESOLUTION_FILE, bundled_catalog_dir, cached_data
from orbat.resolution import _descriptor_key

# --- the data the steps use --------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor:
    """Words that say what a thing is (``howitzer``, ``fuel tanker``) and the categories that fit them."""

    words: tuple[str, ...]
    categories: tuple[str, ...]
    entry: str | None = None  #: the entry a name falls back to (else the category's)
    fallback: bool = True  #: false for words too wide to stand for a category
    carriers: tuple[str, ...] = ()  #: categories of vehicles these words turn into one of theirs


@dataclass(frozen=True)
class StepSpec:
    """One step of the pipeline: the id of its code, its cost, and what it does (for the docs)."""

    id: str
    cost: float
    description: str
    example: str
    eager: bool = False  #: runs first, always, before any search

    def model_dump(self) -> dict:
        """The step's configuration as a dict (as the pydantic model gave it)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ResolutionWords:
    """The validated words and patterns of the resolution steps, as plain data (see :mod:`orbat.resolution_schema`)."""

    steps: tuple[StepSpec, ...]
    counter: str
    calibre: str
    quotes: str
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

    def spec(self, step_id: str) -> StepSpec:
        """The configuration of one step."""
        return next(s for s in self.steps if s.id == step_id)

    @classmethod
    def from_data(cls, data: dict) -> ResolutionWords:
        """From the validated rules' JSON data (``ResolutionRules.model_dump(mode="json")``).

        Raises ``TypeError``/``KeyError``/``ValueError`` when the data does not
        have that shape (a corrupt cache, which is then not used).
        """
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise ValueError("not the resolution rules")
        values = {}
        for f in fields(cls):
            value = data[f.name]
            if f.name == "steps":
                value = tuple(StepSpec(**_checked(s, StepSpec)) for s in value)
            elif f.name == "descriptors":
                value = tuple(Descriptor(**{k: tuple(v) if isinstance(v, list) else v
                                            for k, v in _checked(d, Descriptor).items()}) for d in value)
            elif f.name == "category_entries":
                if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                          for k, v in value.items()):
                    raise TypeError(f.name)
            elif isinstance(value, list):
                if not all(isinstance(v, str) for v in value):
                    raise TypeError(f.name)
                value = tuple(value)
            elif not isinstance(value, str):
                raise TypeError(f.name)
            values[f.name] = value
        return cls(**values)


def _checked(item: object, kind: type) -> dict:
    """A dict with exactly the fields of ``kind`` (else ``ValueError``)."""
    if not isinstance(item, dict) or set(item) != {f.name for f in fields(kind)}:
        raise ValueError(f"not a {kind.__name__}")
    return item


@dataclass(frozen=True)
class _Compiled:
    """The rules turned into regular expressions once."""

    rules: ResolutionWords
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


#: The word lists the steps look for in a name (each also in Latin letters: see :func:`_latin_too`).
_WORD_LISTS = ("year_markers", "unknown_markers", "unknown_suffixes", "alternative_separators", "with_words",
               "based_on_words", "for_words", "makers")


def _latin(text: str) -> str:
    """Text as the steps see a name: NFKC, any script transliterated (``«`` is ``<<``), spaces as written."""
    return anyascii(unicodedata.normalize("NFKC", text))


def _latin_too(rules: ResolutionWords) -> ResolutionWords:
    """The rules with each word also in Latin letters, as the steps read names.

    The search transliterates a name before any step reads it ("неизвестный
    Т-72" is "neizvestnyi T-72"), so a word written in Cyrillic
    ("неизвестный", " или ", "с") only ever matches in its Latin form. The
    words stay as written too (what the docs and ``model_dump`` show).
    """
    def both(words: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*words, *(_latin(w) for w in words)]))

    lists = {name: both(getattr(rules, name)) for name in _WORD_LISTS}
    quotes = "".join(dict.fromkeys(rules.quotes + "".join(_latin(c) for c in rules.quotes)))
    descriptors = tuple(replace(d, words=both(d.words)) for d in rules.descriptors)
    return replace(rules, quotes=quotes, descriptors=descriptors, **lists)


def _compile(rules: ResolutionWords) -> _Compiled:
    rules = _latin_too(rules)
    q = re.escape(rules.quotes)
    desc_cats: dict[str, frozenset[str]] = {}
    desc_of: dict[str, Descriptor] = {}
    for d in rules.descriptors:
        for w in d.words:
            desc_cats[_descriptor_key(w)] = frozenset(d.categories)
            desc_of[_descriptor_key(w)] = d
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




#: The modules that decide what validated rules are (the schema, the step registry, the
#: categories): a change to one of them invalidates the cache.
_SCHEMA_CODE = tuple(Path(__file__).with_name(n) for n in
                     ("resolution_rules.py", "resolution_schema.py", "resolution.py", "catalog.py"))


def cached_words(path: Path, extensions: tuple[Path, ...] = ()) -> ResolutionWords:
    """A rules file with the words of ``extensions`` added, validated (:func:`load_resolution_rules`) or
    from the cache of its validated form."""

    def validated() -> dict:
        from orbat.resolution_schema import load_resolution_rules

        return load_resolution_rules(path, extensions).model_dump(mode="json")

    def readable(data: object) -> bool:
        try:
            ResolutionWords.from_data(data)
        except (TypeError, KeyError, ValueError):
            return False
        return True

    return ResolutionWords.from_data(cached_data("resolution", [path, *extensions], validated, readable,
                                                 _SCHEMA_CODE))


@lru_cache(maxsize=4)
def _bundled_compiled(mtime_ns: int) -> _Compiled:
    return _compile(cached_words(bundled_catalog_dir() / RESOLUTION_FILE))


def bundled_rules() -> _Compiled:
    """The bundled rules, compiled once per version of the file."""
    path = bundled_catalog_dir() / RESOLUTION_FILE
    return _bundled_compiled(path.stat().st_mtime_ns)


def extended_rules(extensions: Iterable[Path]) -> _Compiled:
    """The bundled rules with the words of a user's ``resolution.yaml`` files added (in order), compiled
    once per version of the files; the bundled rules alone when there are none."""
    extensions = tuple(Path(p) for p in extensions)
    if not extensions:
        return bundled_rules()
    stats = tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in extensions)
    bundled = bundled_catalog_dir() / RESOLUTION_FILE
    return _extended_compiled(bundled.stat().st_mtime_ns, stats)


@lru_cache(maxsize=4)
def _extended_compiled(mtime_ns: int, stats: tuple[tuple[str, int, int], ...]) -> _Compiled:
    return _compile(cached_words(bundled_catalog_dir() / RESOLUTION_FILE, tuple(Path(s[0]) for s in stats)))


def __getattr__(name: str):
    # the pydantic schema and its loaders, public here as they always were
    if name in ("load_resolution_rules", "parse_model_file", "ResolutionRules"):
        import orbat.resolution_schema as schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
