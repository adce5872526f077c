"""The estimate's output side: each convoy's result (:class:`ConvoyEstimate`) and its JSON object.

:mod:`orbat.estimate` scores every convoy at once (the engine); this module
turns a run's whole columns into what a user reads: the per-convoy columns
all of a run's estimates share (:class:`RunOutput`, which the engine's run
inherits), each convoy's ``to_dict()`` (``orbat estimate --json``, the
report, the map layers) and :func:`to_dicts`.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from orbat.collector import gc_paused
from orbat.convoy import UNKNOWN
from orbat.doctrine import ECHELONS
from orbat.grouping import distinct_rows, groups
from orbat.output_block import OUTPUT_BLOCK, OutputBlock, seen_arrays
from orbat.rules import ORGANIC_SUPPORT, Features

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
        """Per convoy, as plain Python values: best template, its mean score and wins, runner-up, confidence.

        ``fits``: the best template really fits (score at least
        :data:`orbat.estimate.MIN_FIT`); when not, nothing does, and the
        answer's echelon is the ladder's (:func:`orbat.confidence.fit_note`).
        """
        from orbat.estimate import MIN_FIT

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
            "fits": (self.mean[rows, best] >= MIN_FIT).tolist() if self.ids else [False] * n,
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

    # -- the convoys' JSON, a block of convoys at a time ----------------------------------------

    @cached_property
    def _type_arrays(self) -> dict[str, np.ndarray]:
        """The per-type columns the JSON reads, as numpy arrays, and where each convoy's rows start."""
        t = self.table.types
        code = t["code"].to_numpy(dtype=np.int64)
        order = None
        if len(code) and not bool((code[1:] >= code[:-1]).all()):
            order = np.argsort(code, kind="stable")  # the rows of a convoy together, in the types' order
        take = (lambda a: a) if order is None else (lambda a: a[order])  # noqa: E731
        out = {"code": take(code)}
        for name in ("equipment_id", "name", "category", "role"):
            out[name] = take(t[name].to_numpy(dtype=object))
        for name in ("count", "count_max", "carried"):
            out[name] = take(t[name].to_numpy(dtype=np.int64))
        # Categories and roles as codes in name order, for the per-convoy sums on whole columns (OutputBlock);
        # a missing one (code -1) sends the blocks to the row-by-row sums.
        for name in ("category", "role"):
            codes, names = pd.factorize(out[name], sort=True)
            out[name + "_code"], out[name + "_names"] = codes.astype(np.int64), [str(x) for x in names]
        out["role_known"] = out["role"] != UNKNOWN
        out["category_unknown"] = np.asarray(out["category"] == UNKNOWN, dtype=bool)
        out["coded"] = bool((out["category_code"] >= 0).all() and (out["role_code"] >= 0).all()
                            and all(isinstance(x, str) for x in (*out["category_names"], *out["role_names"])))
        out["starts"] = np.searchsorted(out["code"], np.arange(len(self.table) + 1))
        return out

    def output_block(self, i: int) -> OutputBlock:
        """The block of convoys holding convoy ``i``, made on first use; the previous block is let go.

        Streaming every convoy in order then holds one block's pieces at a
        time. Should a block be asked for again once let go (estimates read
        out of order), every convoy is made in one block and kept: at most
        twice the work, never once per convoy.
        """
        block = self.__dict__.get("_block")
        if block is not None and block.start <= i < block.stop:
            return block
        made = self.__dict__.setdefault("_blocks_made", set())
        start = (i // OUTPUT_BLOCK) * OUTPUT_BLOCK
        if start in made:
            start, stop = 0, len(self.table)
        else:
            made.add(start)
            stop = min(len(self.table), start + OUTPUT_BLOCK)
        self.__dict__["_block"] = None  # let the previous block go before the next is made
        block = self.__dict__["_block"] = OutputBlock(self, start, stop)
        return block

    @cached_property
    def total_lists(self) -> dict[str, list[int]]:
        """:attr:`totals` as Python ints per convoy."""
        return {k: v.astype(np.int64).tolist() for k, v in self.totals.items()}

    @cached_property
    def head_numbers(self) -> dict[str, list]:
        """Per convoy, the best template's JSON probability, score and wins (whole columns at once)."""
        n = len(self.table)
        if not self.ids:
            return {"probability": [0] * n, "score": [0] * n, "wins": [0] * n}
        rows, best = np.arange(n), self.order[:, 0]
        return {
            "probability": _nums(np.asarray(self.answers.probability, dtype=np.float64)[rows, best]),
            "score": _nums(np.asarray(self.mean, dtype=np.float64)[rows, best]),
            "wins": _nums(np.asarray(self.wins, dtype=np.float64)[rows, best]),
        }

    @cached_property
    def alternative_columns(self) -> tuple[int, list[int], list, list, list, list[bool]]:
        """``k`` alternatives a convoy, then, convoy after convoy (best first), their template indices, JSON
        scores, wins, probabilities and same-answer flags: flat, sliced a block at a time (:class:`OutputBlock`)."""
        k = min(MAX_ALTERNATIVES, max(len(self.ids) - 1, 0))
        which = self.order[:, 1:1 + k]
        taken = lambda m: np.take_along_axis(np.asarray(m), which, axis=1).ravel()  # noqa: E731
        mean, wins, probability = (_nums(taken(m).astype(np.float64))
                                   for m in (self.mean, self.wins, self.answers.probability))
        same = taken(self.answers.same_answer).astype(bool).tolist()
        return k, which.ravel().tolist(), mean, wins, probability, same

    @cached_property
    def best_traces(self) -> list[list[dict]]:
        """Per convoy, the trace of its best template: one list per distinct outcome, shared (read only)."""
        return self._shared_traces(0)

    @cached_property
    def runner_up_traces(self) -> list[list[dict] | None]:
        """Per convoy, the trace of its runner-up (None without one), shared like :attr:`best_traces`."""
        return self._shared_traces(1) if len(self.ids) > 1 else [None] * len(self.table)

    @cached_property
    def top_reasons(self) -> list[str]:
        """Per convoy, the strongest evidence of its best template (:func:`orbat.overview.top_reason` of its trace).

        Only that rule, the heaviest of each template (the first of equals),
        is evaluated: the many-convoy table needs no whole trace.
        """
        from orbat.overview import top_reason

        known: dict[int, str] = {}
        out = []
        for rules in self._shared_traces(0, top=True):
            reason = known.get(id(rules[0]) if rules else 0)
            if reason is None:
                reason = known[id(rules[0]) if rules else 0] = top_reason(rules)
            out.append(reason)
        return out

    @cached_property
    def overview_rows(self) -> list:
        """Per convoy, its row of the many-convoy table (:class:`orbat.overview.OverviewRow`), made from whole columns."""
        from orbat.overview import OverviewRow

        heads, index = self.template_heads, self.template_index
        best = [heads[index[t]] for t in self.heads["template"]]
        totals = self.total_lists
        columns = (
            [str(c) for c in self.table.convoys], totals["total"], totals["total_max"],
            [str(h[1]) for h in best], self.echelon_names, [str(h[2]) for h in best],
            [float(c) for c in self.heads["confidence"]], self.top_reasons,
        )
        return list(map(OverviewRow._make, zip(*columns)))

    def _shared_traces(self, place: int, top: bool = False) -> list[list[dict]]:
        """The trace of each convoy's template at ``place`` (0 the best, 1 the runner-up), made per distinct outcome.

        For each template, only the convoys it is that place of are evaluated
        (a rule's outcome depends only on the convoy's own row). Rule by rule,
        convoys with the same passed flag, score and numbers share one dict,
        whose reason is written once; nearly every convoy's whole trace is
        its own, so only the rules' outcomes are grouped, column by column.
        ``top``: only each template's heaviest rule (the first of equals).
        """
        n = len(self.table)
        out: list = [None] * n
        entries: dict[tuple, dict] = {}
        params: dict[tuple, dict] = {}
        for j, idx in groups(self.order[:, place]):
            template_id = self.ids[j]
            rules = list(enumerate(self.doctrine.compiled[template_id]))
            if top and rules:
                weights = [_num(rule.weight) for _, rule in rules]
                rules = [rules[weights.index(max(weights))]]
            sub = Features(self.features.matrix[idx], self.features.columns)
            per_rule = []
            for k, rule in rules:
                outcome = rule.evaluate(sub)
                names = list(outcome.values)
                columns = [np.broadcast_to(np.asarray(c, dtype=np.float64), (len(idx),))
                           for c in (outcome.passed, outcome.score, *outcome.values.values())]
                numbers = np.ascontiguousarray(np.column_stack(columns))
                # Distinct outcomes by their bits (exact; NaN equal to itself).
                first, inverse = distinct_rows(numbers.view(np.int64))
                made = np.empty(len(first), dtype=object)
                for at, cut in enumerate(map(tuple, numbers[first].tolist())):
                    key = (template_id, k, cut)
                    entry = entries.get(key)
                    if entry is None:
                        fixed = params.get((template_id, k))
                        if fixed is None:  # a rule's parameters: the same for every convoy
                            fixed = params[(template_id, k)] = _settings(rule)
                        entry = entries[key] = self._trace_entry(template_id, rule, cut, names, fixed)
                    made[at] = entry
                per_rule.append(made[inverse].tolist())
            traces = map(list, zip(*per_rule)) if per_rule else ([] for _ in range(len(idx)))
            for i, trace in zip(idx.tolist(), traces):
                out[i] = trace
        return out

    @staticmethod
    def _trace_entry(template_id: str, rule, cut: tuple, names: list[str], params: dict) -> dict:
        """One rule's trace entry from its passed flag, score and numbers (as the convoy's JSON holds it)."""
        passed, value, numbers = cut[0] == 1.0, cut[1], cut[2:]
        values = dict(zip(names, numbers))
        reason = rule.explain(values, passed)
        if rule.why:
            reason += f" ({rule.why})"
        return {
            "template": template_id, "rule": rule.rule, "passed": passed, "weight": _num(rule.weight),
            "required": rule.required, "score": _num(value), "reason": reason,
            "values": {**{name: _num(v) for name, v in values.items()}, **params},
        }

    @cached_property
    def _trace(self) -> dict[str, list[tuple]]:
        return {}

    @cached_property
    def explained(self) -> dict[tuple, tuple[str, dict]]:
        """A rule's reason and JSON values by (template, rule, passed, values), shared by the convoys' traces."""
        return {}

    def trace_columns(self, template_id: str) -> list[tuple]:
        """Per rule of a template: score, passed and values per convoy, and its JSON parameters.

        Built once per template (for every convoy at once), for the trace of a
        template that is neither a convoy's best nor its runner-up. The
        columns are ``array('d')`` and ``bytes``: indexed like lists (a Python float, an int
        0/1), at 8 bytes (1 for passed) a value instead of a list's 32, which at 200,000
        convoys and a hundred rules is the difference between 0.8 and 3 GB.
        """
        if template_id not in self._trace:
            j = self.ids.index(template_id)
            columns = []
            for rule, outcome in zip(self.doctrine.compiled[template_id], self.scores.outcome(j)):
                columns.append((
                    _doubles(outcome.score),
                    np.ascontiguousarray(outcome.passed, dtype=bool).tobytes(),
                    {k: _doubles(v) for k, v in outcome.values.items()},
                    _settings(rule),
                ))
            self._trace[template_id] = columns
        return self._trace[template_id]

    @cached_property
    def shares(self) -> dict[str, list[float]]:
        """Per convoy, its carried, armoured and logistics shares of the vehicles seen, as its JSON holds them.

        ``round(part / total, 3)``, 0.0 without vehicles, made on whole
        columns (:func:`_rounded`); logistics: the vehicles of that role.
        """
        a, n = self._type_arrays, len(self.table)
        logistics = np.bincount(a["code"], weights=np.where(a["role"] == "logistics", a["count"], 0), minlength=n)
        total = np.asarray(self.totals["total"], dtype=np.float64)
        seen = total > 0
        out = {}
        for name, part in (("carried", self.totals["carried"]), ("armoured", self.totals["armoured"]),
                           ("logistics", logistics)):
            share = np.full(n, 0.0, dtype=object)
            share[seen] = _rounded(np.asarray(part, dtype=np.float64)[seen] / total[seen])[0]
            out[name] = share.tolist()
        return out

    @cached_property
    def _organic(self) -> dict[tuple, dict]:
        return {}

    @cached_property
    def personnel_lists(self) -> dict[str, list[int]]:
        """:attr:`personnel` as Python ints per convoy."""
        return {k: np.asarray(v).astype(np.int64).tolist() for k, v in self.personnel.items()}

    @cached_property
    def echelon_names(self) -> list[str]:
        """Per convoy, its answer's echelon name."""
        return np.array(ECHELONS, dtype=object)[np.asarray(self.answers.echelon, dtype=np.int64)].tolist()

    @cached_property
    def template_heads(self) -> list[tuple[str, str, str]]:
        """Per template (in ``ids`` order): id, label and kind."""
        return [(t.id, t.label, t.kind) for t in (self.doctrine.get(i) for i in self.ids)]

    @cached_property
    def template_index(self) -> dict[str, int]:
        """A template's position in ``ids``."""
        return {template_id: j for j, template_id in enumerate(self.ids)}

    @cached_property
    def _breakdowns(self) -> dict[tuple, list[dict]]:
        return {}

    @cached_property
    def _breakdown_plans(self) -> dict[str, tuple[list[tuple], tuple[str, ...]]]:
        return {}

    def _breakdown_plan(self, template_id: str) -> tuple[list[tuple], tuple[str, ...]]:
        """A template's sub-units as (name, categories, size), and every category they read, in order."""
        plan = self._breakdown_plans.get(template_id)
        if plan is None:
            units, covered = [], []
            for name in self.doctrine.get(template_id).breakdown:
                unit = self.doctrine.units[name]
                cats = tuple(unit.of.category)
                covered += [c for c in cats if c not in covered]
                units.append((name, cats, unit.size))
            plan = self._breakdown_plans[template_id] = (units, tuple(covered))
        return plan

    def breakdown(self, template_id: str, by_category: dict[str, int]) -> list[dict]:
        """Sub-units of a template by doctrinal size for vehicles ``by_category``: greedy, the remainder named.

        Made once per template and counts of the categories its sub-units
        read (shared by the convoys with the same: read only).
        """
        units, covered = self._breakdown_plan(template_id)
        counts = tuple(map(by_category.get, covered, repeat(0)))
        key = (template_id, counts)
        out = self._breakdowns.get(key)
        if out is None:
            out = self._breakdowns[key] = self._make_breakdown(units, covered, counts)
        return out

    @staticmethod
    def _make_breakdown(units: list[tuple], covered: tuple[str, ...], counts: tuple[int, ...]) -> list[dict]:
        remaining = dict(zip(covered, counts))
        out: list[dict] = []
        for name, cats, size in units:
            if len(cats) == 1:  # most sub-units read one category: the same greedy take, without the loops
                have = remaining[cats[0]]
                n = have // size
                if n > 0:
                    out.append({"unit": name, "count": int(n), "size": size})
                    remaining[cats[0]] = have - n * size
                continue
            n = sum(remaining[c] for c in cats) // size
            if n <= 0:
                continue
            out.append({"unit": name, "count": int(n), "size": size})
            need = n * size
            for c in cats:
                take = min(need, remaining[c])
                remaining[c] -= take
                need -= take
        for c in covered:
            if remaining[c] > 0:
                out.append({"unit": "remainder", "category": c, "vehicles": int(remaining[c])})
        return out

    @cached_property
    def _signals(self) -> dict[str, list[str]]:
        return {}

    def origin_signals(self, notes: list[str]) -> list[str]:
        """What a convoy's notes say of its origin (Cyrillic text, a named origin); each note read once per run."""
        out: list[str] = []
        known = self._signals
        for note in notes:
            signals = known.get(note)
            if signals is None:
                signals = []
                if _CYRILLIC.search(note):
                    signals.append(f"Cyrillic text in notes: {note!r}")
                for match in _ORIGIN_WORDS.finditer(note):
                    signals.append(f"origin named in notes: {match.group(0)!r} ({note!r})")
                known[note] = signals
            out += signals
        return out

    @cached_property
    def _seen_arrays(self) -> dict[str, Any] | None:
        """The merge trace's columns, keyed for block-wise merge notes (:func:`orbat.output_block.seen_arrays`)."""
        return seen_arrays(self.table)


#: How much of the rule trace a convoy's JSON holds: winner and runner-up, the winner's rules, none.
TRACE_LEVELS = ("full", "best", "none")


def to_dicts(estimates: Iterable[ConvoyEstimate], trace: str = "full") -> list[dict]:
    """Every estimate's JSON object (what ``orbat estimate --json`` prints), in order; ``trace``: see :data:`TRACE_LEVELS`."""
    with gc_paused():
        return [e.to_dict(trace) for e in estimates]




# --- one convoy's estimate ---------------------------------------------------------------------


def _doubles(values: Any) -> array:
    """A float column as ``array('d')``: compact, and indexed as Python floats."""
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


def _rounded(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``round(x, 3)`` of every value of a float array, as an object array of Python floats, made on the whole column.

    ``rint(x * 1000) / 1000`` is Python's ``round(x, 3)`` (the double
    nearest the correctly rounded decimal) whenever ``x * 1000`` is not
    within its own rounding error of a half: the product then rounds to
    the same side. The few values near a half (exact ties included), huge
    or not finite are rounded by ``round`` itself; also returned: which
    values were not (``plain``). (A ``round`` call per value cost 0.1 s of
    the 0.7 s of 10,000 convoys' JSON.)
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * 1000.0
        out = (np.rint(scaled) / 1000.0).astype(object)
        # Below 2**30 the product's error (half an ulp, < 1.2e-7) is far inside the 1e-6 kept from a half.
        plain = (np.abs(scaled) < 2.0 ** 30) & (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-6)
    for at in np.flatnonzero(~plain).tolist():
        out[at] = round(float(values[at]), 3)
    return out, plain


def _nums(values: np.ndarray) -> list:
    """:func:`_num` of every value of a float array, the same Python ints and floats (see :func:`_rounded`)."""
    values = np.asarray(values, dtype=np.float64)
    out, plain = _rounded(values)
    whole = plain & (values == np.floor(values))
    out[whole] = values[whole].astype(np.int64).astype(object)
    for at in np.flatnonzero(~plain).tolist():
        out[at] = _num(float(values[at]))
    return out.tolist()


def _settings(rule) -> dict[str, Any]:
    """A rule's numeric parameters as a trace entry shows them (what it selects, ``of``/``categories``, is
    said by its reason; unset ones are left out)."""
    return {k: _num(v) for k, v in rule.data.items() if k not in ("of", "categories") and v is not None}


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
    """The estimate of one convoy; :meth:`to_dict` gives the JSON object ``orbat estimate --json`` prints.

    Its pieces are read from the run's columns, which are made for every
    convoy (or a block of convoys) at once. What it returns may share parts
    with other convoys' (a trace entry, a breakdown): read them, do not
    change them.
    """

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

    @property
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

    @property
    def echelon(self) -> str:
        """The template's echelon, raised to what the manoeuvre vehicles fill (never lowered).

        When no template really fits (score below :data:`orbat.estimate.MIN_FIT`) the
        template's echelon is not evidence, and the ladder alone decides.
        """
        return self._run.echelon_names[self.index]

    @property
    def total(self) -> int:
        """Vehicles seen (the lower end of the counts)."""
        return self._run.total_lists["total"][self.index]

    @property
    def total_max(self) -> int:
        """Vehicles at the upper end of the counts."""
        return self._run.total_lists["total_max"][self.index]

    @property
    def top_reason(self) -> str:
        """The strongest evidence of the best template: its heaviest rule, ``pass: ...`` or ``fail: ...``."""
        return self._run.top_reasons[self.index]

    @property
    def overview_row(self):
        """The convoy's row of the many-convoy table (:class:`orbat.overview.OverviewRow`)."""
        return self._run.overview_rows[self.index]

    @property
    def type_rows(self) -> list[dict]:
        """The convoy's max-merged per-type rows (see :data:`orbat.convoy.TYPE_COLUMNS`)."""
        return self._run.records[self.index]

    def _block(self) -> tuple[OutputBlock, int]:
        block = self._run.output_block(self.index)
        return block, self.index - block.start

    @property
    def by_category(self) -> dict[str, int]:
        """Vehicles per category (unknown included), by name."""
        block, k = self._block()
        return dict(block.by_category[k])

    @property
    def breakdown(self) -> list[dict]:
        """Sub-units by doctrinal size, greedy in the template's order, with the remainder named."""
        block, k = self._block()
        return list(self._run.breakdown(self.template_id, block.by_category[k]))

    @property
    def personnel(self) -> dict[str, int]:
        p = self._run.personnel_lists
        return {"min": p["min"][self.index], "max": p["max"][self.index]}

    @property
    def vehicles(self) -> dict:
        block, k = self._block()
        return self._vehicles(block, k)

    def _vehicles(self, block: OutputBlock, k: int) -> dict:
        totals, i = self._run.total_lists, self.index
        return {
            "total": totals["total"][i],
            "total_max": totals["total_max"][i],
            "by_type": block.by_type[k],
            "by_category": block.known_categories(k),
            "by_role": dict(block.by_role[k]),
            "unknown": block.unknown[k],
            # Categories several sightings saw: the merged figure and which sighting set it.
            "merged": block.merged[k],
        }

    @property
    def alternatives(self) -> list[dict]:
        """Other templates, best score first, with how often each won the sampled counts."""
        block, k = self._block()
        return block.alternatives_of(k)

    def trace_for(self, template_id: str) -> list[dict]:
        """Every rule of one template, evaluated on this convoy, with its reason and numbers."""
        if template_id == self.template_id:
            return list(self._run.best_traces[self.index])
        if template_id == self.runner_up:
            return list(self._run.runner_up_traces[self.index])
        return self._trace_of(template_id)

    def _trace_of(self, template_id: str) -> list[dict]:
        """The trace of any template, from its columns for every convoy (see :meth:`RunOutput.trace_columns`)."""
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

    @property
    def trace(self) -> list[dict]:
        """The rules of the winning template, then those of the runner-up."""
        best = self._run.best_traces[self.index]
        runner = self._run.runner_up_traces[self.index]
        return best + runner if runner is not None else list(best)

    @property
    def indicators(self) -> dict:
        """What an analyst should look at besides the template: support, carried and armoured shares, origin."""
        block, k = self._block()
        return self._indicators(block, k)

    def _indicators(self, block: OutputBlock, k: int) -> dict:
        run, i = self._run, self.index
        totals = run.total_lists
        support = tuple(map(block.by_category[k].get, ORGANIC_SUPPORT, repeat(0)))
        organic = run._organic.get(support)  # one (read-only) dict per distinct support counts
        if organic is None:
            organic = run._organic[support] = {"present": sum(1 for v in support if v) >= 2,
                                               "vehicles": dict(zip(ORGANIC_SUPPORT, support))}
        convoy = run.table.convoys[i]
        notes = run.table.notes.get(convoy)
        shares = run.shares
        return {
            "organic_support": organic,
            "carried_share": shares["carried"][i],
            "armoured_share": shares["armoured"][i],
            "armoured": {"min": totals["armoured"][i], "max": totals["armoured_max"][i]},
            "logistics_share": shares["logistics"][i],
            "origin_signals": run.origin_signals(notes) if notes else [],
            "unknown_vehicles": totals["unknown"][i],
            "loss_rows_ignored": int(run.table.loss_rows.get(convoy, 0)),
            # The random draws the estimate rests on: 50 when the first batch settled it, all of
            # --samples otherwise; 0 for exact counts or when every scenario was enumerated.
            "sampled": (int(run.draws[i]) if run.drawn[i] else 0) if run.drawn is not None
            else (run.samples if block.ranged[k] else 0),
            # Tags the sightings carry (`tags` column): "cope cage on 6 of 7 tank"; decoys count 0..n.
            "tags": run.table.tags.get(convoy, []),
        }

    @property
    def best(self) -> dict:
        block, k = self._block()
        return self._best(block, k)

    def _best(self, block: OutputBlock, k: int) -> dict:
        run, i = self._run, self.index
        heads, numbers = run.heads, run.head_numbers
        template_id = heads["template"][i]
        template = run.template_heads[run.template_index[template_id]]
        personnel = run.personnel_lists
        return {
            "template": template_id,
            "label": template[1],
            "kind": template[2],
            "echelon": run.echelon_names[i],
            "confidence": heads["confidence"][i],
            # The chance the best template itself is the unit (confidence adds the templates giving the same answer).
            "probability": numbers["probability"][i],
            "score": numbers["score"][i],
            "wins": numbers["wins"][i],
            # False when no template really fits: the answer is then the ladder's echelon (say so to the user).
            "fits": heads["fits"][i],
            "breakdown": list(run.breakdown(template_id, block.by_category[k])),
            "personnel": {"min": personnel["min"][i], "max": personnel["max"][i]},
        }

    def traced(self, trace: str = "full") -> list[dict] | None:
        """The trace at a level of :data:`TRACE_LEVELS`: winner and runner-up, the winner's rules, or none."""
        if trace not in TRACE_LEVELS:
            raise ValueError(f"trace must be one of {', '.join(TRACE_LEVELS)}, not {trace!r}")
        if trace == "full":
            return self.trace
        return list(self._run.best_traces[self.index]) if trace == "best" else None

    def to_dict(self, trace: str = "full") -> dict:
        """The JSON object of ``orbat estimate --json`` for this convoy (``trace="none"``: without "trace")."""
        traced = self.traced(trace)
        block, k = self._block()
        convoy = self._run.table.convoys[self.index]
        out = {
            "convoy": convoy,
            "sightings": list(self._run.table.sightings.get(convoy, [])),
            "vehicles": self._vehicles(block, k),
            "best": self._best(block, k),
            "alternatives": block.alternatives_of(k),
            "trace": traced,
            "indicators": self._indicators(block, k),
        }
        if trace == "none":
            del out["trace"]
        return out

    def __repr__(self) -> str:
        return f"ConvoyEstimate({self.convoy!r}: {self.template_id}, {self.echelon}, confidence {self.confidence})"


# The block-by-block stream moved to its own module (with the --jobs processes); re-exported here.
from orbat.estimate_stream import STREAM_CONVOYS, EstimateStream, iter_estimates  # noqa: E402, F401
