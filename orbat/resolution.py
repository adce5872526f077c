"""The resolution pipeline: how a name as the field writes it finds its catalog entry.

A name resolves exactly (its normalized form is an entry's name or alias) or
through **named steps**, each a small deterministic rewrite registered here by
a kebab-case id: strip a calibre, unquote a nickname, drop a descriptor, map a
variant suffix or ``Obr. YEAR`` to the base type, ``Unknown X`` to X,
``A or B`` to their common family, ``X (for SYSTEM)`` to the system,
``X with WEAPON`` to the weapon or the carrier. The words and patterns the
steps use are data (``catalogs/resolution.yaml``, read by
:mod:`orbat.resolution_rules`), validated with pydantic when the file changes.

The search is a cheapest-first walk over rewrites: every step has a cost (a
step that loses information, such as dropping a variant letter, costs more
than one that only removes noise, such as a calibre), and the first rewrite
that names an entry whose category fits what the name's descriptors say wins.
Ties go to fewer steps, then to the order steps are registered in. A
resolution keeps the steps it took (``how``), so a user can see why
``152mm 2A65 'Msta-B' howitzer`` became ``2A65 Msta-B``. Fuzzy matching is
never a resolution: it only fills ``suggestions`` of a name that did not resolve.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from anyascii import anyascii

from orbat.names import MAX_NAME_LENGTH, normalize_name  # noqa: F401 (MAX_NAME_LENGTH: public here too)

if TYPE_CHECKING:
    from orbat.catalog import Catalog, EquipmentType
    from orbat.resolution_rules import Descriptor, _Compiled

#: Rewrites explored per name before the search gives up (bounds the work on odd input).
MAX_EXPANSIONS = 200


def bundled_rules() -> _Compiled:
    """The bundled rules (``catalogs/resolution.yaml``), validated and compiled once per version of the file.

    :mod:`orbat.resolution_rules` (pydantic) is imported here, on first use:
    a name that resolves as written needs no rules.
    """
    from orbat.resolution_rules import bundled_rules as compiled

    return compiled()


def __getattr__(name: str):
    # load_resolution_rules and parse_model_file are public here too, from the pydantic-backed module
    if name in ("load_resolution_rules", "parse_model_file"):
        import orbat.resolution_schema as schema

        return getattr(schema, name)
    if name == "Descriptor":
        from orbat.resolution_rules import Descriptor

        return Descriptor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_KEY_SPLIT = re.compile(r"[\s-]+")


def _descriptor_key(words: str) -> str:
    """A descriptor's words as one lookup key: lower case, one space between words."""
    return " ".join(_KEY_SPLIT.split(words.strip().lower()))


# --- the steps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rewrite:
    """What a step made of a name: a new text to look up, or (for steps that combine) an entry."""

    text: str | None = None
    entry: EquipmentType | None = None
    categories: frozenset[str] | None = None  # the categories the name's words allow, once known


class StepContext:
    """What a step may use: the compiled rules and a way to resolve a part of the name."""

    def __init__(self, catalog: Catalog, compiled: _Compiled):
        self.catalog = catalog
        self.compiled = compiled
        self._matches: dict[tuple[str, str], re.Match | None] = {}

    def match(self, pattern: str, text: str) -> re.Match | None:
        """``compiled.<pattern>.match(text)``, once per text (several steps ask the same)."""
        key = (pattern, text)
        if key not in self._matches:
            self._matches[key] = getattr(self.compiled, pattern).match(text)
        return self._matches[key]

    def resolve_part(self, text: str) -> EquipmentType | None:
        """Resolve a part of a name (one alternative, a weapon) through the whole pipeline.

        Parts are always shorter than the name they come from, so this ends;
        the catalog caches them like any name.
        """
        return self.catalog.explain(text, suggest=False).entry

    def category_entry(self, category: str) -> EquipmentType | None:
        """The generic entry that stands for a whole category (``generic-ifv`` for ``ifv``)."""
        entry_id = self.compiled.rules.category_entries.get(category)
        return self.catalog.entries.get(entry_id) if entry_id else None


StepFn = Callable[[str, StepContext], Iterator[Rewrite]]
#: The registered steps, by id, in the order they are tried.
STEPS: dict[str, StepFn] = {}


def step(step_id: str) -> Callable[[StepFn], StepFn]:
    """Register a resolution step under a stable id (its cost and words are in the YAML)."""

    def register(fn: StepFn) -> StepFn:
        STEPS[step_id] = fn
        return fn

    return register


_ESCAPE = re.compile(r"<U\+([0-9A-Fa-f]{4,6})>|\\u([0-9A-Fa-f]{4})")


@step("decode-escapes")
def _decode_escapes(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    def char(m: re.Match) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF and chr(code).isprintable() else ""

    out = _ESCAPE.sub(char, text)
    if out != text:
        yield Rewrite(out)


# Trailing punctuation and notes a scrape leaves: "BTR-ZD:", "1L22 'Parol': (1, destroyed)".
_TRAILING_NOISE = re.compile(r"\s*(?::.*|[;,.!?*]+)$")


@step("strip-punctuation")
def _strip_punctuation(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    out = _TRAILING_NOISE.sub("", text).strip()
    if out and out != text.strip():
        yield Rewrite(out)


@step("strip-counter")
def _strip_counter(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.compiled.counter.match(text)
    if m and text[m.end():].strip():
        yield Rewrite(text[m.end():])


@step("strip-calibre")
def _strip_calibre(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    out = ctx.compiled.calibre.sub(" ", text).strip()
    if out and out != text.strip():
        yield Rewrite(out)


@step("unquote")
def _unquote(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    out = " ".join(ctx.compiled.quote_chars.sub(" ", text).split())
    if out and out != text:
        yield Rewrite(out)


@step("drop-nickname")
def _drop_nickname(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    out = " ".join(ctx.compiled.quoted.sub(" ", text).split())
    # what is left must still name something: "'T-72B3' tank" is not just "tank"
    if out and out != " ".join(text.split()) and normalize_name(out) and _descriptor_key(out) not in ctx.compiled.descriptor_of:
        yield Rewrite(out)


@step("nickname-only")
def _nickname_only(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    if "(" in text or ctx.match("with_", text) or ctx.match("for_bare", text):
        return  # the nickname may be the system's or the weapon's, not this vehicle's
    if not ctx.compiled.quoted.search(text):
        return
    outside = " ".join(ctx.compiled.quoted.sub(" ", text).split())
    d = ctx.compiled.descriptor.match(outside)
    outside = d.group("rest") if d else ("" if _descriptor_key(outside) in ctx.compiled.descriptor_of else outside)
    if outside and ctx.resolve_part(outside) is not None:
        return  # "T-72 'Ural'" is a T-72: the nickname is the designation's, not another entry's
    cats = _descriptor_categories(text, ctx)
    for m in ctx.compiled.quoted.finditer(text):
        inner = m.group(1).strip()
        if inner and inner != text.strip():
            yield Rewrite(inner, categories=cats)


# A designation: one token with letters and a digit (2S9, 9K35, M1224, AT105A, BTR-82A).
_DESIGNATION = re.compile(r"^(?=[^\s]*\d)(?=[^\s]*[A-Za-z\u0400-\u04ff])[^\s]{2,}$")


@step("split-designation")
def _split_designation(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    head, _, rest = text.strip().partition(" ")
    named_first = bool(rest) and _DESIGNATION.match(rest.split()[0]) is not None and len(head) > 2
    if ctx.compiled.alternatives.search(text) or "(" in text or ctx.match("with_", text):
        return  # alternatives, components and carriers have their own steps
    if rest and (_DESIGNATION.match(head) or named_first):
        cats = _descriptor_categories(text, ctx)
        for part in (head, rest):
            # a part that is only a descriptor ("Mi-8 tank" -> "tank") says what, not which
            if _descriptor_key(part) not in ctx.compiled.descriptor_of:
                yield Rewrite(part, categories=cats)


_NOTE = re.compile(r"\s*\(([^()]{5,})\)\s*$")


@step("drop-note")
def _drop_note(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = _NOTE.search(text)
    f = ctx.match("for_", text)
    if f and len(f.group("inner").split()) <= 3:
        return  # "(for 9K332 Tor-M2)", "(launcher for S-300)": a component, for for-system
    if m and text[: m.start()].strip():
        yield Rewrite(text[: m.start()].strip())


@step("drop-kit")
def _drop_kit(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.compiled.kit.search(text)
    if m and text[: m.start()].strip():
        yield Rewrite(text[: m.start()].strip())


@step("drop-descriptor")
def _drop_descriptor(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.compiled.descriptor.match(text)
    if m:
        cats = ctx.compiled.descriptor_categories.get(m.group("key"))
        yield Rewrite(m.group("rest"), categories=cats)


_BASED_PREFIX = re.compile(r"^\S+-based\s+(\S.*)$", re.IGNORECASE)


@step("drop-based-on")
def _drop_based_on(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    out = ctx.compiled.based_on.sub("", text).strip()
    if out and out != text.strip():
        yield Rewrite(out)
    m = _BASED_PREFIX.match(text)
    if m:
        yield Rewrite(m.group(1))


@step("drop-maker")
def _drop_maker(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.compiled.maker.match(text)
    if m:
        yield Rewrite(text[m.end():], categories=frozenset(ctx.compiled.rules.maker_categories))


_WHEELS = re.compile(r"\s*\b\d{1,2}\s*[x×х]\s*\d{1,2}\b", re.IGNORECASE)


@step("drop-wheels")
def _drop_wheels(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    out = " ".join(_WHEELS.sub(" ", text).split())
    if out and out != " ".join(text.split()) and normalize_name(out):
        yield Rewrite(out)


@step("unknown")
def _unknown(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.compiled.unknown.match(text)
    if m:
        yield Rewrite(text[m.end():])
    m = ctx.compiled.unknown_suffix.search(text)
    if m and text[: m.start()].strip():
        yield Rewrite(text[: m.start()].strip())


_PAREN_SUFFIX = re.compile(r"\((-?[A-Za-z0-9]{1,4})\)")


@step("merge-variant")
def _merge_variant(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    if _PAREN_SUFFIX.search(text):
        yield Rewrite(_PAREN_SUFFIX.sub(lambda m: m.group(1), text))


@step("drop-variant")
def _drop_variant(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    if _PAREN_SUFFIX.search(text):
        out = " ".join(_PAREN_SUFFIX.sub("", text).split())
        if out:
            yield Rewrite(out)


@step("drop-year")
def _drop_year(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.compiled.year.search(text)
    if m and text[: m.start()].strip():
        yield Rewrite(text[: m.start()].strip())


# One trailing variant mark: a letter after a digit or letter, or digits after a letter
# (T-72B3 -> T-72B -> T-72, Su-25SM -> Su-25S -> Su-25, Mi-8MTV-2 -> Mi-8MTV), never digits after digits
# (9A331 is not a 9A33) and never the type number itself (BMP-2 stays BMP-2).
_VARIANT_TAIL = re.compile(r"(?:(?<=[0-9A-Za-z])[A-Za-z]|(?<=[A-Za-z])-?\d)$")


@step("variant-base")
def _variant_base(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    stripped = text.rstrip()
    m = _VARIANT_TAIL.search(stripped)
    if not m:
        return
    base = stripped[: m.start()]
    last = base.split()[-1] if base.split() else ""
    # The base keeps a type number: letters and a digit (T-72, 2S19, M109), and no dangling hyphen.
    keeps_type = re.search(r"\d", last) or re.search(r"-[A-Za-z]{2,}$", last)
    if keeps_type and not base.endswith(("-", " ")) and re.search(r"[A-Za-z]", base):
        yield Rewrite(base)


def _expand_alternative(first: str, other: str) -> str:
    """``BMP-1 or -2`` -> ``BMP-2``; ``M109A3/A4`` -> ``M109A4``; ``BMP-1/2`` -> ``BMP-2``; else ``other``."""
    if other.startswith("-") and "-" in first:
        return first[: first.rindex("-")] + other
    if re.fullmatch(r"\d+[A-Za-z]*", other):
        m = re.search(r"\d+[A-Za-z]*$", first)
        if m:
            return first[: m.start()] + other
    m = re.fullmatch(r"([A-Za-z]{1,2})\d*[A-Za-z]?(\(.*\))?", other)
    if m:
        tail = re.search(rf"{re.escape(m.group(1))}\d*(\(.*\))?$", first)
        if tail and tail.start() > 0 and re.search(r"\d", first[: tail.start()]):
            return first[: tail.start()] + other
        # M109A3/L: the other replaces the first's trailing variant mark (A3)
        tail = re.search(r"(?<=\d)[A-Za-z]+\d*$", first)
        if tail:
            return first[: tail.start()] + other
    return other


@step("alternatives")
def _alternatives(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    parts = [p.strip() for p in ctx.compiled.alternatives.split(text) if p.strip()]
    if len(parts) < 2 or len(parts) > 8:
        return
    first = parts[0]
    # A shared trailing descriptor or type name belongs to every part: "M1114 and M1151 HMMWV".
    names = [first] + [_expand_alternative(first, p) for p in parts[1:]]
    entries = [ctx.resolve_part(n) for n in names]
    if any(e is None for e in entries):
        tail = names[-1].split(maxsplit=1)
        if len(tail) == 2:
            retry = [f"{n} {tail[1]}" for n in names[:-1]] + [names[-1]]
            entries = [ctx.resolve_part(n) for n in retry]
    if any(e is None for e in entries):
        return
    common = _common_entry(entries, ctx)  # type: ignore[arg-type]
    if common is not None:
        yield Rewrite(entry=common)


def _common_entry(entries: list[EquipmentType], ctx: StepContext) -> EquipmentType | None:
    """One entry, the family's generic entry, or the category's generic entry the entries share."""
    if len({e.id for e in entries}) == 1:
        return entries[0]
    families = {e.family for e in entries}
    categories = {e.category for e in entries}
    if len(families) == 1:
        family = families.pop()
        generic = [e for e in ctx.catalog if e.generic and e.family == family and (len(categories) == 1 and e.category in categories)]
        if generic:
            return generic[0]
    if len(categories) == 1:
        return ctx.category_entry(categories.pop())
    return None


@step("for-system")
def _for_system(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.match("for_", text)
    inner = ""
    if m:
        inner = m.group("inner").strip()
    else:
        m = ctx.match("for_bare", text)
        if not m:
            return
    part, system = m.group("part").strip(), m.group("system").strip()
    cats = _descriptor_categories(f"x {inner}" if inner else part, ctx)
    if part:
        yield Rewrite(f"{part} {inner}".strip(), categories=cats)
    yield Rewrite(system, categories=cats)


def _descriptor_at_end(text: str, ctx: StepContext) -> Descriptor | None:
    """The descriptor ``text`` ends in (or is), if any."""
    key = _descriptor_key(ctx.compiled.quote_chars.sub(" ", text))
    if key in ctx.compiled.descriptor_of:
        return ctx.compiled.descriptor_of[key]
    d = ctx.compiled.descriptor.match(text)
    return ctx.compiled.descriptor_of.get(d.group("key")) if d else None


def _descriptor_categories(text: str, ctx: StepContext) -> frozenset[str] | None:
    """The categories the trailing descriptor of ``text`` allows (None without one)."""
    descriptor = _descriptor_at_end(text, ctx)
    return frozenset(descriptor.categories) if descriptor is not None else None


@step("with-weapon")
def _with_weapon(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.match("with_", text)
    if not m:
        return
    weapon = ctx.resolve_part(m.group("weapon"))
    if weapon is not None and weapon.category in ctx.compiled.rules.weapon_categories:
        yield Rewrite(entry=weapon)


@step("with-carrier")
def _with_carrier(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = ctx.match("with_", text)
    if m:
        yield Rewrite(m.group("carrier"))


_WORD_TAIL = re.compile(r"^(?P<rest>.*?[^\s])\s+(?P<tail>(?:[A-Za-z][A-Za-z-]*\s*){1,6})$")


@step("drop-description")
def _drop_description(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    m = _WORD_TAIL.match(text.strip())
    if not m or _descriptor_at_end(text, ctx) is not None:
        return  # a known descriptor is dropped by drop-descriptor, with its category check
    words = m.group("tail").split()
    known = ctx.catalog.name_words()
    link = {w.casefold() for w in (*ctx.compiled.rules.with_words, *ctx.compiled.rules.for_words)}
    # Only words no specific entry is named with ("Ural Federal" keeps "Federal"), in any case.
    if not any(w.casefold() in known or w.casefold() in link for w in words):
        yield Rewrite(m.group("rest"))


@step("descriptor-generic")
def _descriptor_generic(text: str, ctx: StepContext) -> Iterator[Rewrite]:
    descriptor = _descriptor_at_end(text, ctx)
    if descriptor is None or not descriptor.fallback:
        return
    d = ctx.compiled.descriptor.match(text)
    carrier = ctx.resolve_part(d.group("rest")) if d else None
    entry = None
    if carrier is not None:
        # "GAZ-66 fuel tanker" is a fuel truck (a truck carries a tank); "Mi-8 tank" is no guess
        if carrier.category not in descriptor.carriers:
            return
        same_family = [e for e in ctx.catalog if e.family == carrier.family and e.category == descriptor.categories[0]]
        entry = same_family[0] if len(same_family) == 1 else None
    if entry is None and descriptor.entry is not None:
        entry = ctx.catalog.entries.get(descriptor.entry)
    if entry is None:
        entry = ctx.category_entry(descriptor.categories[0])
    if entry is not None:
        yield Rewrite(entry=entry, categories=frozenset(descriptor.categories))


# --- the search --------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """How one name resolved: the entry (or None), the steps taken, and suggestions if unresolved."""

    name: str
    entry: EquipmentType | None
    how: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        """True when the name found an entry."""
        return self.entry is not None

    @property
    def by_steps(self) -> bool:
        """True when the name needed pipeline steps (not an exact name or alias)."""
        return self.entry is not None and self.how not in (("exact",), ("alias",))

    def as_dict(self) -> dict:
        """The JSON shape of ``orbat catalog resolve --json``."""
        return {
            "name": self.name,
            "id": self.entry.id if self.entry else None,
            "category": self.entry.category if self.entry else None,
            "how": list(self.how),
            "suggestions": list(self.suggestions),
        }


@dataclass(order=True)
class _Node:
    cost: float
    steps: int
    seq: int
    text: str = field(compare=False)
    how: tuple[str, ...] = field(compare=False)
    categories: frozenset[str] | None = field(compare=False)
    entry: EquipmentType | None = field(compare=False, default=None)


def _fits(entry: EquipmentType, categories: frozenset[str] | None) -> bool:
    return categories is None or entry.category in categories


def exact_resolution(name: str, catalog: Catalog) -> Resolution | None:
    """The resolution of a name that is an entry's name or alias as written (after normalization), else None."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        return None
    entry = catalog.lookup_exact(name)
    if entry is None:
        return None
    how = "exact" if normalize_name(entry.name) == normalize_name(name) else "alias"
    return Resolution(name, entry, (how,))


def _search(name: str, catalog: Catalog, compiled: _Compiled) -> Resolution:
    """The cheapest chain of steps from ``name`` to an entry (exact lookups first).

    Eager steps (a scrape's counter, a calibre: noise that never changes what a
    name means) run first, in order, and the cleaned name is resolved through
    the catalog's cache, so ``156 T-80BV`` and ``157 T-80BV`` cost one search.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        return Resolution(name if isinstance(name, str) else str(name), None)
    exact = exact_resolution(name, catalog)
    if exact is not None:
        return exact
    ctx = StepContext(catalog, compiled)
    seq = 0
    # Steps read Latin letters: Cyrillic (or any script) is transliterated first, as
    # normalize_name does for every lookup, so "Т-72Б3М" is "T-72B3M" to every step.
    start = " ".join(anyascii(unicodedata.normalize("NFKC", name)).split())
    eager: list[str] = []
    for step_id in compiled.eager:
        for rewrite in STEPS[step_id](start, ctx):
            if rewrite.text and normalize_name(rewrite.text):
                start = " ".join(rewrite.text.split())
                eager.append(step_id)
            break
    if eager:
        rest = catalog.explain(start, suggest=False)
        if rest.entry is None:
            return Resolution(name, None)
        return Resolution(name, rest.entry, (*eager, *(h for h in rest.how if h not in ("exact", "alias"))))
    heap: list[_Node] = [_Node(0.0, 0, seq, start, (), None)]
    seen: set[tuple[str, frozenset[str] | None]] = set()
    expansions = 0
    while heap and expansions < MAX_EXPANSIONS:
        node = heapq.heappop(heap)
        if node.entry is not None:
            return Resolution(name, node.entry, node.how)
        key = (node.text, node.categories)
        if key in seen:
            continue
        seen.add(key)
        expansions += 1
        for step_id, fn in STEPS.items():
            if step_id in compiled.eager:
                continue
            cost = node.cost + compiled.costs[step_id]
            for rewrite in fn(node.text, ctx):
                cats = node.categories
                if rewrite.categories is not None:
                    cats = rewrite.categories if cats is None else (cats & rewrite.categories) or rewrite.categories
                how = (*node.how, step_id)
                seq += 1
                if rewrite.entry is not None:
                    if _fits(rewrite.entry, cats):
                        heapq.heappush(heap, _Node(cost, len(how), seq, node.text, how, cats, rewrite.entry))
                    continue
                text = " ".join((rewrite.text or "").split())
                if not text or not normalize_name(text):
                    continue
                found = catalog.lookup_exact(text)
                if found is not None and _fits(found, cats):
                    heapq.heappush(heap, _Node(cost, len(how), seq, text, how, cats, found))
                heapq.heappush(heap, _Node(cost, len(how), seq, text, how, cats))
    return Resolution(name, None)


def resolve_name(name: str, catalog: Catalog, compiled: _Compiled | None = None) -> Resolution:
    """Resolve one name through the pipeline (without suggestions; see ``Catalog.explain``)."""
    return _search(name, catalog, compiled or bundled_rules())


#: Largest list of names ``read_name_list`` agrees to read.
MAX_NAME_FILE_BYTES = 10 * 1024 * 1024


def read_name_list(path: Path) -> list[str]:
    """The names in a text file, one a line (blank lines and surrounding spaces dropped)."""
    from orbat.errors import InputFileError

    try:
        size = path.stat().st_size
        if size > MAX_NAME_FILE_BYTES:
            raise InputFileError(f"{path}: {size} bytes is too large for a list of names")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, expected a text file with one name a line") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def explain_names(catalog: Catalog, names: Iterable[str], path: Path | None = None) -> list[Resolution]:
    """Resolutions of the given names, then of the names in ``path`` (one a line), in order."""
    wanted = list(names) + (read_name_list(path) if path is not None else [])
    return [catalog.explain(name) for name in wanted]


def step_table(compiled: _Compiled | None = None) -> list[dict]:
    """The steps in the order they are tried, with cost, description and example (for docs)."""
    rules = (compiled or bundled_rules()).rules
    return [rules.spec(step_id).model_dump() for step_id in STEPS]


def resolved_collisions(catalog: Catalog, compiled: _Compiled | None = None, max_cost: float = 1.0) -> list[str]:
    """Names of one entry that a step removing only noise turns into a name of another entry.

    "No two entries claim one name" must hold after the pipeline too: if entry A
    had the alias ``"2S1 'Gvozdika'"`` and entry B the alias ``2S1 Gvozdika``,
    the unquote step would make A's name B's. Every name of every entry is put
    through each step of cost ``max_cost`` or less (the steps that drop only
    noise or a descriptor) once; a rewrite that names another *specific* entry
    of a fitting category is reported. A specific name narrowing a generic one
    (``ZU-23 technical`` is a technical, not the generic ``technical``) is not
    a collision: the specific name resolves exactly before any step runs.
    """
    compiled = compiled or bundled_rules()
    ctx = StepContext(catalog, compiled)
    cheap = [(sid, fn) for sid, fn in STEPS.items() if compiled.costs[sid] <= max_cost]
    problems: list[str] = []
    for entry in catalog:
        for name in entry.names:
            for step_id, fn in cheap:
                for rewrite in fn(name, ctx):
                    if rewrite.text is None:
                        continue
                    other = catalog.lookup_exact(rewrite.text)
                    if other is None or other.id == entry.id or other.generic or not _fits(other, rewrite.categories):
                        continue
                    if step_id in ("drop-descriptor", "drop-maker") and other.family == entry.family:
                        continue  # a variant named by its role ("UAZ Patriot Pickup") is not the base
                    if True:
                        problems.append(
                            f"entry {entry.id!r}: name {name!r} becomes {rewrite.text!r} by step {step_id}, "
                            f"which is entry {other.id!r}"
                        )
    return problems
