"""The estimate's output side: each convoy's result (:class:`ConvoyEstimate`) and its JSON object.

:mod:`orbat.estimate` scores every convoy at once (the engine); this module
turns a run's whole columns into what a user reads: the per-convoy columns
all of a run's estimates share (:class:`RunOutput`, which the engine's run
inherits), each convoy's ``to_dict()`` (``orbat estimate --json``, the
report, the map layers) and :func:`to_dicts`.
"""

from __future__ import annotations

import gc
import re
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from orbat.convoy import UNKNOWN
from orbat.doctrine import ECHELONS
from orbat.rules import ORGANIC_SUPPORT

if TYPE_CHECKING:
    from orbat.estimate import _Run

#: How many alternatives an estimate lists.
MAX_ALTERNATIVES = 5

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ORIGIN_WORDS = re.compile(
    r"\b(russian|russia|soviet|ussr|belarusian|ukrainian|chinese|iranian|turkish|north korean|"
    r"american|us-made|french|german)(?:[- ]made)?\b",
    re.IGNORECASE,
)


# --- the columns a run's estimates share ---------------------------------------------------------


class RunOutput:
    """The output side of a run (:class:`orbat.estimate._Run` inherits it): per-convoy columns, each built once.

    Each is made for every convoy at once, when first asked for, from the
    run's arrays (``table``, ``order``, ``mean``, ``wins``, ``answers``...).
    """

    def answer_table(self) -> pd.DataFrame:
        """Per convoy: ``convoy``, ``template_got``, ``echelon_got``, ``kind_got`` and ``confidence`` (whole columns)."""
        n = len(self.table)
        best = self.order[:, 0] if self.ids else np.zeros(n, dtype=np.int64)
        kinds = np.array([self.doctrine.get(i).kind for i in self.ids] or ["combat"], dtype=object)
        ids = np.array(self.ids or [""], dtype=object)
        return pd.DataFrame({
            "convoy": self.table.convoys, "template_got": ids[best],
            "echelon_got": np.array(ECHELONS, dtype=object)[self.answers.echelon], "kind_got": kinds[best],
            "confidence": self.confidence,
        })

    @cached_property
    def heads(self) -> dict[str, list]:
        """Per convoy, as plain Python values: best template, its mean score and wins, runner-up, confidence."""
        n = len(self.table)
        rows = np.arange(n)
        best = self.order[:, 0] if self.ids else np.zeros(n, dtype=np.int64)
        second = self.order[:, 1].tolist() if len(self.ids) > 1 else [None] * n
        return {
            "template": [self.ids[j] for j in best.tolist()],
            "score": self.mean[rows, best].tolist(),
            "wins": self.wins[rows, best].tolist(),
            "runner_up": [self.ids[j] if j is not None else None for j in second],
            "confidence": self.confidence.tolist(),
        }

    @cached_property
    def records(self) -> list[list[dict]]:
        """Per convoy, its per-type rows as plain dicts (built once, for the per-convoy assembly)."""
        out: list[list[dict]] = [[] for _ in range(len(self.table))]
        types = self.table.types
        # Column lists of Python values (what to_dict("records") gives, at a fraction of its cost).
        columns = [types[c].tolist() for c in types.columns]
        names = list(types.columns)
        code = names.index("code")
        for values in zip(*columns):
            out[values[code]].append(dict(zip(names, values)))
        return out

    @cached_property
    def vehicle_parts(self) -> dict[str, list]:
        """Per convoy, the pieces of its ``vehicles`` JSON, made for every convoy in one pass over the types.

        ``by_type`` and ``unknown`` (lists of dicts, in the types' order),
        ``by_category`` (every category with vehicles, unknown included, by
        name), ``by_role`` (known roles with vehicles, by name) and ``ranged``
        (whether a count of the convoy is a range).
        """
        n = len(self.table)
        by_type: list[list[dict]] = [[] for _ in range(n)]
        unknown: list[list[dict]] = [[] for _ in range(n)]
        categories: list[dict[str, int]] = [{} for _ in range(n)]
        roles: list[dict[str, int]] = [{} for _ in range(n)]
        ranged = [False] * n
        t = self.table.types
        columns = [t[c].tolist() for c in ("code", "equipment_id", "name", "category", "role", "count",
                                           "count_max", "carried")]
        for code, eid, name, category, role, count, count_max, carried in zip(*columns):
            count, count_max = int(count), int(count_max)
            if category == UNKNOWN:
                unknown[code].append({"name": name, "count": count, "count_max": count_max})
            else:
                by_type[code].append({"id": eid, "name": name, "category": category, "role": role,
                                      "count": count, "count_max": count_max, "carried": int(carried)})
            cats = categories[code]
            cats[category] = cats.get(category, 0) + count
            if role != UNKNOWN and count:
                roles[code][role] = roles[code].get(role, 0) + count
            if count_max > count:
                ranged[code] = True
        return {
            "by_type": by_type, "unknown": unknown, "ranged": ranged,
            "by_category": [{k: v for k, v in sorted(c.items()) if v} for c in categories],
            "by_role": [dict(sorted(r.items())) for r in roles],
        }

    @cached_property
    def total_lists(self) -> dict[str, list[int]]:
        """:attr:`totals` as Python ints per convoy."""
        return {k: v.astype(np.int64).tolist() for k, v in self.totals.items()}

    @cached_property
    def alternative_columns(self) -> tuple[list[list[int]], list[list], list[list], list[list], list[list[bool]]]:
        """Per convoy, its alternatives' template indices, JSON scores, wins, probabilities and same-answer flags (best first)."""
        n, k = len(self.table), min(MAX_ALTERNATIVES, max(len(self.ids) - 1, 0))
        which = self.order[:, 1:1 + k]
        taken = lambda m: np.take_along_axis(np.asarray(m), which, axis=1)  # noqa: E731
        rows = lambda flat: [flat[i * k:(i + 1) * k] for i in range(n)]  # noqa: E731
        columns = (taken(m).astype(np.float64).ravel() for m in (self.mean, self.wins, self.answers.probability))
        mean, wins, probability = (rows(_nums(c)) for c in columns)
        same = rows(taken(self.answers.same_answer).astype(bool).ravel().tolist())
        return which.tolist(), mean, wins, probability, same

    @cached_property
    def _trace(self) -> dict[str, list[tuple]]:
        return {}

    @cached_property
    def explained(self) -> dict[tuple, tuple[str, dict]]:
        """A rule's reason and JSON values by (template, rule, passed, values), shared by the convoys' traces."""
        return {}

    def trace_columns(self, template_id: str) -> list[tuple]:
        """Per rule of a template: score, passed and values per convoy, and its JSON parameters.

        Built once per template (for every convoy at once), for the per-convoy traces. The
        columns are ``array('d')`` and ``bytes``: indexed like lists (a Python float, an int
        0/1), at 8 bytes (1 for passed) a value instead of a list's 32, which at 200,000
        convoys and a hundred rules is the difference between 0.8 and 3 GB.
        """
        if template_id not in self._trace:
            j = self.ids.index(template_id)
            columns = []
            for rule, outcome in zip(self.doctrine.compiled[template_id], self.scores.outcome(j)):
                params = rule.params.model_dump(exclude={"of", "categories"}, exclude_none=True)
                columns.append((
                    _doubles(outcome.score),
                    np.ascontiguousarray(outcome.passed, dtype=bool).tobytes(),
                    {k: _doubles(v) for k, v in outcome.values.items()},
                    {k: _num(v) for k, v in params.items()},
                ))
            self._trace[template_id] = columns
        return self._trace[template_id]


#: How much of the rule trace a convoy's JSON holds: winner and runner-up, the winner's rules, none.
TRACE_LEVELS = ("full", "best", "none")


def to_dicts(estimates: Iterable[ConvoyEstimate], trace: str = "full") -> list[dict]:
    """Every estimate's JSON object (what ``orbat estimate --json`` prints), in order; ``trace``: see :data:`TRACE_LEVELS`."""
    with gc_paused():
        return [e.to_dict(trace) for e in estimates]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many small objects are made (restored after).

    An estimate and its JSON hold no reference cycles, but every few hundred
    new objects the collector runs, and its full passes walk every object
    array alive, such as a sightings frame's columns: at 200k convoys making
    the estimates took 0.85 s, 0.06 s with the collector paused.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- one convoy's estimate ---------------------------------------------------------------------


def _doubles(values: Any) -> array:
    """A float column as ``array('d')``: compact, and indexed as Python floats."""
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


def _nums(values: np.ndarray) -> list:
    """:func:`_num` of every value of a float array (whole numbers found for the whole column at once)."""
    whole = (np.isfinite(values) & (values == np.floor(values))).tolist()
    return [int(v) if w else round(v, 3) for v, w in zip(values.tolist(), whole)]


def _num(x: Any) -> Any:
    """Plain JSON numbers: whole floats as int, others rounded."""
    kind = type(x)  # the common cases first: this runs for every number of every convoy's JSON
    if kind is float:
        return int(x) if x.is_integer() else round(x, 3)
    if kind is int:
        return x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return int(x) if float(x).is_integer() else round(float(x), 3)
    return x


class ConvoyEstimate:
    """The estimate of one convoy; :meth:`to_dict` gives the JSON object ``orbat estimate --json`` prints."""

    def __init__(self, run: _Run, index: int):
        # Only the run and the position: everything else is read from the run's columns when asked
        # for (a file's estimates are made for every convoy, most never looked at one by one).
        self._run = run
        self.index = index

    @property
    def convoy(self) -> str:
        return self._run.table.convoys[self.index]

    @property
    def template_id(self) -> str:
        """The best template's id."""
        return self._run.heads["template"][self.index]

    @cached_property
    def template(self):
        return self._run.doctrine.get(self.template_id)

    @property
    def score(self) -> float:
        """The best template's (mean) score, 0..1."""
        return self._run.heads["score"][self.index]

    @property
    def runner_up(self) -> str | None:
        return self._run.heads["runner_up"][self.index]

    @property
    def wins(self) -> float:
        """The best template's share of the count scenarios won."""
        return self._run.heads["wins"][self.index]

    @property
    def confidence(self) -> float:
        return self._run.heads["confidence"][self.index]

    @property
    def _order(self) -> np.ndarray:
        return self._run.order[self.index]

    # -- the headline ---------------------------------------------------------------------------

    @property
    def label(self) -> str:
        return self.template.label

    @property
    def kind(self) -> str:
        return self.template.kind

    @cached_property
    def echelon(self) -> str:
        """The template's echelon, raised to what the manoeuvre vehicles fill (never lowered).

        When no template really fits (score below :data:`orbat.estimate.MIN_FIT`) the
        template's echelon is not evidence, and the ladder alone decides.
        """
        return ECHELONS[int(self._run.answers.echelon[self.index])]

    @property
    def type_rows(self) -> list[dict]:
        """The convoy's max-merged per-type rows (see :data:`orbat.convoy.TYPE_COLUMNS`)."""
        return self._run.records[self.index]

    @cached_property
    def by_category(self) -> dict[str, int]:
        return dict(self._run.vehicle_parts["by_category"][self.index])

    @cached_property
    def breakdown(self) -> list[dict]:
        """Sub-units by doctrinal size, greedy in the template's order, with the remainder named."""
        remaining = dict(self.by_category)
        out: list[dict] = []
        covered: list[str] = []
        for name in self.template.breakdown:
            unit = self._run.doctrine.units[name]
            cats = list(unit.of.category)
            for c in cats:
                if c not in covered:
                    covered.append(c)
            available = sum(remaining.get(c, 0) for c in cats)
            n = available // unit.size
            if n <= 0:
                continue
            out.append({"unit": name, "count": int(n), "size": unit.size})
            need = n * unit.size
            for c in cats:
                take = min(need, remaining.get(c, 0))
                remaining[c] = remaining.get(c, 0) - take
                need -= take
        for c in covered:
            if remaining.get(c, 0) > 0:
                out.append({"unit": "remainder", "category": c, "vehicles": int(remaining[c])})
        return out

    @cached_property
    def personnel(self) -> dict[str, int]:
        p = self._run.personnel
        return {"min": int(p["min"][self.index]), "max": int(p["max"][self.index])}

    @cached_property
    def vehicles(self) -> dict:
        parts, i = self._run.vehicle_parts, self.index
        totals = self._run.total_lists
        return {
            "total": totals["total"][i],
            "total_max": totals["total_max"][i],
            "by_type": parts["by_type"][i],
            "by_category": {k: v for k, v in self.by_category.items() if k != UNKNOWN},
            "by_role": dict(parts["by_role"][i]),
            "unknown": parts["unknown"][i],
            # Categories several sightings saw: the merged figure and which sighting set it.
            "merged": self._run.table.merge_notes().get(self.convoy, []),
        }

    @cached_property
    def alternatives(self) -> list[dict]:
        """Other templates, best score first, with how often each won the sampled counts."""
        run = self._run
        which, means, wins, chances, sames = run.alternative_columns
        i = self.index
        out = []
        for j, score, won, chance, same in zip(which[i], means[i], wins[i], chances[i], sames[i]):
            template = run.doctrine.get(run.ids[j])
            # "probability": the chance this template is the unit (all templates' add up to at most 1);
            # one giving the best's echelon and kind ("same_answer") is already counted in the best's confidence.
            out.append({"template": template.id, "label": template.label, "score": score, "wins": won,
                        "probability": chance, "same_answer": same})
        return out

    def trace_for(self, template_id: str) -> list[dict]:
        """Every rule of one template, evaluated on this convoy, with its reason and numbers."""
        i = self.index
        out = []
        explained = self._run.explained
        for k, (rule, (score, passed_all, values_all, params)) in enumerate(
                zip(self._run.doctrine.compiled[template_id], self._run.trace_columns(template_id))):
            passed = passed_all[i] == 1
            numbers = [v[i] for v in values_all.values()]
            # Convoys often share a rule's numbers (small whole counts): its reason is written once.
            key = (template_id, k, passed, *numbers)
            known = explained.get(key)
            if known is None:
                values = dict(zip(values_all, numbers))
                reason = rule.explain(values, passed)
                if rule.why:
                    reason += f" ({rule.why})"
                known = explained[key] = (reason, {**{name: _num(v) for name, v in values.items()}, **params},
                                          rule.rule, _num(rule.weight), rule.required)
            value = score[i]  # a float: _num inlined (this runs for every rule of every convoy)
            out.append({
                "template": template_id, "rule": known[2], "passed": passed, "weight": known[3],
                "required": known[4],
                "score": int(value) if value.is_integer() else round(value, 3), "reason": known[0],
                "values": dict(known[1]),
            })
        return out

    @cached_property
    def trace(self) -> list[dict]:
        """The rules of the winning template, then those of the runner-up."""
        out = self.trace_for(self.template_id)
        if self.runner_up:
            out += self.trace_for(self.runner_up)
        return out

    @cached_property
    def indicators(self) -> dict:
        """What an analyst should look at besides the template: support, carried and armoured shares, origin."""
        run = self._run
        totals = {k: v[self.index] for k, v in run.total_lists.items()}
        total = totals["total"]
        support = {c: self.by_category.get(c, 0) for c in ORGANIC_SUPPORT}
        share = (lambda x: round(x / total, 3) if total else 0.0)
        logistics = sum(v for k, v in self.vehicles["by_role"].items() if k == "logistics")
        signals: list[str] = []
        for note in run.table.notes.get(self.convoy, []):
            if _CYRILLIC.search(note):
                signals.append(f"Cyrillic text in notes: {note!r}")
            for match in _ORIGIN_WORDS.finditer(note):
                signals.append(f"origin named in notes: {match.group(0)!r} ({note!r})")
        return {
            "organic_support": {
                "present": sum(1 for v in support.values() if v) >= 2,
                "vehicles": support,
            },
            "carried_share": share(int(totals["carried"])),
            "armoured_share": share(int(totals["armoured"])),
            "armoured": {"min": int(totals["armoured"]), "max": int(totals["armoured_max"])},
            "logistics_share": share(logistics),
            "origin_signals": signals,
            "unknown_vehicles": int(totals["unknown"]),
            "loss_rows_ignored": int(run.table.loss_rows.get(self.convoy, 0)),
            "sampled": run.samples if run.vehicle_parts["ranged"][self.index] else 0,
            # Tags the sightings carry (`tags` column): "cope cage on 6 of 7 tank"; decoys count 0..n.
            "tags": run.table.tags.get(self.convoy, []),
        }

    @property
    def best(self) -> dict:
        return {
            "template": self.template_id,
            "label": self.label,
            "kind": self.kind,
            "echelon": self.echelon,
            "confidence": self.confidence,
            # The chance the best template itself is the unit (confidence adds the templates giving the same answer).
            "probability": _num(float(self._run.answers.probability[self.index, self._order[0]])) if self._run.ids else 0,
            "score": _num(self.score),
            "wins": _num(self.wins),
            "breakdown": self.breakdown,
            "personnel": self.personnel,
        }

    def traced(self, trace: str = "full") -> list[dict] | None:
        """The trace at a level of :data:`TRACE_LEVELS`: winner and runner-up, the winner's rules, or none."""
        if trace not in TRACE_LEVELS:
            raise ValueError(f"trace must be one of {', '.join(TRACE_LEVELS)}, not {trace!r}")
        if trace == "full":
            return self.trace
        return self.trace_for(self.template_id) if trace == "best" else None

    def to_dict(self, trace: str = "full") -> dict:
        """The JSON object of ``orbat estimate --json`` for this convoy (``trace="none"``: without "trace")."""
        out = {
            "convoy": self.convoy,
            "sightings": list(self._run.table.sightings.get(self.convoy, [])),
            "vehicles": self.vehicles,
            "best": self.best,
            "alternatives": self.alternatives,
            "trace": self.traced(trace),
            "indicators": self.indicators,
        }
        if trace == "none":
            del out["trace"]
        return out

    def __repr__(self) -> str:
        return f"ConvoyEstimate({self.convoy!r}: {self.template_id}, {self.echelon}, confidence {self.confidence})"
