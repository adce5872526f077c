"""Fleet size from identified vehicles: serial numbers and re-sighted markings.

The inventory (:mod:`orbat.inventory`) gives what an actor holds as a lower
bound: the vehicles counted. When vehicles carry identifiers (the ``markings``
column), two textbook estimators say how many there are in all:

- **serial** (the German tank problem): ``k`` distinct serials from a fleet
  numbered 1..N, the highest ``m``. The minimum-variance unbiased estimate is
  ``m + m/k - 1`` (Goodman 1952), and the exact two-sided interval inverts the
  distribution of the maximum, ``P(max <= m | N) = C(m, k) / C(N, k)``: the
  upper end is the largest N with ``C(m, k) / C(N, k) >= alpha/2``, the lower
  the smallest N with ``1 - C(m-1, k) / C(N, k) >= alpha/2``.
- **capture-recapture** (Chapman 1951, the bias-corrected Lincoln-Petersen):
  ``n1`` distinct markings in a first period, ``n2`` in a second, ``m`` in
  both: ``N = (n1+1)(n2+1)/(m+1) - 1``, its variance after Seber (1970), and
  the log-normal interval of Chao (1987), which never goes below the ``r``
  vehicles seen: ``r + f0/C .. r + f0*C`` with ``f0 = N - r`` and
  ``C = exp(z * sqrt(ln(1 + var/f0^2)))``. With fewer than
  :data:`MIN_RESIGHTED` re-sighted there is an estimate but no interval.

Everything here is pure: frames and catalogs in, :class:`FleetEstimate` out,
each with its arithmetic written out and its assumptions stated. A marking
that does not read as the declared serial pattern is reported
(:class:`RejectedMarking`) and not used.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import pandas as pd

from orbat.errors import UsageError
from orbat.sightings import split_markings

if TYPE_CHECKING:
    from orbat.actors import ActorList
    from orbat.catalog import Catalog

SERIAL = "serial"
CAPTURE_RECAPTURE = "capture-recapture"
METHODS: tuple[str, ...] = (SERIAL, CAPTURE_RECAPTURE)

#: Fewer vehicles seen in both periods than this: Chapman's estimate, but no interval.
MIN_RESIGHTED = 3
#: The serial pattern of ``--serials`` when neither the command nor the catalog gives one: a plain number.
PLAIN_NUMBER = r"(\d+)"
#: Longest serial number read (digits): bounds the interval search.
MAX_SERIAL_DIGITS = 9
DEFAULT_LEVEL = 0.9

ASSUMPTIONS: dict[str, str] = {
    SERIAL: ("serials run from 1 to N without gaps or reuse, and the serials seen are a random draw "
             "from the fleet (no serial more likely to be filmed than another)"),
    CAPTURE_RECAPTURE: ("the fleet is closed between the two periods (no arrivals or losses), markings are "
                        "neither lost nor changed, and every vehicle is as likely to be seen in each period"),
}


# --------------------------------------------------------------------------- the estimators


@dataclass(frozen=True)
class Interval:
    """An estimate of N and its interval at ``level`` (``low``/``high`` None: no interval)."""

    estimate: float
    low: int | None
    high: int | None
    level: float


def _check_level(level: float) -> float:
    if not (isinstance(level, (int, float)) and 0.5 <= float(level) < 1):
        raise UsageError(f"--level {level!r}: expected a confidence level from 0.5 to below 1, e.g. 0.9")
    return float(level)


def _ratio(a: int, n: int, k: int) -> float:
    """``C(a, k) / C(n, k)`` for ``a <= n`` (0 when ``a < k``), as a product: no huge integers."""
    if a < k:
        return 0.0
    ratio = 1.0
    for i in range(k):
        ratio *= (a - i) / (n - i)
    return ratio


def _largest(predicate, low: int) -> int:
    """The largest ``n >= low`` for which ``predicate`` holds, ``predicate`` true at ``low`` and falling."""
    high = max(2 * low, low + 1)
    while predicate(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if predicate(mid):
            low = mid
        else:
            high = mid
    return low


def serial_interval(serials: Iterable[int], level: float = DEFAULT_LEVEL) -> Interval:
    """The German-tank estimate ``m + m/k - 1`` of a fleet numbered 1..N, with its exact two-sided interval.

    ``serials`` are the distinct serial numbers seen (repeats count once),
    each >= 1. ``{19, 40, 42, 60}`` gives 74, with the 90% interval 60-125.
    """
    level = _check_level(level)
    distinct = set(serials)
    if not distinct:
        raise ValueError("no serials")
    if min(distinct) < 1:
        raise ValueError("serials are counted from 1")
    k, m = len(distinct), max(distinct)
    tail = (1 - level) / 2
    # the largest N under which a maximum as low as m is still plausible
    high = _largest(lambda n: _ratio(m, n, k) >= tail, m)
    # the smallest N under which a maximum as high as m is still plausible
    low, top = m, high
    if not 1 - _ratio(m - 1, m, k) >= tail:
        while top - low > 1:
            mid = (low + top) // 2
            if 1 - _ratio(m - 1, mid, k) >= tail:
                top = mid
            else:
                low = mid
        low = top
    return Interval(estimate=m + m / k - 1, low=low, high=high, level=level)


def chapman_interval(n1: int, n2: int, m: int, level: float = DEFAULT_LEVEL) -> Interval:
    """Chapman's ``(n1+1)(n2+1)/(m+1) - 1`` with Chao's log-normal interval (none below MIN_RESIGHTED re-sighted).

    ``n1``, ``n2``: distinct markings seen in each period; ``m``: seen in both.
    n1=50, n2=40, m=10 gives 189.1.
    """
    level = _check_level(level)
    if not (0 <= m <= min(n1, n2)):
        raise ValueError("the re-sighted cannot outnumber either period's markings")
    estimate = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    if m < MIN_RESIGHTED:
        return Interval(estimate=estimate, low=None, high=None, level=level)
    seen = n1 + n2 - m
    unseen = estimate - seen
    variance = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    if unseen <= 0 or variance <= 0:  # every vehicle seen in both periods
        return Interval(estimate=estimate, low=seen, high=seen, level=level)
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    spread = math.exp(z * math.sqrt(math.log(1 + variance / unseen**2)))
    low = math.floor(seen + unseen / spread + 1e-9)
    high = math.ceil(seen + unseen * spread - 1e-9)
    return Interval(estimate=estimate, low=low, high=high, level=level)


# --------------------------------------------------------------------------- from sightings


@dataclass(frozen=True)
class RejectedMarking:
    """A marking that was not used, where it was and why."""

    where: str  #: the row (``sightings.csv, row 7``) or, from the database, the sighting
    sighting_id: str
    equipment: str  #: catalog id
    marking: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}, column markings: {self.reason}, got {self.marking!r}; not used"

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "sighting_id": self.sighting_id, "equipment": self.equipment,
                "marking": self.marking, "reason": self.reason}


@dataclass(frozen=True)
class FleetEstimate:
    """The fleet of one actor and equipment type estimated from its identifiers, and why."""

    actor: str
    equipment: str  #: catalog id
    name: str  #: the type's display name
    method: str  #: ``serial`` or ``capture-recapture``
    estimate: float | None  #: None: no estimate (all markings in one period)
    low: int | None
    high: int | None
    level: float
    distinct: int  #: distinct identifiers behind the estimate
    identifiers: tuple[str, ...]
    evidence: tuple[str, ...]  #: the sighting ids whose markings were used
    arithmetic: str
    assumptions: str
    warnings: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)  #: k and m, or n1, n2, m and the split date
    notes: tuple[str, ...] = ()  #: what else the estimate rests on (a predecessor's markings)

    @property
    def interval_text(self) -> str:
        if self.low is None or self.high is None:
            return "no interval"
        return f"{self.low}-{self.high}"

    @property
    def summary(self) -> str:
        """``24.5, 90% interval 17-74``: the estimate and its interval in words."""
        if self.estimate is None:
            return "no estimate"
        if self.low is None or self.high is None:
            return f"{_number(self.estimate)}, no interval"
        return f"{_number(self.estimate)}, {_percent(self.level)} interval {self.low}-{self.high}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: actor, equipment, method, estimate, low, high, distinct, evidence, then the rest."""
        return {
            "actor": self.actor, "equipment": self.equipment, "method": self.method,
            "estimate": None if self.estimate is None else round(self.estimate, 2),
            "low": self.low, "high": self.high, "distinct": self.distinct, "evidence": list(self.evidence),
            "name": self.name, "level": self.level, "identifiers": list(self.identifiers),
            "arithmetic": self.arithmetic, "assumptions": self.assumptions, "warnings": list(self.warnings),
            "notes": list(self.notes), **self.figures,
        }


@dataclass
class FleetResult:
    """What :func:`fleet_estimates` found: the estimates, and the markings it could not use."""

    estimates: list[FleetEstimate]
    rejected: list[RejectedMarking]


def _number(value: float) -> str:
    """74 for 74.0, 189.1 for 189.0909: whole numbers stay whole."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _percent(level: float) -> str:
    return f"{level * 100:g}%"


def compile_serial_pattern(pattern: str, where: str = "--serial-pattern") -> re.Pattern[str]:
    """A serial pattern as a compiled regex; :class:`UsageError` when it is not one, or has more than one group."""
    if len(pattern) > 200:
        raise UsageError(f"{where}: a pattern of at most 200 characters, got {len(pattern)}")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"{where} {pattern!r}: not a regular expression ({exc})") from None
    if compiled.groups > 1:
        raise UsageError(f"{where} {pattern!r}: expected at most one group, the number (e.g. 'TZ-(\\d+)D')")
    return compiled


def read_serial(marking: str, pattern: re.Pattern[str]) -> tuple[int | None, str | None]:
    """``(serial number, None)`` when the whole marking reads as ``pattern``, else ``(None, why not)``.

    The number is the pattern's group, or the whole match when it has none.
    Case and inner spaces do not matter (``tz-06d`` reads as ``TZ-(\\d+)D``).
    """
    found = pattern.fullmatch(marking) or pattern.fullmatch(marking.upper())
    if found is None:
        return None, f"does not match the serial pattern '{pattern.pattern}'"
    digits = found.group(1) if pattern.groups else found.group(0)
    if digits is None or not (digits.isascii() and digits.isdigit()):
        return None, f"the serial pattern '{pattern.pattern}' matched, but its number is not whole digits"
    if len(digits.lstrip("0")) > MAX_SERIAL_DIGITS:
        return None, f"a serial of more than {MAX_SERIAL_DIGITS} digits"
    if int(digits) < 1:
        return None, "serial 0: fleets are numbered from 1"
    return int(digits), None


def marking_key(marking: str) -> str:
    """The identity of a non-serial marking: case and spacing set aside (``z 12`` is ``Z 12``)."""
    return " ".join(marking.split()).upper()


def _day(text: str | None, name: str) -> str | None:
    """A --as-of / --split date as ``YYYY-MM-DD``."""
    if text is None:
        return None
    value = str(text).strip()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise UsageError(f"{name} {text!r}: expected a date YYYY-MM-DD") from None


def median_split(days: Sequence[str]) -> str | None:
    """The first day of the later half of the sightings (one day per sighting), or None when all share a day.

    Both periods get at least one sighting: the split is the distinct day
    that divides the sightings most evenly, earlier days going to period 1.
    """
    ordered = sorted(days)
    distinct = sorted(set(ordered))
    if len(distinct) < 2:
        return None
    half = len(ordered) / 2
    return min(distinct[1:], key=lambda d: (abs(bisect.bisect_left(ordered, d) - half), d))


@dataclass
class _Seen:
    """The usable identifiers of one group, each with the sightings and days it was seen on."""

    keys: dict[Any, str] = field(default_factory=dict)  # identity -> first spelling
    sightings: dict[Any, list[tuple[str, str]]] = field(default_factory=dict)  # identity -> [(day, sighting)]

    def add(self, key: Any, text: str, day: str, sighting: str) -> None:
        self.keys.setdefault(key, text)
        self.sightings.setdefault(key, []).append((day, sighting))


def fleet_estimates(
    frame: pd.DataFrame,
    catalog: Catalog,
    actors: ActorList | None = None,
    *,
    actor: str | None = None,
    equipment: str | None = None,
    as_of: str | None = None,
    serials: bool = False,
    serial_pattern: str | None = None,
    split: str | None = None,
    level: float = DEFAULT_LEVEL,
    row_labels: Sequence[str] | None = None,
) -> FleetResult:
    """Fleet estimates per actor and equipment type from the ``markings`` of a canonical frame.

    A type whose catalog entry declares ``serial: {pattern: ...}`` is
    estimated from serials, as is every type with ``serials`` (the catalog's
    pattern, else a plain number) or ``serial_pattern`` (that pattern for
    all); the others by capture-recapture between the rows before ``split``
    and the rest (default: :func:`median_split` of the group's sightings).
    ``as_of`` keeps the rows observed on or before that date. ``row_labels``
    (one per frame row, e.g. ``sightings.csv, row 7``) say where a rejected
    marking was; without them the sighting id does.
    """
    level = _check_level(level)
    as_of = _day(as_of, "--as-of")
    split = _day(split, "--split")
    forced = compile_serial_pattern(serial_pattern) if serial_pattern is not None else None
    wanted_type = catalog.resolve(equipment).id if equipment is not None else None
    wanted_actor = _actor_name(actor, actors) if actor is not None else None

    groups: dict[tuple[str, str], _Seen] = {}
    merged: dict[tuple[str, str], set[str]] = {}  # predecessors whose markings a holder's group took
    holders: dict[str, tuple[str, str | None]] = {}  # listed name -> (holder's name, why)
    on = dt.date.fromisoformat(as_of) if as_of is not None else None
    rejected: list[RejectedMarking] = []
    patterns: dict[str, re.Pattern[str] | None] = {}
    if "markings" not in frame.columns:
        return FleetResult([], [])
    marked = frame["markings"].notna().to_numpy()
    positions = marked.nonzero()[0].tolist()
    part = frame.iloc[positions]
    # plain lists, and every per-value step (actor names, splitting, serial reading) once per distinct value
    columns = [part[c].tolist() for c in ("sighting_id", "observed_at", "actor", "equipment_id", "markings")]
    names: dict[Any, str] = {}
    splits: dict[str, list[str]] = {}
    serial_of: dict[tuple[str, str], tuple[int | None, str | None]] = {}
    for pos, sid, observed, who, eid, text in zip(positions, *columns):
        day = str(observed)[:10]
        if as_of is not None and day > as_of:
            continue
        if wanted_type is not None and eid != wanted_type:
            continue
        if who not in names:
            names[who] = _actor_name(None if pd.isna(who) else str(who), actors)
        row_actor = names[who]
        if row_actor not in holders:
            holders[row_actor] = _holder(row_actor, actors, on)
        name, why = holders[row_actor]
        if wanted_actor is not None and name.casefold() != wanted_actor.casefold():
            continue
        if why is not None:
            merged.setdefault((name, eid), set()).add(why)
        if eid not in patterns:
            patterns[eid] = _pattern_for(catalog.entries.get(eid), serials, forced)
        pattern = patterns[eid]
        seen = groups.setdefault((name, eid), _Seen())
        if text not in splits:
            splits[text] = split_markings(text)
        for marking in splits[text]:
            if pattern is None:
                seen.add(marking_key(marking), marking, day, str(sid))
                continue
            read = serial_of.get((eid, marking))
            if read is None:
                read = serial_of[(eid, marking)] = read_serial(marking, pattern)
            number, why = read
            if number is None:
                where = row_labels[pos] if row_labels is not None else f"sighting {sid!r} ({eid})"
                rejected.append(RejectedMarking(where, str(sid), str(eid), marking, why or "not a serial"))
            else:
                seen.add(number, marking, day, str(sid))

    estimates = []
    for (name, eid), seen in sorted(groups.items(), key=lambda kv: (kv[0][0].casefold(), kv[0][1])):
        if not seen.keys:
            continue  # every marking rejected: reported above
        entry = catalog.entries.get(eid)
        label = entry.name if entry is not None else eid
        if patterns[eid] is not None:
            found = _serial_estimate(name, eid, label, seen, level)
        else:
            found = _capture_recapture(name, eid, label, seen, level, split)
        if (name, eid) in merged:
            found = replace(found, notes=tuple(sorted(merged[(name, eid)])))
        estimates.append(found)
    return FleetResult(estimates, rejected)


def _holder(name: str, actors: ActorList | None, on: dt.date | None) -> tuple[str, str | None]:
    """Who holds the vehicles an actor's rows show, on ``on`` (today's successions without it), and why
    when it is another actor.

    A succession hands the vehicles over, markings and all: a marking Wagner's
    rows show and one Africa Corps' rows show after the hand-over are the same
    vehicle seen again, so they are one fleet (as the inventory counts them).
    """
    listed = actors.resolve(name) if actors is not None else None
    if listed is None:
        return name, None
    holder_id = actors.successor_on(listed.id, on)
    if holder_id == listed.id:
        return name, None
    holder = actors.actors[holder_id]
    chain, current = [], listed
    while current.id != holder_id:
        chain.append(f"{current.name} (succeeded by {actors.actors[current.successor].name} on "
                     f"{current.succession_date.isoformat()})")
        current = actors.actors[current.successor]
    return holder.name, (f"includes the markings of {', then '.join(chain)}: the same vehicles under their "
                         "new holder")


def _actor_name(name: str | None, actors: ActorList | None) -> str:
    if name is None:
        return "(no actor)"
    if actors is not None:
        listed = actors.resolve(name)
        if listed is not None:
            return listed.name
    return name


def _pattern_for(entry, serials: bool, forced: re.Pattern[str] | None) -> re.Pattern[str] | None:
    if forced is not None:
        return forced
    declared = getattr(entry, "serial", None) if entry is not None else None
    if declared is not None:
        return compile_serial_pattern(declared.pattern, where=f"catalog entry {entry.id!r}, serial pattern")
    return compile_serial_pattern(PLAIN_NUMBER) if serials else None


def _evidence(seen: _Seen, keys: Iterable[Any]) -> tuple[str, ...]:
    pairs = sorted({pair for key in keys for pair in seen.sightings[key]})
    return tuple(dict.fromkeys(sid for _day, sid in pairs))


def _serial_estimate(actor: str, eid: str, label: str, seen: _Seen, level: float) -> FleetEstimate:
    numbers = sorted(seen.keys)
    found = serial_interval(numbers, level)
    k, m = len(numbers), numbers[-1]
    noun = "serial" if k == 1 else "serials"
    arithmetic = (f"{k} distinct {noun}, highest {m}: N = {m} + {m}/{k} - 1 = {_number(found.estimate)}, "
                  f"{_percent(level)} interval {found.low}-{found.high}")
    warnings = []
    if k < 3:
        warnings.append(f"only {k} distinct {noun}: the interval is wide; every new serial narrows it")
    return FleetEstimate(
        actor=actor, equipment=eid, name=label, method=SERIAL, estimate=found.estimate, low=found.low,
        high=found.high, level=level, distinct=k, identifiers=tuple(seen.keys[n] for n in numbers),
        evidence=_evidence(seen, numbers), arithmetic=arithmetic, assumptions=ASSUMPTIONS[SERIAL],
        warnings=tuple(warnings), figures={"k": k, "m": m},
    )


def _capture_recapture(actor: str, eid: str, label: str, seen: _Seen, level: float,
                       split: str | None) -> FleetEstimate:
    sighting_days = {sid: day for pairs in seen.sightings.values() for day, sid in pairs}
    at = split or median_split(list(sighting_days.values()))
    identifiers = tuple(seen.keys.values())
    common = dict(actor=actor, equipment=eid, name=label, method=CAPTURE_RECAPTURE, level=level,
                  identifiers=identifiers, assumptions=ASSUMPTIONS[CAPTURE_RECAPTURE])
    first = {k for k, pairs in seen.sightings.items() if at is not None and any(d < at for d, _s in pairs)}
    second = {k for k, pairs in seen.sightings.items() if at is not None and any(d >= at for d, _s in pairs)}
    if at is None or not first or not second:
        why = ("every marked sighting is on one day" if at is None
               else f"every marked sighting falls {'on or after' if not first else 'before'} the split {at}")
        return FleetEstimate(
            **common, estimate=None, low=None, high=None, distinct=len(identifiers),
            evidence=_evidence(seen, seen.keys), arithmetic=f"{len(identifiers)} distinct markings; no estimate",
            warnings=(f"{why}: capture-recapture needs sightings in two periods (see --split)",),
            figures={"split": at},
        )
    both = first & second
    n1, n2, m = len(first), len(second), len(both)
    found = chapman_interval(n1, n2, m, level)
    interval = (f"{_percent(level)} interval {found.low}-{found.high}" if found.low is not None
                else "no interval")
    arithmetic = (f"{n1} distinct markings before {at}, {n2} from {at} on, {m} seen in both: "
                  f"N = ({n1}+1)({n2}+1)/({m}+1) - 1 = {_number(found.estimate)}, {interval}")
    warnings = []
    if m < MIN_RESIGHTED:
        warnings.append(f"only {m} re-sighted (fewer than {MIN_RESIGHTED}): the estimate is unstable and has "
                        "no interval; more sightings in both periods are needed")
    return FleetEstimate(
        **common, estimate=found.estimate, low=found.low, high=found.high, distinct=n1 + n2 - m,
        evidence=_evidence(seen, first | second), arithmetic=arithmetic, warnings=tuple(warnings),
        figures={"n1": n1, "n2": n2, "m": m, "split": at},
    )


def fleet_table(estimates: Iterable[FleetEstimate]) -> pd.DataFrame:
    """The estimates as a table (the report's Fleet sheet): one row per actor and type."""
    columns = ["actor", "equipment", "name", "method", "estimate", "low", "high", "level", "distinct",
               "arithmetic", "warnings", "notes", "identifiers", "evidence"]
    rows = [{
        "actor": e.actor, "equipment": e.equipment, "name": e.name, "method": e.method,
        "estimate": None if e.estimate is None else round(e.estimate, 1), "low": e.low, "high": e.high,
        "level": e.level, "distinct": e.distinct, "arithmetic": e.arithmetic, "warnings": "; ".join(e.warnings),
        "notes": "; ".join(e.notes), "identifiers": "; ".join(e.identifiers), "evidence": "; ".join(e.evidence),
    } for e in estimates]
    out = pd.DataFrame(rows, columns=columns)
    for column in ("low", "high", "distinct"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
    out["estimate"] = pd.to_numeric(out["estimate"], errors="coerce").astype("float64")
    return out
