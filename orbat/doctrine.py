"""Doctrine as data: unit templates, sub-unit sizes and the echelon ladder.

Templates live in ``catalogs/doctrine/*.yaml`` (the bundled folder, then a
``catalogs/doctrine/`` folder beside a SQLite database, then files given with
``--doctrine``). Each names its rules by id (see :mod:`orbat.rules`) with
parameters and a weight; pydantic validates every file and errors name the
file, the template and the field. A later file's template with the same id
replaces the earlier one, so analysts can refine ours without touching code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orbat.catalog import CATEGORIES
from orbat.datafiles import cached_data, catalog_dirs, pydantic_location, read_yaml_cached, yaml_files
from orbat.errors import InvalidDoctrine
from orbat.rules import RULES, Features, Outcome, Selection, known, known_rules
from orbat.validated import NotExact, dumped, json_data, rebuilt

#: Echelons from smallest to largest. A battery counts as a company, a BTG as a battalion.
ECHELONS: tuple[str, ...] = (
    "team", "squad", "section", "platoon", "company", "battalion", "regiment", "brigade", "division",
)
#: What a unit does: manoeuvre, fires and the other support of the fight (air defence, engineers, signals,
#: EW), sustainment, or a delivery of equipment. (Before 0.x, combat-support and logistics were one `support`.)
KINDS: tuple[str, ...] = ("combat", "combat-support", "logistics", "transfer")

Echelon = Literal[ECHELONS]  # type: ignore[valid-type]
Kind = Literal[KINDS]  # type: ignore[valid-type]


def echelon_rank(echelon: str) -> int:
    """Position of an echelon in :data:`ECHELONS` (team = 0)."""
    return ECHELONS.index(echelon)


class RuleUse(BaseModel):
    """One rule of a template: its id, weight and (validated) parameters."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    rule: str
    weight: float = Field(default=1.0, gt=0, le=100)
    required: bool = Field(default=False, description="the template's score is multiplied by this rule's score")
    why: str | None = None

    @field_validator("rule")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in RULES:
            raise ValueError(f"unknown rule {value!r}; known rules: {', '.join(known_rules())}")
        return value

    @property
    def raw_params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class UnitSize(BaseModel):
    """A doctrinal sub-unit for the breakdown: which vehicles, how many make one."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    of: Selection
    size: int = Field(ge=1, le=10000)
    echelon: Echelon | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `{category: tank, size: 3}` is shorthand for `{of: {category: tank}, size: 3}`.
        if isinstance(data, dict) and "of" not in data:
            data = dict(data)
            sel = {k: data.pop(k) for k in ("category", "role", "family", "type") if k in data}
            data["of"] = sel
        return data


class UnitTemplate(BaseModel):
    """A kind of unit a convoy may be, as doctrine describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    label: str = Field(min_length=1)
    kind: Kind
    echelon: Echelon | None = Field(
        default=None, description="None: the echelon follows the size ladder (e.g. for a delivery)")
    description: str = Field(min_length=1)
    personnel: tuple[int, int] | None = None
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str | None = None
    breakdown: tuple[str, ...] = ()
    typical: dict[str, int] = Field(min_length=1, description="central composition: category -> vehicles")
    typical_carried: dict[str, int] = {}
    rules: tuple[RuleUse, ...] = Field(min_length=1)

    @field_validator("typical", "typical_carried")
    @classmethod
    def _categories(cls, value: dict[str, int]) -> dict[str, int]:
        known(value, CATEGORIES, "category")
        for cat, n in value.items():
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"{cat}: expected a whole number >= 0, found {n!r}")
        return value

    @field_validator("personnel")
    @classmethod
    def _ordered(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"personnel {value[0]}-{value[1]}: min above max")
        return value


class Ladder(BaseModel):
    """The lowest echelon a number of manoeuvre vehicles fills: ``of`` counts them, ``echelons`` gives thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    of: Selection
    echelons: dict[Echelon, int] = Field(min_length=1)

    @field_validator("of")
    @classmethod
    def _categories_only(cls, value: Selection) -> Selection:
        if not value.category:
            raise ValueError("the ladder counts categories (of: {category: [...]})")
        return value


class _DoctrineFile(BaseModel):
    # Validators built only when a file is validated (a fresh cache builds the models back: orbat.validated).
    model_config = ConfigDict(extra="forbid", defer_build=True)

    units: dict[str, UnitSize] = {}
    ladder: Ladder | None = None
    templates: list[UnitTemplate] = []


@dataclass
class CompiledRule:
    """A template's rule with parsed parameters.

    ``data`` is the parameters as plain JSON data (``params.model_dump()``
    through JSON): what the estimator and the outputs read of them, without
    building the parameter model's pydantic serializer (a fresh doctrine
    cache gives it, :func:`_validated_file`); ``text`` is it as JSON text.
    """

    rule: str
    weight: float
    params: Any
    why: str | None = None
    required: bool = False
    _data: dict | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json_data(self.params)
        return self._data

    @property
    def text(self) -> str:
        return json.dumps(self.data)

    def evaluate(self, features: Features) -> Outcome:
        return RULES[self.rule].evaluate(features, self.params)

    def explain(self, values: dict[str, float], passed: bool) -> str:
        return RULES[self.rule].explain(self.params, values, passed)


@dataclass
class Doctrine:
    """Every loaded template, sub-unit size and the echelon ladder, with where each came from."""

    templates: dict[str, UnitTemplate] = field(default_factory=dict)
    units: dict[str, UnitSize] = field(default_factory=dict)
    ladder: Ladder | None = None
    origins: dict[str, str] = field(default_factory=dict)
    compiled: dict[str, list[CompiledRule]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.templates)

    def __iter__(self):
        return iter(self.templates.values())

    def get(self, template_id: str) -> UnitTemplate:
        return self.templates[template_id]

    def families(self) -> set[str]:
        """Catalog families any rule or unit names (they get columns in the feature matrix)."""
        return {f for sel in self._selections() for f in sel.family}

    def types(self) -> set[str]:
        """Catalog type ids any rule or unit names."""
        return {t for sel in self._selections() for t in sel.type}

    def _selections(self) -> list[Selection]:
        out = [u.of for u in self.units.values()] + ([self.ladder.of] if self.ladder else [])
        for rules in self.compiled.values():
            out += [r.params.of for r in rules if hasattr(r.params, "of")]
        return out

    def ladder_echelon(self, features: Features) -> np.ndarray:
        """Per convoy, the rank of the lowest echelon its manoeuvre vehicles fill (-1 below the ladder)."""
        out = np.full(len(features), -1, dtype=np.int64)
        if self.ladder is None:
            return out
        counts = features.count(self.ladder.of)
        for echelon, threshold in sorted(self.ladder.echelons.items(), key=lambda kv: echelon_rank(kv[0])):
            out = np.where(counts >= threshold, echelon_rank(echelon), out)
        return out

    def add_file(self, path: Path) -> None:
        """Validate one doctrine YAML file and merge it (later ids replace earlier ones)."""
        parsed, compiled = _validated_file(path)
        self.units.update(parsed.units)
        if parsed.ladder is not None:
            self.ladder = parsed.ladder
        for template, rules in zip(parsed.templates, compiled):
            self.templates[template.id] = template
            self.origins[template.id] = str(path)
            self.compiled[template.id] = rules

    def check(self) -> None:
        """Cross-file checks once every file is loaded: each breakdown names a known unit."""
        for template in self.templates.values():
            for unit in template.breakdown:
                if unit not in self.units:
                    raise InvalidDoctrine(
                        f"{self.origins[template.id]}: template {template.id!r}, field breakdown: unknown unit "
                        f"{unit!r}; known units: {', '.join(sorted(self.units))}")


#: What the cache of validated doctrine files depends on besides the files: the modules defining its models.
_MODEL_CODE = (Path(__file__), Path(__file__).with_name("rules.py"), Path(__file__).with_name("catalog.py"))


def _validated_file(path: Path) -> tuple[_DoctrineFile, list[list[CompiledRule]]]:
    """One file's validated models and each template's compiled rules; from the cache when it is fresh.

    A file is validated when new or changed, and its models kept as JSON data
    (:func:`orbat.validated.dumped`); while it stays the same, they are built
    back from that data without building pydantic's validators (about 0.02 s
    of every estimate). A file whose models do not come back exactly is
    validated on every run; a bad file is never cached, so its error is said
    every time.
    """
    made: list[tuple[_DoctrineFile, list[list[CompiledRule]]]] = []

    def build() -> dict:
        parsed = parse_doctrine_file(path)
        compiled = [_compile(template, path) for template in parsed.templates]
        made.append((parsed, compiled))
        data = dumped(parsed)
        params = [[dumped(rule.params) for rule in rules] for rules in compiled]
        if data is None or any(p is None for rules in params for p in rules):
            return {"validate": True}
        return {"file": data, "params": params}

    cached = cached_data("doctrine", [path], build,
                         lambda d: isinstance(d, dict) and ("validate" in d or {"file", "params"} <= d.keys()),
                         _MODEL_CODE)
    if made:
        return made[0]
    if "validate" not in cached:
        try:
            parsed = rebuilt(_DoctrineFile, cached["file"])
            if len(cached["params"]) == len(parsed.templates):
                return parsed, [_rebuilt_rules(template, params)
                                for template, params in zip(parsed.templates, cached["params"])]
        except (NotExact, KeyError, TypeError, ValueError):
            pass  # a cache that does not fit: validate the file
    parsed = parse_doctrine_file(path)
    return parsed, [_compile(template, path) for template in parsed.templates]


def _rebuilt_rules(template: UnitTemplate, params: list) -> list[CompiledRule]:
    """A template's compiled rules from their cached parameters (:func:`_validated_file`)."""
    if not isinstance(params, list) or len(params) != len(template.rules):
        raise NotExact(f"template {template.id!r}: the cached rules do not fit")
    return [CompiledRule(use.rule, use.weight, rebuilt(RULES[use.rule].params, data), use.why, use.required, data)
            for use, data in zip(template.rules, params)]


def _compile(template: UnitTemplate, path: Path) -> list[CompiledRule]:
    out = []
    for i, use in enumerate(template.rules):
        model = RULES[use.rule].params
        try:
            params = model.model_validate(use.raw_params)
        except ValidationError as exc:
            lines = [
                f"{path}: template {template.id!r}, rules[{i}] ({use.rule}), field "
                f"{pydantic_location(err['loc']) or '(rule)'}: {err['msg']}"
                for err in exc.errors()
            ]
            raise InvalidDoctrine("\n".join(lines)) from None
        out.append(CompiledRule(use.rule, use.weight, params, use.why, use.required))
    return out


def parse_doctrine_file(path: Path) -> _DoctrineFile:
    """Validate one doctrine file; errors name the file, the template and the field.

    The file's YAML is read from the cache when fresh (:func:`orbat.datafiles.read_yaml_cached`):
    every estimate loads the doctrine, and parsing it cost more than validating it.
    """
    data = read_yaml_cached(path, "doctrine-yaml")
    if data is None:
        return _DoctrineFile()
    if not isinstance(data, dict):
        raise InvalidDoctrine(f"{path}: expected a mapping with 'templates', 'units' or 'ladder', "
                              f"found {type(data).__name__}")
    try:
        return _DoctrineFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        templates = data.get("templates") if isinstance(data.get("templates"), list) else []
        for err in exc.errors():
            loc = err["loc"]
            where = pydantic_location(loc)
            if len(loc) >= 2 and loc[0] == "templates" and isinstance(loc[1], int):
                item = templates[loc[1]] if loc[1] < len(templates) else None
                ident = item.get("id") if isinstance(item, dict) else None
                name = repr(ident) if ident else f"#{loc[1] + 1}"
                where = f"template {name}, field {pydantic_location(loc[2:]) or '(template)'}"
            elif len(loc) >= 2 and loc[0] == "units":
                where = f"unit {loc[1]!r}, field {pydantic_location(loc[2:]) or '(unit)'}"
            lines.append(f"{path}: {where}: {err['msg']}")
        raise InvalidDoctrine("\n".join(lines)) from None


def _doctrine_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if (source / "doctrine").is_dir():
        return list(yaml_files(source, "doctrine"))
    # A user's folder may hold doctrine YAML directly.
    return sorted(p for p in source.iterdir() if p.suffix in (".yaml", ".yml"))


def load_doctrine(extra: Iterable[str | os.PathLike] = (), db_url: str | None = None) -> Doctrine:
    """Load the bundled doctrine, a ``catalogs/doctrine/`` folder beside a SQLite database, then ``extra`` files.

    ``extra`` items are doctrine YAML files, or folders holding them (directly
    or under ``doctrine/``). Raises :class:`InvalidDoctrine` on a bad file.
    """
    doctrine = Doctrine()
    sources = catalog_dirs(db_url, ())
    files = [path for source in sources for path in yaml_files(source, "doctrine")]
    for item in extra:
        path = Path(item)
        if not path.exists():
            raise InvalidDoctrine(f"{path}: doctrine file or folder not found")
        sources.append(path)
        files += _doctrine_files(path)
    for path in files:
        doctrine.add_file(path)
    doctrine.check()
    if not doctrine.templates:
        raise InvalidDoctrine("no doctrine templates found (looked in " + ", ".join(str(s) for s in sources) + ")")
    return doctrine
