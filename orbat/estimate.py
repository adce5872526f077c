"""The order-of-battle estimator: what unit a convoy most likely is, and why.

The estimator reasons like an analyst with a doctrine manual open:

1. merge the sightings of each convoy (max per type, :mod:`orbat.convoy`);
2. score every doctrine template (:mod:`orbat.doctrine`) on the observed
   counts: each rule scores 0..1 and the template's score is the weighted mean;
3. the best-scoring template is the estimate; its echelon is raised, never
   lowered, to what the convoy's combat vehicles fill (the ladder);
4. where counts are ranges (``count``..``count_max``) the ranges are sampled
   (deterministic, seeded) and the share of samples each template wins says
   how much the open counts matter; with the score margin over the runner-up
   this gives the confidence;
5. the winner's sub-units (breakdown), the personnel range from crews and
   dismounts, the indicators an analyst should look at, and the trace of
   every rule of the winner and the runner-up, each with its reason.

Steps 1-4 run on whole columns for all convoys at once; only the assembly of
each convoy's result (done lazily, when asked for) is per convoy.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from orbat.catalog import Catalog
from orbat.convoy import (
    ConvoyTable, FeatureSpace, aggregate_convoys, feature_matrix, type_codes,
)
from orbat.confidence import Answers, answer_echelons, combine
from orbat.doctrine import KINDS, Doctrine, echelon_rank, load_doctrine
from orbat.errors import OrbatError
from orbat.grouping import concat_ranges, run_starts
from orbat.workers import free_cpus, on_one_thread
# The output side (each convoy's result and JSON) lives in orbat.estimate_result; re-exported here,
# so `from orbat.estimate import ConvoyEstimate, to_dicts, gc_paused` keeps working.
from orbat.estimate_result import (  # noqa: F401
    MAX_ALTERNATIVES, TRACE_LEVELS, ConvoyEstimate, EstimateStream, RunOutput, gc_paused, iter_estimates, to_dicts,
)
from orbat.observation import evidence_noise, trust
from orbat.rules import Features, GivenFeatures, Outcome, ReadRecorder
from orbat.scenario_sums import PairLayout as _PairLayout

#: Below this score no template really fits: its echelon is not used, only the ladder's.
MIN_FIT = 0.5
#: Count scenarios scored together (in whole convoys): small enough for the temporaries to stay in cache
#: and in the scoring threads' malloc heaps (at 10,000 a fresh process page-faulted ~140k times, 0.28 s of
#: system time on the benchmark; at 5,000 ~50k times, 0.09 s).
CHUNK = 5_000
#: ... times this on one thread (a --jobs worker; busy CPUs): a block of 10,000 convoys, fresh process, 4 runs
#: alternating, 0.70-0.75 s of CPU against 0.73-0.79 s at 5,000 (~5k more page faults, not two heaps' 90k).
ONE_THREAD_CHUNKS = 2
#: Templates up to this many: a convoy's pattern of templates scoring above 0 fits one int64.
_PATTERN_BITS = 62


class UnknownConvoy(OrbatError):
    """No sighting belongs to that convoy."""


# --- scoring all convoys at once ---------------------------------------------------------------


@dataclass
class _Scores:
    """Template scores for every convoy: ``score`` is convoys x templates.

    The rules' outcomes (what a trace shows) are evaluated per template when
    first asked for (:meth:`outcome`), unless given.
    """

    score: np.ndarray
    outcomes: list[list[Outcome] | None]  # per template, per rule (None: not evaluated yet)
    doctrine: Doctrine | None = None
    ids: list[str] | None = None
    features: Features | None = None

    def outcome(self, j: int) -> list[Outcome]:
        """Each rule's outcome of template ``j`` on every convoy."""
        if self.outcomes[j] is None:
            self.outcomes[j] = [rule.evaluate(self.features) for rule in self.doctrine.compiled[self.ids[j]]]
        return self.outcomes[j]


def _score(doctrine: Doctrine, ids: list[str], features: Features) -> _Scores:
    columns, outcomes = [], []
    for template_id in ids:
        rules = doctrine.compiled[template_id]
        results = [rule.evaluate(features) for rule in rules]
        score = _weighted([rule.weight for rule in rules],
                          [np.asarray(r.score, dtype=np.float64) * rule.weight for rule, r in zip(rules, results)],
                          len(features))
        # A required rule is the template's core (its tanks, its guns): missing it sinks the
        # template; a near miss (failed rules score up to 0.5) keeps part of the score.
        for rule, result in zip(rules, results):
            if rule.required:
                score = score * np.minimum(1.0, 2.0 * result.score)
        columns.append(score)
        outcomes.append(results)
    return _Scores(np.column_stack(columns) if columns else np.zeros((len(features), 0)), outcomes)


def _weighted(weights: list[float], terms: list[np.ndarray], n: int) -> np.ndarray:
    """A template's weighted mean score: its rules' ``score * weight`` terms added in rule order, over the weight sum.

    An explicit elementwise sum rather than a BLAS product: each element's
    number depends only on its own rule scores, never on its position in the
    array or on the BLAS build, so scenarios can be grouped and chunked freely
    (a template whose rules all score 1 still scores exactly 1).
    """
    if not terms:
        return np.zeros(n, dtype=np.float64)
    out = np.array(terms[0], dtype=np.float64)  # a copy: the terms may be shared tables' lookups
    for term in terms[1:]:
        out += term
    out /= float(np.sum(np.array(weights, dtype=np.float64)))
    return out


@dataclass
class _TemplatePlan:
    """A template's rules as :meth:`_Tables.score_live` walks them (tuples: no lookups per chunk)."""

    rules: list[tuple]  # (k, rule, table, key group, shared-term id, weighted table, identity number)
    required: list[tuple]
    required_ks: list[int]
    weight_sum: float


class RuleReads:
    """What a doctrine's rules read, found once for every block of a file (:class:`_Tables` tabulates on it).

    Which quantities each rule reads (a selection's count, a column; see
    :class:`orbat.rules.ReadRecorder`), which feature columns each quantity
    sums, and which rules are the same rule: none of it depends on the
    convoys, only on the doctrine. A file estimated in blocks (``--jobs``,
    :mod:`orbat.estimate_stream`) finds it once, in the process that forks
    the workers, instead of once per block (~30 ms of the bundled doctrine's
    ~0.1 s of rule tables per block); each block still tabulates over its own
    count ranges (those need the block's merged counts).

    Rules compute on whole arrays, never branching on one convoy's values,
    so what they read is found on one row of zeros.
    """

    def __init__(self, doctrine: Doctrine, ids: list[str], space: FeatureSpace):
        self.doctrine, self.ids, self.space = doctrine, list(ids), space
        self.rules = {tid: doctrine.compiled[tid] for tid in ids}
        self.columns = space.columns
        probe_rows = np.zeros((1, len(space)))
        self.reads: dict[tuple[str, int], list[tuple] | None] = {}
        for tid, rules in self.rules.items():
            for k, rule in enumerate(rules):
                recorder = ReadRecorder(probe_rows, self.columns)
                try:
                    rule.evaluate(recorder)
                    reads = list(recorder.read) or None
                    if reads:  # it must also run on its quantities alone (a rule reading `matrix` cannot)
                        rule.evaluate(GivenFeatures({q: np.zeros(1) for q in reads}, 1))
                except Exception:  # noqa: BLE001 - such a rule is simply evaluated on the feature matrix
                    reads = None
                self.reads[(tid, k)] = reads
        #: Every quantity some rule reads, and the feature columns it sums.
        self.quantities: list[tuple] = list(dict.fromkeys(q for r in self.reads.values() if r for q in r))
        self.index = {q: i for i, q in enumerate(self.quantities)}
        self.sums = [[self.columns[n] for n in _Tables._names(q) if n in self.columns] for q in self.quantities]
        self.matrix_free = all(r is not None for r in self.reads.values())
        #: Templates x quantities: the quantities some rule of the template reads (what scoring it needs).
        self.needs = np.zeros((len(self.rules), len(self.quantities)), dtype=bool)
        for j, (tid, rules) in enumerate(self.rules.items()):
            for k in range(len(rules)):
                for q in self.reads[(tid, k)] or ():
                    self.needs[j, self.index[q]] = True
        # The same rule with the same parameters (an `absent` rule in many templates) is tabulated once.
        self.identity = {(tid, k): (rule.rule, rule.text, tuple(self.reads[(tid, k)] or ()))
                         for tid, rules in self.rules.items() for k, rule in enumerate(rules)}

    @classmethod
    def of(cls, doctrine: Doctrine | None = None) -> RuleReads:
        """Every template's rules of ``doctrine`` (by default :func:`orbat.doctrine.load_doctrine`)."""
        doctrine = doctrine or load_doctrine()
        return cls(doctrine, list(doctrine.templates), FeatureSpace.build(doctrine.families(), doctrine.types()))

    def serves(self, doctrine: Doctrine, ids: list[str], space: FeatureSpace) -> bool:
        """Whether these are the reads of this very doctrine's templates ``ids`` over this feature space."""
        return self.doctrine is doctrine and self.ids == list(ids) and self.columns == space.columns


def _strides(radices) -> list[int]:
    """The stride of each axis of a grid of these radices, the last axis fastest (a table's flat index)."""
    strides, stride = [], 1
    for r in reversed(radices):  # (Python ints: a numpy cumprod per rule cost more than the product)
        strides.append(stride)
        stride *= int(r)
    return strides[::-1]


class _Tables:
    """Each rule's score tabulated over the whole numbers it reads, for scoring many count scenarios.

    A rule reads a few quantities (a selection's count, the total, ...; see
    :class:`orbat.rules.ReadRecorder`) and scores each convoy from its own
    values only, so its score is a function of those whole numbers. Where
    their range (bounded by the counts at ``count_max``) is small, the rule is
    evaluated once over that grid and a scenario's score is a table lookup:
    the very numbers a direct evaluation gives. Other rules are evaluated
    directly, on the same quantities.
    """

    def __init__(self, doctrine: Doctrine, ids: list[str], space: FeatureSpace, upper: np.ndarray, limit: int,
                 reads: RuleReads | None = None):
        if reads is None or not reads.serves(doctrine, ids, space):
            reads = RuleReads(doctrine, ids, space)
        self.rules, self.columns, self.reads = reads.rules, reads.columns, reads.reads
        self.quantities, self.index, self.sums = reads.quantities, reads.index, reads.sums
        self.matrix_free, self.needs, self.identity = reads.matrix_free, reads.needs, reads.identity
        # Largest possible value + 1 of each quantity: counts only grow towards count_max.
        #: Quantities x convoys at count_max (what :func:`_sample_wins` bounds each convoy's scenarios by).
        self.upper = self.of(upper)
        top = self.upper.max(axis=1) if len(upper) else np.zeros(len(self.quantities), dtype=np.int64)
        self.radix = np.maximum(top, 0).astype(np.int64) + 1
        made: dict[tuple, Any] = {}
        self._grids: dict[tuple[int, ...], list[np.ndarray]] = {}
        self.tables = {}
        for key in self.reads:
            ident = self.identity[key]
            if ident not in made:
                made[ident] = self._tabulate(key, limit)
            self.tables[key] = made[ident]
        del self._grids  # (only needed while tabulating)
        # Tables indexed by the same quantities with the same strides share one key per chunk (96 rules
        # of the bundled doctrine, 24 keys), each an integer sum of one or two quantities.
        groups: dict[tuple, int] = {}
        self.key_of = {key: groups.setdefault((tuple(t[0]), tuple(t[1])), len(groups))
                       for key, t in self.tables.items() if t is not None}
        # A key is a few quantities times their strides (most are one quantity, stride 1).
        self.key_terms: list[list[tuple[int, int]]] = [[] for _ in groups]
        for (where, strides), g in groups.items():
            merged: dict[int, int] = {}
            for i, stride in zip(where, strides):
                merged[i] = merged.get(i, 0) + int(stride)
            self.key_terms[g] = sorted(merged.items())
        # Each table times its rule's weight (the term the weighted sum adds); the same rule repeated
        # across templates (an `absent` rule) is looked up once per chunk.
        self.weighted = {}
        shared: dict[tuple, int] = {}
        products: dict[tuple, np.ndarray] = {}
        for (tid, k), t in self.tables.items():
            if t is not None:
                weight = self.rules[tid][k].weight
                product = (self.identity[(tid, k)], weight)
                if product not in products:
                    products[product] = t[2] * weight
                self.weighted[(tid, k)] = products[product]
                shared.setdefault((self.key_of[(tid, k)], self.identity[(tid, k)], weight), len(shared))
        self.same = {key: shared[(self.key_of[key], self.identity[key], self.rules[key[0]][key[1]].weight)]
                     for key in self.weighted}
        #: Per template: its rules with all score_live needs of each (rule order), its required ones, weight sum.
        self.plans, number = {}, {}  # (each identity as a number: hashing one hashes its pydantic selections)
        for tid, rules in self.rules.items():
            slots = [(k, rule, self.tables[(tid, k)], self.key_of.get((tid, k)), self.same.get((tid, k)),
                      self.weighted.get((tid, k)), number.setdefault(self.identity[(tid, k)], len(number)))
                     for k, rule in enumerate(rules)]
            weight_sum = float(np.sum(np.array([rule.weight for rule in rules], dtype=np.float64)))
            self.plans[tid] = _TemplatePlan(slots, [slot for slot in slots if slot[1].required],
                                            [slot[0] for slot in slots if slot[1].required], weight_sum)
        #: Per template: whether every rule is tabulated with finite scores (then rows where a required rule
        #: scores 0 can be left at 0 without evaluating the rest).
        self.tabulated = {tid: all(self.tables[(tid, k)] is not None and bool(np.isfinite(self.weighted[(tid, k)]).all())
                                   for k in range(len(rules))) and bool(np.isfinite([r.weight for r in rules]).all())
                          for tid, rules in self.rules.items()}

    @staticmethod
    def _names(q: tuple) -> list[str]:
        if q[0] == "column":
            return [q[1]]
        s = q[1]
        # The columns Features.count sums for a selection.
        return ([f"category:{c}" for c in s.category] + [f"role:{r}" for r in s.role]
                + [f"family:{f}" for f in s.family] + [f"type:{t}" for t in s.type])

    def of(self, matrix: np.ndarray) -> np.ndarray:
        """Quantities x rows: each quantity of each row of a feature matrix (whole numbers, as int64)."""
        out = np.zeros((len(self.quantities), len(matrix)), dtype=np.int64)
        for i, cols in enumerate(self.sums):
            if len(cols) == 1:
                out[i] = matrix[:, cols[0]]
            elif cols:
                out[i] = matrix[:, cols].sum(axis=1)
        return out

    def _tabulate(self, key: tuple[str, int], limit: int):
        reads = self.reads[key]
        if not reads:
            return None
        radices = [int(self.radix[self.index[q]]) for q in reads]
        size = math.prod(radices)  # (exact: Python ints)
        if size > limit:
            return None
        strides = _strides(radices)
        values = dict(zip(reads, self._grid(tuple(radices))))
        tid, k = key
        try:
            score = np.asarray(self.rules[tid][k].evaluate(GivenFeatures(values, size)).score, dtype=np.float64)
        except KeyError:
            return None
        if score.shape != (size,):
            return None
        # The required rules' factor, tabulated too (the same elementwise numbers).
        return [self.index[q] for q in reads], strides, score, np.minimum(1.0, 2.0 * score)

    def _grid(self, radices: tuple[int, ...]) -> list[np.ndarray]:
        """Every point of a grid of these radices (last axis fastest), one float64 array per axis.

        Made once per shape: rules that read different quantities of the
        same ranges (or the same ones with other parameters) share it.
        """
        made = self._grids.get(radices)
        if made is None:
            grid = np.arange(int(np.prod(np.array(radices, dtype=np.int64))), dtype=np.int64)
            made = self._grids[radices] = [((grid // s) % r).astype(np.float64)
                                           for s, r in zip(_strides(radices), radices)]
        return made

    def score(self, quantities: np.ndarray, matrix: np.ndarray | None = None) -> np.ndarray:
        """Templates x rows scores, as :func:`_score` computes them, from :meth:`of` (and the matrix if needed)."""
        live, compact = self.score_live(quantities, matrix)
        out = np.zeros((len(self.rules), quantities.shape[1]), dtype=np.float64)
        out[live] = compact
        return out

    def possible(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Rows x templates: whether the template may score above 0 for some quantities between ``low`` and ``high``.

        ``low`` and ``high`` are quantities x rows (a convoy's quantities at
        ``count`` and at ``count_max``: every count scenario lies in that
        box, as quantities only grow with counts). False means the template
        scores exactly 0 on every scenario: one of its required rules has a
        factor of 0 on the whole box (looked up in a summed-area table of
        where its tabulated factor is not 0). A template with an untabulated
        rule, or a row beyond the tables, is always possible.
        """
        n = low.shape[1]
        out = np.ones((n, len(self.rules)), dtype=bool)
        if n == 0:
            return out
        within = (high < self.radix[:, None]).all(axis=0)
        anywhere: dict[int, np.ndarray] = {}  # per rule identity: some non-zero factor in the row's box
        for j, tid in enumerate(self.rules):
            if not self.tabulated[tid]:
                continue
            for k, rule, table, group, same, weighted, ident in self.plans[tid].required:
                if ident not in anywhere:
                    anywhere[ident] = self._nonzero_in_box(table, low, high, within)
                out[:, j] &= anywhere[ident]
        return out

    def _nonzero_in_box(self, table, low: np.ndarray, high: np.ndarray, within: np.ndarray) -> np.ndarray:
        """Per row, whether a tabulated rule's factor is not 0 somewhere in the row's box (True beyond the tables)."""
        where = table[0]
        shape = [int(self.radix[i]) for i in where]
        # Summed-area table of the non-zero factors, with a leading 0 on every axis.
        counts = np.zeros([r + 1 for r in shape], dtype=np.int64)
        counts[tuple(slice(1, None) for _ in shape)] = (table[3] != 0).reshape(shape)
        for axis in range(len(shape)):
            np.cumsum(counts, axis=axis, out=counts)
        strides = np.array(counts.strides, dtype=np.int64) // counts.itemsize
        flat = counts.ravel()
        lo = np.where(within, low[where], 0).astype(np.int64)
        hi = np.where(within, high[where], 0).astype(np.int64) + 1
        total = np.zeros(low.shape[1], dtype=np.int64)
        # Inclusion-exclusion over the box's corners: + for an even number of low ends, - for an odd one.
        for corner in range(1 << len(shape)):
            index = np.zeros(low.shape[1], dtype=np.int64)
            sign = 1
            for axis in range(len(shape)):
                if corner >> axis & 1:
                    index += lo[axis] * strides[axis]
                    sign = -sign
                else:
                    index += hi[axis] * strides[axis]
            total += sign * flat[index]
        return (total > 0) | ~within

    def score_live(self, quantities: np.ndarray, matrix: np.ndarray | None = None,
                   bounded: bool = False, only: np.ndarray | None = None,
                   which: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The templates that score above 0 on some row (always the first), and their rows of :meth:`score`.

        Every template left out scores exactly 0 on every row. The first
        template is always kept: where every template scores 0 it is the
        one :func:`_leader` picks.

        ``quantities`` is quantities x rows (whole numbers, integer or float).
        A template's rules are added as in :func:`_weighted`, in rule order,
        so the numbers are :func:`_score`'s bit for bit.

        Most templates score exactly 0 on most rows: a required rule that
        scores 0 (no tanks for a tank company) makes the factor 0. So the
        required rules' factors are looked up first, and the other rules
        only where none of them is 0 (all rows, a subset, or none). Where one
        is 0 the score is the 0.0 a full evaluation gives: every tabulated
        term is finite (checked when tabulated), and a finite sum times 0 is
        0. A template with a rule that is not tabulated is always evaluated
        in full. ``bounded``: the caller knows every quantity is within the
        tables (counts at most ``count_max``), so it is not checked.
        ``only`` (per template, optional): the templates that may score above
        0 on these rows (:meth:`possible`); the others are left at 0 unseen.
        ``which`` (optional): the quantity each row of ``quantities`` is, when
        it holds only some (every one the templates of ``only`` read).
        """
        n = quantities.shape[1]
        row_of = np.arange(len(self.quantities)) if which is None else np.full(len(self.quantities), -1)
        if which is not None:
            row_of[which] = np.arange(len(which))
        radix = self.radix if which is None else self.radix[which]
        fits = bool(bounded or n == 0 or (quantities.max(axis=1) < radix).all())
        floats: dict[int, np.ndarray] = {}
        features = Features(matrix, self.columns) if matrix is not None else None
        # Rows for the templates that may be live only (those of `only`, and the first): not 40 x n fresh pages.
        out = np.empty((int(np.count_nonzero(only)) + 1 if only is not None and fits else len(self.rules), n))
        live_templates: list[int] = []
        whole: dict[int, np.ndarray] = {}

        keys: dict[int, np.ndarray] = {}

        def key(g: int) -> np.ndarray:  # a key group's keys, made on first use (only the live templates' groups)
            made = keys.get(g)
            if made is None:
                for i, stride in self.key_terms[g]:
                    # Whole numbers below each radix: the keys are exact integers (computed as such).
                    w = whole.get(i)
                    if w is None:
                        w = whole[i] = quantities[row_of[i]].astype(np.intp)
                    term = w if stride == 1 else w * stride
                    made = term if made is None else made + term
                keys[g] = made
            return made

        looked_up: dict[int, np.ndarray] = {}

        def direct(rule, reads, rows):  # a rule's score evaluated on the quantities (or the matrix) of `rows`
            if reads is None:
                return np.asarray(rule.evaluate(features if rows is None else
                                                Features(matrix[rows], self.columns)).score, dtype=np.float64)
            for q in reads:
                i = self.index[q]
                if i not in floats:
                    floats[i] = quantities[row_of[i]].astype(np.float64)
            values = {q: floats[self.index[q]] if rows is None else floats[self.index[q]][rows] for q in reads}
            return np.asarray(rule.evaluate(GivenFeatures(values, n if rows is None else len(rows))).score,
                              dtype=np.float64)

        factor_of: dict[int, np.ndarray] = {}  # required factors by rule identity (shared across templates)
        for j, (tid, rules) in enumerate(self.rules.items()):
            if not rules or (only is not None and fits and not only[j]):
                if j == 0:
                    out[0] = 0.0
                    live_templates.append(0)
                continue
            plan = self.plans[tid]
            tabulated = fits and self.tabulated[tid]
            # The required rules' factors first, on every row.
            factors: dict[int, np.ndarray] = {}
            live = None
            for k, rule, table, group, same, weighted, ident in plan.required:
                if fits and table is not None:
                    f = factor_of.get(ident)
                    if f is None:
                        f = factor_of[ident] = table[3].take(key(group))
                else:
                    f = np.minimum(1.0, 2.0 * direct(rule, self.reads[(tid, k)], None))
                factors[k] = f
                if tabulated:
                    live = f != 0.0 if live is None else np.logical_and(live, f != 0.0, out=live)
            rows = None
            at = len(live_templates)
            if live is not None:
                alive = int(np.count_nonzero(live))
                if alive == 0:
                    if j == 0:
                        out[0] = 0.0
                        live_templates.append(0)
                    continue
                if alive < n // 2:
                    rows = np.flatnonzero(live)
            live_templates.append(j)
            acc = out[at] if rows is None else np.empty(len(rows), dtype=np.float64)
            for k, rule, table, group, same, weighted, ident in plan.rules:
                if fits and table is not None:
                    term = looked_up.get(same)
                    if term is None:
                        if rows is None:
                            term = looked_up[same] = weighted.take(key(group))
                        else:
                            term = weighted.take(key(group).take(rows))
                    elif rows is not None:
                        term = term.take(rows)
                else:
                    s = direct(rule, self.reads[(tid, k)], rows)
                    term = s * rule.weight
                    if rule.required and k not in factors:
                        factors[k] = np.minimum(1.0, 2.0 * s)
                if k == 0:
                    acc[:] = term
                else:
                    acc += term
            acc /= plan.weight_sum
            for k in plan.required_ks:
                acc *= factors[k] if rows is None else factors[k].take(rows)
            if rows is not None:
                out[at] = 0.0
                out[at, rows] = acc
        return np.array(live_templates, dtype=np.intp), out[:len(live_templates)]


def _uniforms(keys: np.ndarray, seed: int, sample: np.ndarray | int) -> np.ndarray:
    """Deterministic uniforms in [0, 1) per (row key, seed, sample): splitmix64 of the mix.

    Hashing each convoy x type rather than drawing from one stream keeps a
    convoy's samples independent of which other convoys are in the frame and
    of row order.
    """
    sample = np.asarray(sample, dtype=np.uint64)
    with np.errstate(over="ignore"):
        # In place (the same arithmetic modulo 2**64): these arrays hold every draw of a block.
        x = keys ^ np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64)
        x = x + (sample + np.uint64(1)) * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        x >>= np.uint64(11)
    out = x.astype(np.float64)
    out /= float(2**53)
    return out


@dataclass
class _Run(RunOutput):
    """Everything computed for a frame, shared by its convoys' estimates."""

    table: ConvoyTable
    catalog: Catalog
    doctrine: Doctrine
    ids: list[str]
    space: FeatureSpace
    features: Features
    scores: _Scores
    wins: np.ndarray  # convoys x templates, share of count scenarios won
    mean: np.ndarray  # convoys x templates, mean score over the scenarios (the score, for exact counts)
    samples: int
    ladder: np.ndarray
    personnel: dict[str, np.ndarray]
    totals: dict[str, np.ndarray]
    order: np.ndarray  # convoys x templates: template indices, best first (ties: doctrine order)
    confidence: np.ndarray
    answers: Answers  # the winners' echelons, each template's probability (orbat.confidence)
    #: Per convoy, the count scenarios its estimate rests on: 1 (exact counts), all of them (enumerated),
    #: or the draws scored (adaptive sampling: the first batch, or all ``samples``).
    draws: np.ndarray | None = None
    #: Per convoy, whether its scenarios were drawn at random (not exact counts, not an enumeration).
    drawn: np.ndarray | None = None


@dataclass
class _Blocks:
    """Scenario blocks to score: one per convoy, each its scenarios' convoy, number and weight.

    ``conv`` (index among the convoys with an open count), ``length`` (its
    scenarios), ``sampled`` (draws, not an enumeration) and, for draws,
    ``draws`` (where its draws start in ``sample`` / ``weight``: each
    distinct draw's sample number and its weight, how often it was drawn
    over the draws the estimate divides by).
    """

    conv: np.ndarray
    length: np.ndarray
    sampled: np.ndarray
    draws: np.ndarray
    sample: np.ndarray
    weight: np.ndarray

    def take(self, which: np.ndarray) -> _Blocks:
        """The blocks at positions ``which`` (their draws stay where they are)."""
        return _Blocks(self.conv[which], self.length[which], self.sampled[which], self.draws[which],
                       self.sample, self.weight)


@dataclass
class _Scenarios:
    """The count scenarios of the convoys with an open count (``count_max > count``), one block per convoy.

    Doctrine-free, so it is made beside the rule tables. Per open type row
    (grouped by convoy): its count, span, carried range, radix, place value
    and hash key; per convoy with open rows (``targets``): where its rows
    start and how many. ``first`` holds every convoy's first batch (all its
    scenarios, or its first ``first_draws`` draws); :meth:`rest` draws the
    remaining ``samples - first_draws`` of the convoys whose first batch
    leaves the scores unsettled (see :func:`_sample_wins`).
    """

    uncertain: np.ndarray
    targets: np.ndarray
    rows: np.ndarray
    low: np.ndarray
    span: np.ndarray
    c_low: np.ndarray
    c_span: np.ndarray
    radix: np.ndarray
    place: np.ndarray
    keys: np.ndarray
    starts: np.ndarray
    per_convoy: np.ndarray
    log_total: np.ndarray
    seed: int
    first: _Blocks
    samples: int
    first_draws: int

    @property
    def sampled(self) -> np.ndarray:
        """The convoys (among those with an open count) whose scenarios are drawn, not enumerated, ascending."""
        return self.first.conv[self.first.sampled]

    def rest(self, conv: np.ndarray) -> _Blocks:
        """Draws ``first_draws .. samples-1`` of the sampled convoys ``conv`` (ascending), over ``samples``.

        A convoy's draws are the same whichever other convoys are asked for.
        """
        sample, count, length = _distinct_draws(self.keys, self.radix, self.place, self.starts, self.per_convoy,
                                                self.log_total, conv, self.seed, self.first_draws, self.samples)
        return _Blocks(conv if len(length) else conv[:0], length, np.ones(len(length), dtype=bool),
                       run_starts(length), sample, count / self.samples)


#: Adaptive sampling: a sampled convoy's first batch is this share of its draws (at least FIRST_DRAWS) ...
FIRST_SHARE = 0.25
FIRST_DRAWS = 50
#: ... and it stops there when every template's mean score is known within this standard error.
SETTLED_ERROR = 0.005


def first_batch(samples: int) -> int:
    """How many of ``samples`` draws a first batch holds: a quarter, at least FIRST_DRAWS (all, below twice that)."""
    first = max(FIRST_DRAWS, int(samples * FIRST_SHARE))
    return samples if first * 2 > samples else first


def _plan_scenarios(table: ConvoyTable, samples: int, seed: int) -> _Scenarios | None:
    """Every convoy's count scenarios (see :func:`_sample_wins`); None when there is nothing to sample."""
    n = len(table)
    t = table.types
    all_codes = t["code"].to_numpy()
    count_all = t["count"].to_numpy()
    open_rows = t["count_max"].to_numpy() > count_all
    uncertain = np.zeros(n, dtype=bool)
    uncertain[all_codes[open_rows]] = True
    if samples <= 0 or not uncertain.any():
        return None
    rows = np.flatnonzero(open_rows)  # the open type rows, grouped by convoy (types are sorted by convoy)
    targets = np.flatnonzero(uncertain)
    local = np.searchsorted(targets, all_codes[rows])
    low = count_all[rows].astype(np.float64)
    # (columns taken, not t.iloc[rows]: that copies every column of the types table, strings too)
    span = t["count_max"].to_numpy(dtype=np.float64)[rows] - low
    c_low = t["carried"].to_numpy(dtype=np.float64)[rows]
    c_span = t["carried_max"].to_numpy(dtype=np.float64)[rows] - c_low
    radix = span + 1.0
    starts = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
    per_convoy = np.diff(np.r_[starts, len(local)])

    # A scenario's number within its convoy: the offsets above `count` read as a mixed-radix number.
    # (Closed rows have radix 1: they add log 0 and offset 0, so leaving them out changes no sum; the
    # base subtracted per convoy is taken as if they were there, so that `place` is the same number.)
    log_radix = np.log2(radix)
    cum = np.cumsum(log_radix)
    log_before = cum - log_radix
    first_type_row = np.flatnonzero(np.r_[True, all_codes[1:] != all_codes[:-1]])[targets]
    first_is_open = open_rows[first_type_row]
    before_convoy = np.r_[0.0, cum][starts]  # the running sum at the convoy's first type row, closed
    base = np.where(first_is_open, log_before[starts], before_convoy)
    log_before -= np.repeat(base, per_convoy)
    place = np.exp2(log_before).round()
    log_total = np.add.reduceat(log_radix, starts)
    enumerate_all = log_total <= np.log2(samples) + 1e-9

    # One block per convoy (its scenarios are made chunk by chunk, never all at once).
    # Enumerated convoys: scenarios numbered 0 .. count-1, weight 1 / count.
    e_conv = np.flatnonzero(enumerate_all)
    e_count = np.exp2(log_total[e_conv]).round().astype(np.int64)
    s_conv = np.flatnonzero(~enumerate_all)
    n_first = first_batch(samples)
    none = np.zeros(0, dtype=np.int64)
    if len(s_conv):
        pairs = t[["convoy", "equipment_key"]].iloc[rows]
        keys = pd.util.hash_pandas_object(pairs, index=False).to_numpy(dtype=np.uint64)
        # Sampled convoys: their first batch's distinct draws (draws 0 .. n_first-1), each weighted by how
        # often it was drawn; the rest are drawn later, for the convoys that need them (_Scenarios.rest).
        draws_first = _distinct_draws(keys, radix, place, starts, per_convoy, log_total, s_conv, seed, 0, n_first)
    else:
        keys = np.zeros(len(rows), dtype=np.uint64)
        draws_first = (none, np.zeros(0, dtype=np.float64), none)
    first_sample, first_weight, first_len = draws_first
    first = _Blocks(np.r_[e_conv, s_conv], np.r_[e_count, first_len],
                    np.r_[np.zeros(len(e_conv), dtype=bool), np.ones(len(s_conv), dtype=bool)],
                    np.r_[np.zeros(len(e_conv), dtype=np.int64), run_starts(first_len)],
                    first_sample, first_weight / n_first)
    return _Scenarios(uncertain, targets, rows, low, span, c_low, c_span, radix, place, keys, starts, per_convoy,
                      log_total, seed, first, samples, n_first)


def _distinct_draws(keys: np.ndarray, radix: np.ndarray, place: np.ndarray, starts: np.ndarray,
                    per_convoy: np.ndarray, log_total: np.ndarray, s_conv: np.ndarray, seed: int,
                    lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws ``lo .. hi-1`` of each convoy ``s_conv``, as its distinct draws.

    Returns each distinct draw's sample number, how often it was drawn, and
    how many distinct draws each convoy has (convoy by convoy). A draw is a uniform offset per open row from a seeded hash of (row key,
    sample number): the same draw whatever else is drawn.
    """
    none = np.zeros(0, dtype=np.int64)
    if hi <= lo or not len(s_conv):
        return none, np.zeros(0, dtype=np.float64), none
    samples = hi - lo
    exact = log_total[s_conv] < 45  # numbers stay exact integers in float64
    per = per_convoy[s_conv]
    rows_before = np.r_[0, np.cumsum(per)]
    # Blocks of convoys with about half a million draws (rows x samples) each: the temporaries
    # stay small and warm in memory whatever the input; only each convoy's distinct draws are kept.
    budget = max(1, 500_000 // samples)
    kept_sample, kept_count, kept_len = [], [], []
    first = 0
    while first < len(s_conv):
        last = max(first + 1, int(np.searchsorted(rows_before, rows_before[first] + budget, side="right")) - 1)
        r = concat_ranges(starts[s_conv[first:last]], per[first:last])
        u = _uniforms(keys[r][:, None], seed, np.arange(lo, hi, dtype=np.uint64)[None, :])
        offsets = np.floor(u * radix[r][:, None])
        offsets *= place[r][:, None]
        numbers = np.add.reduceat(offsets, rows_before[first:last] - rows_before[first], axis=0)
        # Convoys with astronomically many scenarios: every draw is its own scenario.
        numbers[~exact[first:last]] = -1.0 - np.arange(samples)[None, :]
        # Per convoy, its draws sorted by number (stable: the first draw of a number represents it).
        order = np.argsort(numbers, axis=1, kind="stable")
        sorted_numbers = np.take_along_axis(numbers, order, axis=1)
        new = np.ones_like(sorted_numbers, dtype=bool)
        new[:, 1:] = sorted_numbers[:, 1:] != sorted_numbers[:, :-1]
        group_start = np.flatnonzero(new.ravel())
        kept_sample.append((order.ravel()[group_start] + lo).astype(np.int32))
        kept_count.append(np.diff(np.r_[group_start, new.size]).astype(np.int32))
        kept_len.append(new.sum(axis=1).astype(np.int64))
        first = last
    return np.concatenate(kept_sample), np.concatenate(kept_count).astype(np.float64), np.concatenate(kept_len)


def _sample_wins(table: ConvoyTable, plan: _Scenarios | None, tables: _Tables, ids: list[str],
                 space: FeatureSpace, codes, point: np.ndarray, seed: int,
                 point_matrix: np.ndarray, point_quantities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per convoy x template, the share of count scenarios the template wins, and its mean score over them.

    Also, per convoy, how many scenarios (enumerated or drawn) it was
    estimated from (1 for exact counts).

    A scenario fixes every open count at one value of ``count..count_max``.
    When a convoy has no more scenarios than ``samples``, all of them are
    scored, equally weighted (exact, no randomness needed). Otherwise up to
    ``samples`` scenarios are drawn, each open count uniformly and
    independently, with a seeded hash of (convoy, type, sample) so that a
    convoy's draws do not depend on other convoys or on row order; repeated
    draws are scored once, weighted by how often they were drawn (``plan``,
    from :func:`_plan_scenarios`; None: no open count). All scenarios of all
    convoys are scored together, in chunks of whole convoys, on two threads.

    Drawing is sequential (adaptive): every sampled convoy's first batch
    (:func:`first_batch`: 50 of 200 draws) is scored, and the rest of its
    draws only where some template's mean score is not yet settled: where
    the first batch's standard error of that mean (its draws' standard
    deviation over the square root of their number) exceeds
    :data:`SETTLED_ERROR`. A convoy stopped early thus has every template's
    mean within about 0.005 (one standard error) of what its full
    distribution gives; one drawn in full is the plain ``samples``-draw
    estimate. The decision uses the convoy's own draws only.

    Only open rows (``count_max > count``) vary between scenarios: a scenario's
    feature matrix is its convoy's matrix at ``count`` (``point_matrix``) plus
    what its open rows add. Counts are whole numbers, so the sum is exact and
    equals the matrix built from every row. ``point_quantities`` is
    :meth:`_Tables.of` the point matrix; with ``tables.upper`` (at
    ``count_max``) it bounds every scenario's quantities.
    """
    n, n_t = len(table), len(ids)
    wins = np.zeros((n, n_t), dtype=np.float64)
    mean = point.copy()
    used = np.ones(n, dtype=np.int64)
    best = _leader(point, axis=1) if n_t else np.zeros(n, dtype=np.int64)
    uncertain = plan.uncertain if plan is not None else np.zeros(n, dtype=bool)
    # Exact counts leave nothing to sample: the point estimate wins every scenario.
    wins[~uncertain, best[~uncertain]] = 1.0
    if plan is None or n_t == 0:
        wins[uncertain, best[uncertain]] = 1.0
        return wins, mean, used
    targets, rows, starts, per_convoy = plan.targets, plan.rows, plan.starts, plan.per_convoy
    span, c_low, c_span, radix, place, keys = plan.span, plan.c_low, plan.c_span, plan.radix, plan.place, plan.keys
    n_u = len(targets)
    # The templates that may score above 0 on some scenario of a convoy (the others are 0 on every one of
    # its scenarios: _Tables.possible). Convoys with the same such templates are scored side by side: a
    # chunk of them skips every other template on all its rows. Only whole convoys move: each convoy's
    # scenarios keep their order, so its sums are the same numbers.
    alive = tables.possible(point_quantities[:, targets], tables.upper[:, targets])
    pattern = _pattern_order(alive)
    won = np.zeros((n_u, n_t), dtype=np.float64)
    mean_u = np.zeros((n_u, n_t), dtype=np.float64)
    point_u = point_matrix[targets]
    open_codes = type(codes)(
        convoy=codes.convoy[rows], category=codes.category[rows], role=codes.role[rows],
        family=codes.family[rows], type=codes.type[rows], armoured=codes.armoured[rows],
        unknown=codes.unknown[rows],
    )
    if tables.matrix_free:
        # Which quantities one more vehicle of an open row adds to (and how often: a selection may name a
        # column twice), as (quantity, times) pairs per kind of row: rows of the same category, role,
        # family, type, armour and known-ness add to the same ones, and a file has a few hundred kinds
        # at most (a row-by-quantity matrix was 112 MB per temporary at 500k open rows).
        point_q = point_quantities[:, targets].astype(np.float64)
        incidence = np.zeros((len(space), len(tables.quantities)), dtype=np.int64)
        for i, cols in enumerate(tables.sums):
            for col in cols:
                incidence[col, i] += 1
        radix_f = len(space) + 1
        kind_key = np.zeros(len(rows), dtype=np.int64)
        for part in (open_codes.category, open_codes.role, open_codes.family, open_codes.type):
            kind_key = kind_key * radix_f + (np.asarray(part, dtype=np.int64) + 1)
        kind_key = (kind_key * 2 + open_codes.armoured) * 2 + open_codes.unknown
        row_kind = pd.factorize(kind_key)[0]
        kind_first = np.zeros(int(row_kind.max()) + 1 if len(row_kind) else 0, dtype=np.intp)
        kind_first[row_kind[::-1]] = np.arange(len(row_kind) - 1, -1, -1)  # a row of each kind
        k_codes = type(codes)(**{f: np.asarray(getattr(open_codes, f))[kind_first] for f in
                                 ("convoy", "category", "role", "family", "type", "armoured", "unknown")})
        per_vehicle = (incidence[space.index("total")] + incidence[k_codes.category] + incidence[k_codes.role]
                       + np.where(k_codes.family[:, None] >= 0, incidence[np.maximum(k_codes.family, 0)], 0)
                       + np.where(k_codes.type[:, None] >= 0, incidence[np.maximum(k_codes.type, 0)], 0)
                       + np.where(k_codes.armoured[:, None], incidence[space.index("armoured")], 0)
                       + np.where(k_codes.unknown[:, None], incidence[space.index("unknown")], 0))
        carried_q = np.flatnonzero(incidence[space.index("carried")])
        carried_mult = incidence[space.index("carried"), carried_q].astype(np.float64)
        layouts: dict[bytes, _PairLayout] = {}

        def layout_for(only: np.ndarray) -> _PairLayout:
            # The quantities the chunk's templates read, and each kind's pairs among them (made once per
            # set of templates: chunks are sorted by it, and a file has a few dozen such sets at most).
            need = tables.needs[only].any(axis=0)
            made = layouts.get(need.tobytes())
            if made is None:
                made = layouts[need.tobytes()] = _PairLayout.build(per_vehicle, need, carried_q, carried_mult)
            return made

    def score_blocks(blocks: _Blocks, squares: np.ndarray | None) -> None:
        # Blocks side by side by pattern, then chunks of whole convoys (~CHUNK scenarios each, more on one
        # thread): each convoy's sums are made in one chunk, so chunks can be scored in any order, on two
        # threads (numpy releases the GIL in the large array operations).
        if not len(blocks.conv):
            return
        # (Drawn convoys after enumerated ones: only chunks with draws need the squared scores.)
        blocks = blocks.take(np.lexsort((pattern[blocks.conv], blocks.sampled)))
        block_first = np.r_[0, np.cumsum(blocks.length)[:-1]]
        size = CHUNK if free_cpus(2) > 1 else CHUNK * ONE_THREAD_CHUNKS  # (as _run_chunks will decide)
        at = np.minimum(np.searchsorted(block_first, np.arange(0, int(blocks.length.sum()), size)),
                        len(block_first) - 1)
        bounds = np.unique(np.r_[at, len(block_first)])

        def score_chunk(b_first: int, b_last: int) -> None:
            # Squared scores serve the spread of drawn convoys only: an enumeration's are never read.
            drawn = squares is not None and bool(blocks.sampled[b_first:b_last].any())
            _score_chunk(blocks, b_first, b_last, squares if drawn else None)

        _run_chunks(score_chunk, list(zip(bounds[:-1].tolist(), bounds[1:].tolist())))

    def _score_chunk(blocks: _Blocks, b_first: int, b_last: int, squares: np.ndarray | None) -> None:
        # The chunk's scenarios, from its convoys' blocks: convoy, number (enumerated), draw (sampled), weight.
        samp_sample, samp_weight = blocks.sample, blocks.weight
        lens = blocks.length[b_first:b_last]
        conv_c = np.repeat(blocks.conv[b_first:b_last], lens)
        in_block = np.arange(len(conv_c)) - np.repeat(np.r_[0, np.cumsum(lens)[:-1]], lens)
        scen_sampled = np.repeat(blocks.sampled[b_first:b_last], lens)
        draw_at = np.repeat(blocks.draws[b_first:b_last], lens) + in_block
        scen_sample = np.where(scen_sampled, samp_sample.take(draw_at, mode="clip") if len(samp_sample) else 0, -1)
        scen_weight = np.where(scen_sampled, samp_weight.take(draw_at, mode="clip") if len(samp_weight) else 0.0,
                               np.repeat(1.0 / lens, lens))
        only = alive[blocks.conv[b_first:b_last]].any(axis=0)  # the templates some convoy of the chunk may need
        rows_per = per_convoy[conv_c]
        row_scen = np.repeat(np.arange(len(conv_c)), rows_per)
        row_idx = concat_ranges(starts[conv_c], rows_per)
        sample_of_row = scen_sample[row_scen]
        sampled = sample_of_row >= 0
        drawn_offset = np.empty(len(row_idx), dtype=np.float64)
        if not sampled.all():
            e_rows = np.flatnonzero(~sampled)
            e_idx = row_idx[e_rows]
            digit = np.floor(in_block[row_scen[e_rows]] / place[e_idx])  # its digit: (number // place) % radix
            e_radix = radix[e_idx]
            digit -= np.floor(digit / e_radix) * e_radix  # (exact: small whole numbers; np.fmod is ~7x slower)
            drawn_offset[e_rows] = digit
        if sampled.any():
            s_rows_c = np.flatnonzero(sampled)
            s_idx = row_idx[s_rows_c]
            u = _uniforms(keys[s_idx], seed, sample_of_row[s_rows_c].astype(np.uint64))
            drawn_offset[s_rows_c] = np.floor(u * radix[s_idx])
        # Carried vehicles move with the drawn share of the row's range, on the (few) rows with a carried range.
        moved = np.flatnonzero(c_span.take(row_idx) > 0)
        m_idx = row_idx[moved]
        moved_delta = np.round(c_low[m_idx] + c_span[m_idx] * (drawn_offset[moved] / span[m_idx])) - c_low[m_idx]
        if tables.matrix_free:
            # Only the quantities the chunk's templates read: a chunk's convoys have a few templates left
            # (about 10 of the bundled 40 on the benchmark), which read about half of the quantities.
            layout = layout_for(only)
            added = layout.added(row_kind.take(row_idx), row_scen, drawn_offset, len(conv_c))
            if len(moved):
                moved_scen = row_scen[moved]
                for q, mult in layout.carried:
                    added[q] += np.bincount(moved_scen, weights=mult * moved_delta, minlength=len(conv_c))
            # (each convoy's point quantities once, then repeated over its scenarios)
            added += np.repeat(point_q[np.ix_(layout.which, blocks.conv[b_first:b_last])], lens, axis=1)
            live, score = tables.score_live(added, bounded=True, only=only,  # (counts within count..count_max)
                                            which=layout.which)
        else:
            scen_codes = type(codes)(
                convoy=row_scen, category=open_codes.category[row_idx], role=open_codes.role[row_idx],
                family=open_codes.family[row_idx], type=open_codes.type[row_idx],
                armoured=open_codes.armoured[row_idx], unknown=open_codes.unknown[row_idx],
            )
            matrix = point_u[conv_c]
            carried_delta = np.zeros(len(row_idx), dtype=np.float64)
            carried_delta[moved] = moved_delta
            matrix += feature_matrix(scen_codes, space, len(conv_c), drawn_offset, carried_delta)
            live, score = tables.score_live(tables.of(matrix), matrix, only=only)
        _accumulate(won, mean_u, conv_c, score, scen_weight, live, squares)

    sampled_conv = plan.sampled
    k = plan.first_draws
    if k >= plan.samples or not len(sampled_conv):  # one batch: every convoy's scenarios at once
        score_blocks(plan.first, None)
        used[targets[sampled_conv]] = plan.samples
    else:
        squares = np.zeros((n_u, n_t), dtype=np.float64)
        score_blocks(plan.first, squares)
        # Settled: the first batch gives every template's mean score within SETTLED_ERROR (one standard
        # error, from the spread of its draws' scores); the others get the rest of their draws.
        spread = squares[sampled_conv] - mean_u[sampled_conv] ** 2
        settled = np.sqrt(np.maximum(spread, 0.0).max(axis=1) / (k - 1)) <= SETTLED_ERROR
        more = sampled_conv[~settled]
        # The first batch's sums, weighted over its k draws, become their share of all the draws.
        share = k / plan.samples
        won[more] *= share
        mean_u[more] *= share
        score_blocks(plan.rest(more), None)
        used[targets[sampled_conv]] = k
        used[targets[more]] = plan.samples
    enumerated = ~plan.first.sampled
    used[targets[plan.first.conv[enumerated]]] = plan.first.length[enumerated]
    wins[targets] = won
    mean[targets] = mean_u
    return wins, mean, used


def _pattern_order(alive: np.ndarray) -> np.ndarray:
    """Per row of ``alive`` (rows x templates), a sort key: equal rows, equal keys, and similar ones close.

    The templates fewest rows need are the most significant (the first of the packed bytes np.unique sorts):
    the convoys that may need a rare one sort together, not over every chunk (benchmark blocks, chunks of
    5,000: 9.5-9.7 templates scored a scenario against 11.2-13.6 in doctrine order; a convoy needs 3.4-4).
    """
    n_t = alive.shape[1]
    rarest_first = np.argsort(alive.sum(axis=0), kind="stable")
    if n_t <= _PATTERN_BITS:  # the pattern as one whole number (the rarest template: the highest bit)
        bit = np.empty(n_t, dtype=np.int64)
        bit[rarest_first] = np.arange(n_t - 1, -1, -1, dtype=np.int64)
        return alive.astype(np.int64) @ (np.int64(1) << bit)
    return np.unique(np.packbits(alive[:, rarest_first], axis=1), axis=0, return_inverse=True)[1].ravel()


def _run_chunks(work, chunks: list[tuple[int, int]]) -> None:
    """Run ``work(first, last)`` for every chunk, on up to two threads (the results do not depend on which).

    As many threads as :func:`orbat.workers.free_cpus` allows (at most two):
    one when every CPU is busy, and one inside a worker process of ``--jobs``.
    """
    threads = free_cpus(2)
    if threads < 2 or len(chunks) < 2:
        for first, last in chunks:
            work(first, last)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in [pool.submit(work, first, last) for first, last in chunks]:
            done.result()  # re-raises a worker's exception


class _Now:
    """What ``pool.submit(...)`` gives, computed at once: the planning thread when there is no CPU for it."""

    def __init__(self, fn, *args):
        self._value = fn(*args)

    def result(self):
        return self._value


def _accumulate(won: np.ndarray, mean: np.ndarray, conv: np.ndarray, score: np.ndarray,
                weight: np.ndarray, live: np.ndarray | None = None, squares: np.ndarray | None = None) -> None:
    """Add one chunk's scenarios to ``won`` (the winner's weight) and ``mean`` (weighted scores), per convoy.

    ``score`` is templates x scenarios, for the templates ``live`` (sorted,
    the first template among them; default all): the others score 0 on every
    scenario, so they add nothing and win none. A convoy's scenarios are
    contiguous, so its sums are contiguous runs (``reduceat``); a convoy
    split between two chunks gets one partial sum from each. ``squares``,
    when given, gets the weighted squared scores the same way.
    """
    n_t = won.shape[1]
    arg = _leader(score, axis=0)
    if live is not None:
        arg = live[arg]
    change = np.r_[True, conv[1:] != conv[:-1]]
    starts = np.flatnonzero(change)
    group = np.cumsum(change) - 1
    g = len(starts)
    who = conv[starts]  # distinct within a chunk
    won[who] += np.bincount(group * n_t + arg, weights=weight, minlength=g * n_t).reshape(g, n_t)
    targets = [(mean, score)]
    if squares is not None:  # weighted squared scores too (the spread of a batch's draws)
        targets.append((squares, score * score))
    for into, values in targets:
        values *= weight[None, :]
        if live is None or len(live) == n_t:
            into[who] += np.add.reduceat(values, starts, axis=1).T
        else:
            into[np.ix_(who, live)] += np.add.reduceat(values, starts, axis=1).T


#: Scores (0..1) within this share of the best are a tie, won by the template first in doctrine order:
#: last-bit noise of the arithmetic (~1e-16 relative) must not decide which template wins a scenario.
TIE = 1e-12


def _leader(score: np.ndarray, axis: int) -> np.ndarray:
    """Index of the best score along ``axis``: the first one within :data:`TIE` (relative) of the maximum."""
    top = score.max(axis=axis, keepdims=True)
    top *= 1.0 - TIE
    return (score >= top).argmax(axis=axis)


def _support_echelon(table: ConvoyTable, doctrine: Doctrine, ids: list[str], space: FeatureSpace,
                     codes, t: pd.DataFrame, tables: _Tables) -> np.ndarray:
    """Per convoy, the echelon rank its vehicles other than manoeuvre vehicles make on their own (-1: none).

    The floor for support units: an air-defence platoon stays at least a
    platoon when tanks join it, because adding vehicles to a convoy must
    never make it smaller. Only a template that really fits (score at least
    :data:`MIN_FIT`) counts.
    """
    out = np.full(len(table), -1, dtype=np.int64)
    if doctrine.ladder is None or not ids:
        return out
    manoeuvre = t["category"].isin(doctrine.ladder.of.category).to_numpy()
    keep = np.where(manoeuvre, 0, 1)
    counts = t["count"].to_numpy() * keep
    matrix = feature_matrix(codes, space, len(table), counts, t["carried"].to_numpy() * keep)
    # The same numbers as _score (fewer vehicles than the counts: within the tables' bounds).
    score = tables.score(tables.of(matrix), None if tables.matrix_free else matrix).T
    best = score.argmax(axis=1)
    fits = (score[np.arange(len(table)), best] >= MIN_FIT) & (matrix[:, space.index("total")] > 0)
    ranks = np.array([echelon_rank(doctrine.get(i).echelon) if doctrine.get(i).echelon else -1 for i in ids])
    return np.where(fits, ranks[best], out)


def _table_limit(convoys: int, samples: int) -> int:
    """Largest grid a rule is tabulated on: about a sixteenth of the count scenarios there may be.

    (A bigger grid costs more to fill than its lookups save; a rule over a
    bigger grid is evaluated directly, to the same numbers.)
    """
    return max(1 << 18, min(1 << 22, convoys * max(samples, 1) // 16))


def run_estimator(frame: pd.DataFrame, catalog: Catalog, doctrine: Doctrine | None = None, *,
                  samples: int = 200, seed: int = 0, convoys: list[str] | None = None,
                  reads: RuleReads | None = None) -> _Run:
    """Score every convoy of a canonical frame against every template (vectorised); see :func:`estimate_convoys`."""
    doctrine = doctrine or load_doctrine()
    table = aggregate_convoys(frame, catalog, convoys)
    ids = list(doctrine.templates)
    space = FeatureSpace.build(doctrine.families(), doctrine.types())
    codes = type_codes(table, space)
    t = table.types
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The count scenarios (draws, no doctrine) are made on the other CPU while this thread tabulates
        # the rules, scores the counts as seen and finds the support echelon (in a worker process of
        # --jobs, here first: the other CPUs are the other workers').
        planned = (_Now(_plan_scenarios, table, samples, seed) if on_one_thread()
                   else pool.submit(_plan_scenarios, table, samples, seed))
        matrix = feature_matrix(codes, space, len(table), t["count"].to_numpy(), t["carried"].to_numpy())
        features = Features(matrix, space.columns)
        # Every rule tabulated over the whole numbers it can read (up to the counts at count_max): the
        # point scores, the support echelon and every count scenario are looked up, with _score's numbers.
        upper = feature_matrix(codes, space, len(table), t["count_max"].to_numpy(), t["carried_max"].to_numpy())
        tables = _Tables(doctrine, ids, space, upper, limit=_table_limit(len(table), samples), reads=reads)
        point_quantities = tables.of(matrix)  # (scored here, and the low corner of each convoy's scenarios)
        point = np.ascontiguousarray(tables.score(point_quantities, None if tables.matrix_free else matrix).T)
        scores = _Scores(point, [None] * len(ids), doctrine, ids, features)
        ladder = np.maximum(doctrine.ladder_echelon(features),
                            _support_echelon(table, doctrine, ids, space, codes, t, tables))
        plan = planned.result()
    wins, mean, draws = _sample_wins(table, plan, tables, ids, space, codes, point, seed, matrix, point_quantities)
    # Which convoys' scenarios were drawn at random (the others: exact counts, or every scenario enumerated).
    drawn = np.zeros(len(table), dtype=bool)
    if plan is not None and len(ids):
        drawn[plan.targets[plan.sampled]] = True
    # The answer each template would give, a posterior over templates, and the grades' trust: the
    # winner and its answer's probability (orbat.confidence).
    ranks = np.array([echelon_rank(doctrine.get(i).echelon) if doctrine.get(i).echelon else -1 for i in ids],
                     dtype=np.int64)
    lowest = min((echelon_rank(e) for e in doctrine.ladder.echelons), default=0) if doctrine.ladder else 0
    answer = answer_echelons(mean, ranks, ladder, MIN_FIT, lowest)
    kinds = np.array([KINDS.index(doctrine.get(i).kind) for i in ids], dtype=np.int64)
    grades = table.grades or {}
    noise = evidence_noise(grades.get("misidentification", np.zeros(len(table))),
                           grades.get("count_error", np.zeros(len(table))))
    answers = combine(mean, answer, ranks, kinds, trust(noise))
    order, confidence = answers.order, answers.confidence
    totals = {k: v.to_numpy() for k, v in table.totals().items()}
    personnel = {k: v.to_numpy() for k, v in table.personnel().items()}
    return _Run(table, catalog, doctrine, ids, space, features, scores, wins, mean, samples, ladder,
                personnel, totals, order, confidence.round(3), answers, draws, drawn)


def estimate_convoys(frame: pd.DataFrame, catalog: Catalog, doctrine: Doctrine | None = None, *,
                     samples: int = 200, seed: int = 0, convoys: list[str] | None = None,
                     reads: RuleReads | None = None) -> list[ConvoyEstimate]:
    """Estimate every convoy of a canonical sightings frame, sorted by convoy key.

    ``doctrine`` defaults to :func:`orbat.doctrine.load_doctrine`. ``samples``
    draws of the count ranges (seeded with ``seed``) give each template's
    share of wins; the result is deterministic for the same input, whatever
    the row order. ``convoys`` restricts to those keys; :class:`UnknownConvoy`
    if one has no sighting or arrival rows. ``reads``: what the doctrine's
    rules read, found once for many blocks (:class:`RuleReads`; found here
    when not given, or not found for this doctrine): the same estimates.
    """
    run = run_estimator(frame, catalog, doctrine, samples=samples, seed=seed, convoys=convoys, reads=reads)
    if convoys is not None:
        missing = [c for c in convoys if c not in set(run.table.convoys)]
        if missing:
            known = run_known_convoys(frame)
            hint = f"; known convoys: {', '.join(known[:10])}" + (" ..." if len(known) > 10 else "") if known else ""
            raise UnknownConvoy(f"no sighting belongs to convoy {missing[0]!r}{hint}")
    with gc_paused():
        return [ConvoyEstimate(run, i) for i in range(len(run.table))]


def run_known_convoys(frame: pd.DataFrame) -> list[str]:
    """The convoy keys of a frame, sorted."""
    from orbat.convoy import convoy_keys

    return sorted(set(convoy_keys(frame).astype(str)))
