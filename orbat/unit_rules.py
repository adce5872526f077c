"""Unit name rules: how a unit's echelon, branch and former names are read from its name, and its symbol code.

Each rule is code registered by a kebab-case id (:data:`NAME_RULES`, with
its description in :data:`RULE_HELP`); the words it looks for are data
(``catalogs/unit-rules.yaml``, extended by one beside the database). Every
reading says which rule fired and why (:attr:`NameReading.reasons`). The
branches map to MIL-STD-2525D land-unit symbols (:meth:`UnitRules.sidc`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyascii import anyascii
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orbat.datafiles import beside_database, bundled_catalog_dir, pydantic_location, read_yaml
from orbat.errors import DataFileError
from orbat.names import normalize_name

if TYPE_CHECKING:
    from orbat.units import Unit

RULES_FILE = "unit-rules.yaml"

#: Echelons, smallest first, with their 2525D amplifier code (SIDC digits 9-10).
ECHELONS: dict[str, str] = {
    "team": "11", "squad": "12", "section": "13", "platoon": "14", "company": "15", "battalion": "16",
    "regiment": "17", "brigade": "18", "division": "21", "corps": "22", "army": "23", "army-group": "24",
    "region": "25", "command": "26",
}
#: SIDC digits 9-10 when the echelon is not known.
NO_ECHELON = "00"
#: Standard identity digits (SIDC digit 4) by name.
IDENTITIES: dict[str, str] = {
    "pending": "0", "unknown": "1", "assumed-friend": "2", "friend": "3", "neutral": "4", "suspect": "5",
    "hostile": "6",
}


class InvalidUnits(DataFileError):
    """A units file or a unit-rules file does not validate."""



class Branch(BaseModel):
    """A branch: what people call it and the 2525D land-unit symbol it gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    entity: str = Field(pattern=r"^\d{6}$", description="SIDC digits 11-16: entity, type, subtype")
    modifier1: str = Field(default="00", pattern=r"^\d{2}$", description="SIDC digits 17-18")
    modifier2: str = Field(default="00", pattern=r"^\d{2}$", description="SIDC digits 19-20")


class RuleSpec(BaseModel):
    """A name rule in the YAML: the id of registered code and its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    params: dict[str, Any] = {}


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branches: dict[str, Branch] = {}
    rules: list[RuleSpec] = []


@dataclass
class NameReading:
    """What the name rules read from one written unit name."""

    written: str
    name: str = ""
    aliases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    echelon: str | None = None
    branch: str | None = None
    modifier2: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """The name, then its aliases: what the word rules look at, in that order."""
        return [self.name, *[a for a in self.aliases if a != self.written]]


#: Name rules by id: ``rule(reading, params, rules)`` fills in the reading and says why.
NAME_RULES: dict[str, Callable[[NameReading, Mapping[str, Any], "UnitRules"], None]] = {}
#: What each rule does (``orbat units rules``; a test fails when one has none).
RULE_HELP: dict[str, str] = {}


def name_rule(rule_id: str, description: str):
    """Register a name rule under ``rule_id``."""
    def register(func):
        NAME_RULES[rule_id] = func
        RULE_HELP[rule_id] = description
        return func
    return register


def words_of(text: str) -> tuple[str, ...]:
    """Lower-case words of a text, any script transliterated, hyphens and punctuation as spaces."""
    plain = anyascii(unicodedata.normalize("NFKC", text)).lower()
    return tuple(re.findall(r"[a-z0-9]+", plain))


def _ends(words: tuple[str, ...], phrase: tuple[str, ...]) -> Iterator[int]:
    """The end (exclusive) of each place ``phrase`` occurs in ``words``, last first."""
    if phrase[0] not in words:
        return
    n = len(phrase)
    for start in range(len(words) - n, -1, -1):
        if words[start:start + n] == phrase:
            yield start + n


def _find(words: tuple[str, ...], phrase: tuple[str, ...]) -> int:
    """The end (exclusive) of the last place ``phrase`` occurs in ``words``, or -1."""
    if phrase[0] not in words:
        return -1
    n = len(phrase)
    for start in range(len(words) - n, -1, -1):
        if words[start:start + n] == phrase:
            return start + n
    return -1


def _phrases(params: Mapping[str, Any], rule_id: str) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    words = params.get("words")
    if not isinstance(words, Mapping):
        raise InvalidUnits(f"unit rule {rule_id!r}: params.words must map a value to a list of words")
    out = {}
    for value, phrases in words.items():
        if not isinstance(phrases, list) or not all(isinstance(p, str) and words_of(p) for p in phrases):
            raise InvalidUnits(f"unit rule {rule_id!r}: words of {value!r} must be a list of non-empty texts")
        out[str(value)] = [(p, words_of(p)) for p in phrases]
    return out


_PAREN = re.compile(r"\(([^()]*)\)")
_PARTS = re.compile(r",|;|\bof\b", re.IGNORECASE)


def designation_parts(text: str) -> list[str]:
    """'1st Battalion, 423rd Regiment' -> ['1st Battalion', '423rd Regiment']: the unit first, then its parents."""
    return [p for p in (part.strip() for part in _PARTS.split(text)) if p]


@name_rule("former-names", "a parenthesis is a former name ('ex-200th Brigade'), a former affiliation "
           "('ex-LNR', kept as a note) or another name ('VDV (Russian Airborne Forces)')")
def _former_names(reading: NameReading, params: Mapping[str, Any], rules: "UnitRules") -> None:
    markers = [str(m).lower() for m in params.get("markers", ())]
    text = reading.written
    base = " ".join(_PAREN.sub(" ", text).split())
    reading.name = base or " ".join(text.split())
    for match in _PAREN.finditer(text):
        inner = " ".join(match.group(1).split())
        if not inner:
            continue
        marker = next((m for m in markers if inner.lower().startswith(m)), None)
        if marker is None:
            reading.aliases.append(inner)
            reading.reasons.append(f"former-names: {inner!r} in parentheses is another name of the unit")
            continue
        former = inner[len(marker):].strip()
        before = text[:match.start()].split()
        after = text[match.end():].split()
        if not former:
            continue
        if rules.echelon_of(former) is not None:
            reading.aliases.append(former)
            reading.reasons.append(f"former-names: {inner!r} names a unit, so {former!r} is a former name")
        elif after and before:
            # "Moskva (ex-Western) Military District": the word before the parenthesis was "Western"
            alias = " ".join([*before[:-1], former, *after])
            reading.aliases.append(alias)
            reading.reasons.append(f"former-names: {inner!r} replaces {before[-1]!r}: formerly {alias!r}")
        else:
            reading.notes.append(f"formerly of {former}")
            reading.reasons.append(f"former-names: {inner!r} names no unit: kept as the note 'formerly of {former}'")


@name_rule("echelon-word", "the echelon word that ends last in the name ('Army Aviation Brigade': brigade), "
           "the longer phrase on a tie")
def _echelon_word(reading: NameReading, params: Mapping[str, Any], rules: "UnitRules") -> None:
    for text in reading.texts:
        passed: list[tuple[str, str]] = []
        found = rules.echelon_of(text, params, passed=passed)
        for phrase, branch in passed if found is None else ():
            reading.reasons.append(f"echelon-word: {phrase!r} in {text!r} qualifies the branch {branch!r} "
                                   "that follows it, so it is no echelon")
        if found is not None:
            reading.echelon, phrase = found
            reading.reasons.append(f"echelon-word: {phrase!r} in {text!r} -> {reading.echelon}")
            return


@name_rule("group-of-forces", "a group of forces ('Southern Group of Forces', 'Group of Soviet Forces in "
           "Germany', 'Gruppirovka voysk') groups armies: the echelon of the parameters, unless an echelon "
           "word before it names a unit of the group ('1st Battalion of the Southern Group of Forces')")
def _group_of_forces(reading: NameReading, params: Mapping[str, Any], rules: "UnitRules") -> None:
    groups, services, gap, echelon = _grouping_params(params)
    for text in reading.texts:
        words = words_of(text)
        for i, word in enumerate(words):
            if word not in groups:
                continue
            rest = words[i + 1:]
            rest = rest[1:] if rest[:1] == ("of",) else rest
            service = next((w for w in rest[:gap + 1] if w in services), None)
            if service is None:
                continue
            before = " ".join(words[:i])
            if before and rules.echelon_of(before) is not None:
                return  # a unit of the group: its own echelon word decided
            was = f" (not {reading.echelon})" if reading.echelon and reading.echelon != echelon else ""
            reading.echelon = echelon
            reading.reasons.append(f"group-of-forces: {word!r} of {service!r} in {text!r} is a group of "
                                   f"forces, a grouping of armies -> {echelon}{was}")
            return


def _grouping_params(params: Mapping[str, Any]) -> tuple[set[str], set[str], int, str]:
    def words(key: str) -> set[str]:
        found = params.get(key)
        if not isinstance(found, list) or not found or not all(isinstance(w, str) and len(words_of(w)) == 1
                                                                for w in found):
            raise InvalidUnits(f"unit rule 'group-of-forces': params.{key} must be a list of single words")
        return {words_of(w)[0] for w in found}

    gap, echelon = params.get("gap", 2), params.get("echelon")
    if not isinstance(gap, int) or isinstance(gap, bool) or not 0 <= gap <= 5:
        raise InvalidUnits("unit rule 'group-of-forces': params.gap must be a whole number from 0 to 5")
    if echelon not in ECHELONS:
        raise InvalidUnits(f"unit rule 'group-of-forces': params.echelon must be one of {', '.join(ECHELONS)}")
    return words("groups"), words("services"), gap, echelon


@name_rule("branch-of-service", "a branch-of-service word ('Airborne Forces', 'Railway Troops') names a "
           "service or arm, which has no echelon of its own: an echelon word before it does not count "
           "('Northern Fleet Coastal Forces'), one after it does ('Joint Forces Command')")
def _branch_of_service(reading: NameReading, params: Mapping[str, Any], rules: "UnitRules") -> None:
    # MIL-STD-2525D / APP-6(D) echelon amplifiers size one unit (a brigade, an army, a command); a service
    # or arm holds units of every size, so its symbol has none ("00"). Decided where echelon-word looks:
    # the name, then its aliases; in each the unit's part ("Coastal Troops" of "Coastal Troops, Baltic Fleet").
    services = [(p, words_of(p)) for p in _service_words(params)]
    for text in reading.texts:
        for part in designation_parts(text):
            words = words_of(part)
            service = max(((_find(words, key), len(key), phrase) for phrase, key in services), default=None)
            service = service if service is not None and service[0] >= 0 else None
            found = rules.echelon_of(part)
            if service is None and found is None:
                continue
            if service is None:
                return  # an echelon word names this unit
            end = _find(words, words_of(found[1])) if found else -1
            if end > service[0]:
                return  # "Joint Forces Command": a command of the forces
            was = f" (not {reading.echelon})" if reading.echelon else ""
            reading.echelon = None
            reading.reasons.append(f"branch-of-service: {service[2]!r} in {part!r} names a branch of service "
                                   f"or arm, not a unit of one echelon: no echelon{was}")
            return


def _service_words(params: Mapping[str, Any]) -> list[str]:
    words = params.get("words")
    if not isinstance(words, list) or not all(isinstance(w, str) and words_of(w) for w in words):
        raise InvalidUnits("unit rule 'branch-of-service': params.words must be a list of non-empty texts")
    return words


@name_rule("branch-word", "the longest branch phrase in the name ('Anti-Tank' over 'Tank'), the first "
           "listed on a tie")
def _branch_word(reading: NameReading, params: Mapping[str, Any], rules: "UnitRules") -> None:
    table = rules.table("branch-word", params)
    for text in (part for whole in reading.texts for part in designation_parts(whole)):
        words = words_of(text)
        best: tuple[int, int, str, str] | None = None
        for order, (branch, phrases) in enumerate(table.items()):
            for phrase, key in phrases:
                if _find(words, key) >= 0 and (best is None or (len(key), -order) > (best[0], best[1])):
                    best = (len(key), -order, branch, phrase)
        if best is not None:
            reading.branch = best[2]
            label = rules.branches[best[2]].label if best[2] in rules.branches else best[2]
            reading.reasons.append(f"branch-word: {best[3]!r} in {text!r} -> {best[2]} ({label})")
            return


@name_rule("modifier-word", "a capability word ('Mountain') sets the symbol's sector 2 modifier, unless the "
           "branch has its own")
def _modifier_word(reading: NameReading, params: Mapping[str, Any], rules: "UnitRules") -> None:
    table = rules.table("modifier-word", params)
    words = words_of(reading.name)
    for code, phrases in table.items():
        for phrase, key in phrases:
            if _find(words, key) >= 0:
                reading.modifier2 = code
                reading.reasons.append(f"modifier-word: {phrase!r} -> symbol modifier {code}")
                return


class UnitRules:
    """The branches and the name rules, as loaded from the unit-rules YAML files."""

    def __init__(self, branches: Mapping[str, Branch], rules: Sequence[RuleSpec]):
        self.branches = dict(branches)
        self.rules = list(rules)
        self._tables: dict[int, dict] = {}
        unknown = [r.id for r in self.rules if r.id not in NAME_RULES]
        if unknown:
            raise InvalidUnits(f"unknown unit rule(s) {', '.join(unknown)}; known: {', '.join(NAME_RULES)}")
        self._echelon_params = next((r.params for r in self.rules if r.id == "echelon-word"), {"words": {}})
        branch_params = next((r.params for r in self.rules if r.id == "branch-word"), {"words": {}})
        # Phrases an echelon word may qualify a later word of ("Army Aviation"): see echelon_of.
        self._branch_phrases = [key for phrases in _phrases(branch_params, "branch-word").values()
                                for _, key in phrases if len(key) > 1]
        for rule in self.rules:  # parameters are checked on load, not on first use
            if rule.id in ("echelon-word", "branch-word", "modifier-word"):
                _phrases(rule.params, rule.id)
            elif rule.id == "branch-of-service":
                _service_words(rule.params)
            elif rule.id == "group-of-forces":
                _grouping_params(rule.params)
        bad = [e for e in _phrases(self._echelon_params, "echelon-word") if e not in ECHELONS]
        if bad:
            raise InvalidUnits(f"unit rule 'echelon-word': unknown echelon(s) {', '.join(bad)}")

    def table(self, rule_id: str, params: Mapping[str, Any]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """A word rule's phrases, split into words once (rules run once per unit name)."""
        key = id(params)
        found = self._tables.get(key)
        if found is None:
            found = self._tables[key] = _phrases(params, rule_id)
        return found

    def echelon_of(self, text: str, params: Mapping[str, Any] | None = None,
                   passed: list[tuple[str, str]] | None = None) -> tuple[str, str] | None:
        """(echelon, the phrase that said so) for a text, or None.

        The unit is the first part of "1st Battalion, 423rd Regiment" (or "...
        of the 423rd"): the first part that has an echelon word decides, and
        within it the phrase ending last wins. An echelon word that qualifies
        the word after it in a branch phrase ("Army" of "Army Aviation": an
        English noun phrase ends with its head) is no echelon; each one
        passed over so is added to ``passed`` as (phrase, branch phrase).
        """
        table = self.table("echelon-word", params or self._echelon_params)
        for part in designation_parts(text):
            words = words_of(part)
            qualifiers = self._qualifiers(words, self._branch_phrases)
            best: tuple[int, int, str, str] | None = None
            for echelon, phrases in table.items():
                for phrase, key in phrases:
                    for end in _ends(words, key):
                        if end - 1 in qualifiers:
                            if passed is not None:
                                passed.append((phrase, qualifiers[end - 1]))
                            continue
                        if best is None or (end, len(key)) > (best[0], best[1]):
                            best = (end, len(key), echelon, phrase)
                        break  # the last place it occurs is the one that can win
            if best is not None:
                return best[2], best[3]
        return None

    @staticmethod
    def _qualifiers(words: tuple[str, ...], branches: list[tuple[str, ...]]) -> dict[int, str]:
        """Positions of ``words`` inside a branch phrase but not at its end -> that branch phrase."""
        out: dict[int, str] = {}
        for key in branches:
            for end in _ends(words, key):
                for i in range(end - len(key), end - 1):
                    out.setdefault(i, " ".join(key))
        return out

    def read(self, written: str) -> NameReading:
        """Apply every rule, in file order, to a unit name as written."""
        reading = NameReading(written=written, name=" ".join(written.split()))
        for rule in self.rules:
            NAME_RULES[rule.id](reading, rule.params, self)
        reading.aliases = [a for a in dict.fromkeys([written.strip(), *reading.aliases])
                           if normalize_name(a) and a != reading.name]
        return reading

    def sidc(self, unit: Unit, identity: str = "unknown") -> str:
        """The unit's 20-digit 2525D symbol code: land unit, its echelon, its branch's entity."""
        branch = self.branches.get(unit.branch or "")
        entity = branch.entity if branch else "000000"
        modifier1 = branch.modifier1 if branch else "00"
        modifier2 = branch.modifier2 if branch else "00"
        if modifier2 == "00":
            modifier2 = self._modifier_of(unit) or "00"
        echelon = ECHELONS.get(unit.echelon or "", NO_ECHELON)
        return f"10{0}{IDENTITIES[identity]}10{0}{0}{echelon}{entity}{modifier1}{modifier2}"

    def _modifier_of(self, unit: Unit) -> str | None:
        for rule in self.rules:
            if rule.id == "modifier-word":
                reading = NameReading(written=unit.name, name=unit.name)
                _modifier_word(reading, rule.params, self)
                return reading.modifier2
        return None

    def branch_label(self, branch: str | None) -> str:
        """'motorised infantry' for 'motor-rifle'; '' when unknown."""
        if not branch:
            return ""
        found = self.branches.get(branch)
        return found.label if found else branch


def _parse_rules_file(path: Path) -> _RulesFile:
    data = read_yaml(path)
    try:
        return _RulesFile.model_validate(data or {})
    except ValidationError as exc:
        raise InvalidUnits("\n".join(f"{path}: {pydantic_location(e['loc'])}: {e['msg']}"
                                     for e in exc.errors())) from None


def load_unit_rules(extra: Iterable[str | os.PathLike] = (), db_url: str | None = None) -> UnitRules:
    """The bundled ``unit-rules.yaml``, then one beside the database, then ``extra`` files.

    A rule or a branch with the id of an earlier one replaces it.
    """
    paths = [bundled_catalog_dir() / RULES_FILE]
    beside = beside_database(db_url, RULES_FILE)
    if beside is not None and beside.resolve() != paths[0].resolve():
        paths.append(beside)
    paths.extend(Path(p) for p in extra)
    branches: dict[str, Branch] = {}
    rules: dict[str, RuleSpec] = {}
    for path in paths:
        if not path.is_file():
            raise DataFileError(f"{path}: unit rules file not found")
        parsed = _parse_rules_file(path)
        branches.update(parsed.branches)
        for rule in parsed.rules:
            rules[rule.id] = rule
    return UnitRules(branches, list(rules.values()))
