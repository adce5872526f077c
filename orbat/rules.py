"""The rule registry: what a doctrine template can test about a convoy.

A rule's *logic* is code registered here under a stable kebab-case id; its
*thresholds* are data, given per template in ``catalogs/doctrine/*.yaml`` and
validated with the rule's pydantic parameter model. A rule evaluates on whole
columns (all convoys at once) and returns, per convoy, whether it held, a
score in 0..1 and the numbers that drove it; :meth:`Rule.explain` turns one
convoy's numbers into a human reason ("logistics share 0.47 within 0.35-0.65").

Scores: a rule that holds scores 1. One that fails scores at most 0.5,
decaying to 0 with the distance from its range, so that near misses still
rank templates sensibly when nothing fits exactly. A count below a minimum
but within what a partial view of the unit shows (at least
:data:`orbat.observation.MIN_DETECTION` of it) scores between
:data:`SEEN_SCORE` and 1: observers miss vehicles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orbat.catalog import CATEGORIES, ROLES
from orbat.observation import MIN_DETECTION

#: A count rule's score at the least share of its minimum an observer is expected to see (see _range_outcome).
SEEN_SCORE = 0.75

#: Categories that show a unit brought its own support (a transfer does not).
ORGANIC_SUPPORT: tuple[str, ...] = ("ambulance", "bus", "repair", "fuel-truck")


# --- parameters --------------------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


def known(values: Iterable[str], choices: Mapping[str, str], what: str) -> None:
    """ValueError naming the first of ``values`` that is not one of ``choices`` (a category, a role)."""
    bad = [v for v in values if v not in choices]
    if bad:
        raise ValueError(f"unknown {what} {bad[0]!r}; expected one of: {', '.join(choices)}")


class Selection(BaseModel):
    """Which vehicles a rule counts: categories, roles, catalog families or type ids (one kind per selection)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    category: tuple[str, ...] = ()
    role: tuple[str, ...] = ()
    family: tuple[str, ...] = ()
    type: tuple[str, ...] = ()

    @field_validator("category", "role", "family", "type", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("category")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known(value, CATEGORIES, "category")
        return value

    @field_validator("role")
    @classmethod
    def _known_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known(value, ROLES, "role")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Selection:
        kinds = [k for k in ("category", "role", "family", "type") if getattr(self, k)]
        if len(kinds) != 1:
            # Mixing kinds would count a tank twice (as category tank and role combat).
            raise ValueError("a selection names exactly one of category, role, family or type")
        return self

    @property
    def label(self) -> str:
        for kind in ("category", "role", "family", "type"):
            values = getattr(self, kind)
            if values:
                text = "+".join(values)
                return f"{text}" if kind == "category" else f"{kind} {text}"
        return "?"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CountRange(_Params):
    of: Selection
    min: float = Field(default=0, ge=0)
    max: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}")
        return self


class TotalRange(_Params):
    min: float = Field(default=0, ge=0)
    max: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TotalRange:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}")
        return self


class ShareRange(_Params):
    of: Selection
    min: float = Field(default=0, ge=0, le=1)
    max: float = Field(default=1, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ShareRange:
        if self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}")
        return self


class PlainShareRange(_Params):
    min: float = Field(default=0, ge=0, le=1)
    max: float = Field(default=1, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> PlainShareRange:
        if self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}")
        return self


class ShareAbove(_Params):
    min: float = Field(ge=0, le=1)


class ShareBelow(_Params):
    max: float = Field(ge=0, le=1)


class SupportPresent(_Params):
    categories: tuple[str, ...] = ORGANIC_SUPPORT
    min_kinds: int = Field(default=2, ge=1)

    @field_validator("categories", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("categories")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known(value, CATEGORIES, "category")
        return value


class Absent(_Params):
    of: Selection
    tolerance: int = Field(default=0, ge=0)


# --- the view of the convoys a rule reads ------------------------------------------------------


class Features:
    """A convoys x features count matrix and how to sum a selection's columns."""

    def __init__(self, matrix: np.ndarray, columns: dict[str, int]):
        self.matrix = matrix
        self.columns = columns
        self._cache: dict[Any, np.ndarray] = {}

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, self.columns[name]]

    def count(self, selection: Selection) -> np.ndarray:
        """Vehicles of a selection, per convoy (a family or type doctrine never saw counts 0)."""
        if selection in self._cache:
            return self._cache[selection]
        names = ([f"category:{c}" for c in selection.category] + [f"role:{r}" for r in selection.role]
                 + [f"family:{f}" for f in selection.family] + [f"type:{t}" for t in selection.type])
        idx = [self.columns[n] for n in names if n in self.columns]
        out = self.matrix[:, idx].sum(axis=1) if idx else np.zeros(len(self))
        self._cache[selection] = out
        return out

    @property
    def total(self) -> np.ndarray:
        return self.column("total")

    def share(self, values: np.ndarray) -> np.ndarray:
        total = self.total
        return np.divide(values, total, out=np.zeros_like(values, dtype=np.float64), where=total > 0)


class ReadRecorder(Features):
    """Features that note every quantity a rule reads: ``("count", selection)`` or ``("column", name)``.

    Rules read features only through :meth:`Features.count` and
    :meth:`Features.column` (``total`` and ``share`` go through ``column``),
    and a convoy's outcome depends only on its own row. So a rule's score is
    a function of the few whole numbers it read, and can be tabulated once
    over their range (see :class:`GivenFeatures`) instead of being computed for
    every one of many count scenarios.
    """

    def __init__(self, matrix: np.ndarray, columns: dict[str, int]):
        super().__init__(matrix, columns)
        self.read: list[tuple[str, Any]] = []

    def count(self, selection: Selection) -> np.ndarray:
        if ("count", selection) not in self.read:
            self.read.append(("count", selection))
        return super().count(selection)

    def column(self, name: str) -> np.ndarray:
        if ("column", name) not in self.read:
            self.read.append(("column", name))
        return super().column(name)


class GivenFeatures(Features):
    """Features given as the values of the quantities a rule reads (keys as :class:`ReadRecorder` notes them).

    Reading anything else raises ``KeyError``, and so does ``matrix``: the
    caller then evaluates the rule on real features instead.
    """

    def __init__(self, values: dict[tuple[str, Any], np.ndarray], length: int):
        self.values = values
        self.length = length
        self.columns = {}
        self._cache = {}

    @property
    def matrix(self) -> np.ndarray:  # type: ignore[override]
        raise KeyError("matrix")

    def __len__(self) -> int:
        return self.length

    def count(self, selection: Selection) -> np.ndarray:
        return self.values[("count", selection)]

    def column(self, name: str) -> np.ndarray:
        return self.values[("column", name)]


@dataclass
class Outcome:
    """A rule's result for every convoy: held or not, score 0..1, and the numbers behind it."""

    passed: np.ndarray
    score: np.ndarray
    values: dict[str, np.ndarray]


@dataclass(frozen=True)
class Rule:
    """A registered rule: id, description, parameter model, vectorised evaluation and explanation."""

    id: str
    description: str
    params: type[BaseModel]
    evaluate: Callable[[Features, Any], Outcome]
    explain: Callable[[Any, dict[str, float], bool], str]


RULES: dict[str, Rule] = {}


def register(rule_id: str, params: type[BaseModel], explain: Callable[[Any, dict[str, float], bool], str]):
    """Register ``evaluate`` under ``rule_id``; its docstring is the rule's description."""

    def wrap(evaluate: Callable[[Features, Any], Outcome]) -> Callable[[Features, Any], Outcome]:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} registered twice")
        RULES[rule_id] = Rule(rule_id, (evaluate.__doc__ or "").strip(), params, evaluate, explain)
        return evaluate

    return wrap


# --- scoring helpers ---------------------------------------------------------------------------


def _range_outcome(value: np.ndarray, lo: float, hi: float | None, share: bool) -> Outcome:
    high = np.inf if hi is None else hi
    inside = (value >= lo) & (value <= high)
    below = np.maximum(lo - value, 0.0)
    above = np.maximum(value - high, 0.0) if hi is not None else np.zeros_like(value)
    if share:
        scale_lo = scale_hi = 0.25
    else:
        # A miss by 2 of 3 tanks is large, by 2 of 40 small: scale with the bound missed.
        scale_lo = max(3.0, 0.5 * lo)
        scale_hi = max(3.0, 0.5 * (hi or 0.0))
    distance = below / scale_lo + above / scale_hi
    score = np.where(inside, 1.0, 0.5 * np.clip(1.0 - distance, 0.0, 1.0))
    if not share and lo > 0:
        # The observation model: observers see MIN_DETECTION..100 % of a unit's vehicles, so a count a
        # little below the doctrinal minimum is what that unit, partly seen, looks like (the rule still
        # fails; its score falls from 1 at the minimum to SEEN_SCORE at the least one expects to see).
        seen = (value < lo) & (value >= lo * MIN_DETECTION)
        partial = 1.0 - (1.0 - SEEN_SCORE) * below / (lo * (1.0 - MIN_DETECTION))
        score = np.where(seen, partial, score)
    return Outcome(passed=inside, score=score, values={"value": value})


def _fmt(x: float, share: bool = False) -> str:
    return f"{x:.2f}" if share else f"{x:g}"


def _range_text(lo: float, hi: float | None, share: bool = False) -> str:
    if hi is None:
        return f"at least {_fmt(lo, share)}"
    if lo == hi:
        return f"exactly {_fmt(lo, share)}"
    if lo == 0 and not share:
        return f"at most {_fmt(hi, share)}"
    return f"{_fmt(lo, share)}-{_fmt(hi, share)}"


def _in_or_out(passed: bool, lo: float, hi: float | None, share: bool = False) -> str:
    rng = _range_text(lo, hi, share)
    if passed:
        return f"within {rng}" if hi is not None and lo != hi else f"({rng})"
    return f"outside {rng}" if hi is not None and lo != hi else f"(expected {rng})"


# --- the rules ---------------------------------------------------------------------------------


@register("count-in-range", CountRange,
          lambda p, v, ok: f"{p.of.label} count {_fmt(v['value'])} {_in_or_out(ok, p.min, p.max)}")
def count_in_range(f: Features, p: CountRange) -> Outcome:
    """The number of vehicles of a selection (category, role, family or type) lies within [min, max]."""
    return _range_outcome(f.count(p.of), p.min, p.max, share=False)


@register("total-in-range", TotalRange,
          lambda p, v, ok: f"total {_fmt(v['value'])} vehicles {_in_or_out(ok, p.min, p.max)}")
def total_in_range(f: Features, p: TotalRange) -> Outcome:
    """The total number of vehicles in the convoy lies within [min, max]."""
    return _range_outcome(f.total, p.min, p.max, share=False)


@register("share-in-range", ShareRange,
          lambda p, v, ok: f"{p.of.label} share {_fmt(v['value'], True)} {_in_or_out(ok, p.min, p.max, True)}")
def share_in_range(f: Features, p: ShareRange) -> Outcome:
    """The share of a selection (e.g. role logistics) in all the convoy's vehicles lies within [min, max]."""
    return _range_outcome(f.share(f.count(p.of)), p.min, p.max, share=True)


@register("armoured-share-in-range", PlainShareRange,
          lambda p, v, ok: f"armoured share {_fmt(v['value'], True)} {_in_or_out(ok, p.min, p.max, True)}")
def armoured_share_in_range(f: Features, p: PlainShareRange) -> Outcome:
    """The share of armoured vehicles in the convoy lies within [min, max]."""
    return _range_outcome(f.share(f.column("armoured")), p.min, p.max, share=True)


@register("carried-share-above", ShareAbove,
          lambda p, v, ok: f"carried share {_fmt(v['value'], True)} {'at least' if ok else 'below'} {p.min:.2f}")
def carried_share_above(f: Features, p: ShareAbove) -> Outcome:
    """At least ``min`` of the vehicles travel carried (on transporters, trailers or rail): a delivery, not a march."""
    return _range_outcome(f.share(f.column("carried")), p.min, 1.0, share=True)


@register("carried-share-below", ShareBelow,
          lambda p, v, ok: f"carried share {_fmt(v['value'], True)} {'at most' if ok else 'above'} {p.max:.2f}")
def carried_share_below(f: Features, p: ShareBelow) -> Outcome:
    """At most ``max`` of the vehicles travel carried: a unit on the move drives its own vehicles."""
    return _range_outcome(f.share(f.column("carried")), 0.0, p.max, share=True)


def _support_explain(p: SupportPresent, v: dict[str, float], ok: bool) -> str:
    present = [c for c in p.categories if v.get(c, 0) > 0]
    shown = ", ".join(present) if present else "none"
    return (f"organic support {shown} present ({len(present)} of {len(p.categories)} kinds, "
            f"{'needs' if not ok else 'at least'} {p.min_kinds})")


@register("organic-support-present", SupportPresent, _support_explain)
def organic_support_present(f: Features, p: SupportPresent) -> Outcome:
    """At least ``min_kinds`` kinds of organic support (ambulances, buses, workshops, fuel) travel with the convoy."""
    values = {c: f.column(f"category:{c}") for c in p.categories}
    kinds = sum((v > 0).astype(np.float64) for v in values.values())
    passed = kinds >= p.min_kinds
    score = np.where(passed, 1.0, 0.5 * kinds / p.min_kinds)
    return Outcome(passed=passed, score=score, values={"value": kinds, **values})


@register("absent", Absent,
          lambda p, v, ok: f"{p.of.label} count {_fmt(v['value'])} "
          + (("absent" if p.tolerance == 0 else f"at most {p.tolerance}") if ok
             else ("expected none" if p.tolerance == 0 else f"expected at most {p.tolerance}")))
def absent(f: Features, p: Absent) -> Outcome:
    """No vehicle of a selection is present (or at most ``tolerance`` of them)."""
    value = f.count(p.of)
    passed = value <= p.tolerance
    # "None" means none: one vehicle over a zero tolerance already scores 0.
    score = np.where(passed, 1.0, 0.5 * np.clip(1.0 - (value - p.tolerance) / max(1.0, p.tolerance), 0, 1))
    return Outcome(passed=passed, score=score, values={"value": value})


def known_rules() -> list[str]:
    """The registered rule ids, sorted."""
    return sorted(RULES)
