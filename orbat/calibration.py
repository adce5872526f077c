"""Calibration: does the estimator's confidence mean what it says on doctrine's own units?

Pure analysis, no I/O. For every template, cases are drawn from its
``typical`` composition under the observation model (:mod:`orbat.observation`):
the unit as its template has it, seen by 1-3 sources with random Admiralty
grades, each detecting 70-100 % of the vehicles, naming each row at type,
family or category level, misidentifying some vehicles (by reliability),
miscounting (by credibility) and giving about 30 % of the counts as ranges.
All cases are estimated in one run. An answer is right when its echelon and
kind are the template's (a template without an echelon: what its typical
composition fills on the ladder).

Reported: accuracy, expected calibration error (ECE, 10 equal-width bins of
confidence: the mean of |accuracy - confidence| weighted by the bin's
share), the Brier score (mean squared difference between confidence and
being right), how often answers given with confidence >= 0.9 are right, and a
reliability table per template and overall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from orbat.catalog import Catalog
from orbat.convoy import naming_levels
from orbat.doctrine import ECHELONS, Doctrine, echelon_rank
from orbat.observation import CONFUSABLE, COUNT_ERROR, MIN_DETECTION, MISIDENTIFICATION
from orbat.sightings import CANONICAL_COLUMNS

#: Confidence bins of the reliability table and the ECE.
BINS = 10
#: Admiralty grades drawn for a case's sources, and how often (most OSINT sources are B-C, 2-3).
RELIABILITY_DRAW = (("A", 0.05), ("B", 0.3), ("C", 0.35), ("D", 0.1), ("E", 0.05), ("F", 0.15))
CREDIBILITY_DRAW = ((1, 0.05), (2, 0.3), (3, 0.35), (4, 0.1), (5, 0.05), (6, 0.15))
#: The observation model's ranges (see the module docstring).
DETECTION = (MIN_DETECTION, 1.0)
SIGHTINGS = (1, 3)
RANGE_SHARE = 0.3


@dataclass
class Calibration:
    """The calibration figures of a doctrine (see the module docstring)."""

    cases: int
    accuracy: float
    ece: float
    brier: float
    sure: int  # answers with confidence >= 0.9
    sure_accuracy: float
    reliability: list[dict]  # per bin: lo, hi, cases, confidence (mean), accuracy
    templates: list[dict] = field(default_factory=list)  # per template: cases, accuracy, confidence, ece, brier, confused

    def to_dict(self) -> dict:
        return {
            "cases": self.cases, "accuracy": round(self.accuracy, 4), "ece": round(self.ece, 4),
            "brier": round(self.brier, 4), "sure": self.sure, "sure_accuracy": round(self.sure_accuracy, 4),
            "reliability": self.reliability, "templates": self.templates,
        }


def draw_cases(doctrine: Doctrine, catalog: Catalog, cases: int = 200, seed: int = 0,
               templates: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``cases`` perturbed cases per template as one canonical sightings frame, and the truth per convoy.

    The truth frame has ``convoy``, ``template``, ``echelon`` and ``kind``.
    Drawn from ``numpy.random.default_rng(seed)``: the same seed gives the same cases.
    """
    rng = np.random.default_rng(seed)
    names = _names_by_level(catalog)
    rows: list[tuple] = []
    truth = []
    for tid in templates or list(doctrine.templates):
        template = doctrine.get(tid)
        echelon = template.echelon or _ladder_echelon(doctrine, template.typical)
        for i in range(cases):
            convoy = f"{tid}#{i:04d}"
            truth.append((convoy, tid, echelon, template.kind))
            rows += _one_case(rng, convoy, template.typical, template.typical_carried, names)
    frame = pd.DataFrame(rows, columns=["sighting_id", "convoy", "equipment", "equipment_id", "count", "count_max",
                                        "mode", "reliability", "credibility"])
    return _canonical(frame), pd.DataFrame(truth, columns=["convoy", "template", "echelon", "kind"])


def _one_case(rng, convoy: str, typical: dict[str, int], carried: dict[str, int], names) -> list[tuple]:
    unit = dict(typical)
    # The case's vehicles of each category are one type (the same vehicles, however they are named).
    types = {cat: options[int(rng.integers(len(options)))] for cat, options in names.items()}
    out = []
    for s in range(int(rng.integers(SIGHTINGS[0], SIGHTINGS[1] + 1))):
        rel = _pick(rng, RELIABILITY_DRAW)
        cred = _pick(rng, CREDIBILITY_DRAW)
        detection = rng.uniform(*DETECTION)
        seen: dict[tuple[str, bool], int] = {}
        for cat, n in unit.items():
            n_carried = min(n, carried.get(cat, 0))
            for is_carried, m in ((True, n_carried), (False, n - n_carried)):
                k = int(rng.binomial(m, detection)) if m else 0
                wrong = int(rng.binomial(k, MISIDENTIFICATION[rel])) if k else 0
                if wrong and CONFUSABLE.get(cat):
                    for _ in range(wrong):
                        other = CONFUSABLE[cat][int(rng.integers(len(CONFUSABLE[cat])))]
                        seen[(other, is_carried)] = seen.get((other, is_carried), 0) + 1
                    k -= wrong
                if k:
                    seen[(cat, is_carried)] = seen.get((cat, is_carried), 0) + k
        for (cat, is_carried), k in sorted(seen.items()):
            written = max(0, int(round(k * (1.0 + rng.normal(0.0, COUNT_ERROR[cred])))))
            if not written or cat not in names:
                continue
            lo = hi = written
            if rng.random() < RANGE_SHARE:
                lo = int(np.floor(written * rng.uniform(0.75, 1.0)))
                hi = max(lo, int(np.ceil(written * rng.uniform(1.0, 1.3))))
            entry_id, name = _name(rng, types[cat])
            out.append((f"{convoy}/s{s}", convoy, name, entry_id, lo, hi if hi > lo else None,
                        "carried" if is_carried else "driven", rel if rel != "F" or rng.random() < 0.5 else None,
                        cred))
    return out


def _pick(rng, table):
    values, weights = zip(*table)
    return values[int(rng.choice(len(values), p=np.array(weights) / sum(weights)))]


def _names_by_level(catalog: Catalog) -> dict[str, list[list[tuple[str, str]]]]:
    """Per category, per specific type, the names of that type at type, family and category level.

    ``{category: [[(id, name) of the type, of its family-level entry, of a generic entry], ...]}``
    (a level the catalog lacks is left out). One case's vehicles of a category are one type, which
    the sources name at whatever level they can.
    """
    levels = naming_levels(catalog)
    family_entry: dict[tuple[str, str], tuple[str, str]] = {}
    generic: dict[str, list[tuple[str, str]]] = {}
    for e in catalog.entries.values():
        if levels[e.id] == 1:
            family_entry.setdefault((e.category, e.family), (e.id, e.name))
        elif levels[e.id] == 2:
            generic.setdefault(e.category, []).append((e.id, e.name))
    out: dict[str, list[list[tuple[str, str]]]] = {}
    for e in catalog.entries.values():
        if levels[e.id] != 0:
            continue
        names = [(e.id, e.name)]
        if (e.category, e.family) in family_entry:
            names.append(family_entry[(e.category, e.family)])
        names += generic.get(e.category, [])[:1]
        out.setdefault(e.category, []).append(names)
    for cat, entries in generic.items():  # a category with only generic entries
        out.setdefault(cat, [[entries[0]]])
    return out


def _name(rng, levels: list[tuple[str, str]]) -> tuple[str, str]:
    return levels[int(rng.integers(len(levels)))]


def _ladder_echelon(doctrine: Doctrine, typical: dict[str, int]) -> str:
    ladder = doctrine.ladder
    if ladder is None:
        return ECHELONS[0]
    n = sum(v for c, v in typical.items() if c in ladder.of.category)
    rank = min(echelon_rank(e) for e in ladder.echelons)
    for echelon, threshold in ladder.echelons.items():
        if n >= threshold:
            rank = max(rank, echelon_rank(echelon))
    return ECHELONS[rank]


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    n = len(frame)
    out = pd.DataFrame({
        "sighting_id": frame["sighting_id"].astype(object), "convoy": frame["convoy"].astype(object),
        "observed_at": ["2025-01-01"] * n, "place": [None] * n,
        "lat": np.full(n, np.nan), "lon": np.full(n, np.nan), "actor": [None] * n,
        "equipment": frame["equipment"].astype(object), "equipment_id": frame["equipment_id"].astype(object),
        "count": frame["count"].astype("int64"),
        "count_max": pd.array([None if v is None or v != v else int(v) for v in frame["count_max"]], dtype="Int64"),
        "mode": frame["mode"].astype(object), "source": [None] * n,
        "reliability": frame["reliability"].astype(object),
        "credibility": pd.array(frame["credibility"].tolist(), dtype="Int64"),
        "notes": [None] * n, "event": ["sighting"] * n, "captor": [None] * n,
    })
    for extra in CANONICAL_COLUMNS:
        if extra not in out:
            out[extra] = None
    return out[list(CANONICAL_COLUMNS)]


def score_answers(confidence: np.ndarray, right: np.ndarray, bins: int = BINS) -> dict:
    """Accuracy, ECE over ``bins`` equal-width bins, Brier score and the reliability table of some answers."""
    confidence = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(right, dtype=bool)
    n = len(confidence)
    if n == 0:
        return {"accuracy": 0.0, "ece": 0.0, "brier": 0.0, "reliability": []}
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        k = int(mask.sum())
        if not k:
            continue
        conf, acc = float(confidence[mask].mean()), float(right[mask].mean())
        ece += k / n * abs(acc - conf)
        table.append({"lo": b / bins, "hi": (b + 1) / bins, "cases": k, "confidence": round(conf, 4),
                      "accuracy": round(acc, 4)})
    return {"accuracy": float(right.mean()), "ece": float(ece),
            "brier": float(np.mean((confidence - right) ** 2)), "reliability": table}


def calibrate(doctrine: Doctrine, catalog: Catalog, cases: int = 200, seed: int = 0, samples: int = 200,
              templates: list[str] | None = None) -> Calibration:
    """Draw ``cases`` perturbed cases per template, estimate them all, and score the confidence (see the module)."""
    from orbat.estimate import run_estimator

    frame, truth = draw_cases(doctrine, catalog, cases, seed, templates)
    run = run_estimator(frame, catalog, doctrine, samples=samples, seed=seed)
    answers = run.answer_table()
    got = truth.merge(answers, on="convoy", how="left")
    # A case whose every vehicle was missed has no convoy to estimate: it counts as a wrong answer.
    got["confidence"] = got["confidence"].fillna(0.0)
    right = ((got["echelon_got"] == got["echelon"]) & (got["kind_got"] == got["kind"])).to_numpy()
    conf = got["confidence"].to_numpy(dtype=np.float64)
    overall = score_answers(conf, right)
    sure = conf >= 0.9
    per_template = []
    for tid, part in got.groupby("template", sort=False):
        mask = (got["template"] == tid).to_numpy()
        figures = score_answers(conf[mask], right[mask])
        wrong = part[~right[mask]]
        confused = (wrong["template_got"].fillna("(nothing seen)") + " (" + wrong["echelon_got"].fillna("-") + ", "
                    + wrong["kind_got"].fillna("-") + ")").value_counts().head(3)
        template = doctrine.get(tid)
        fills = _ladder_echelon(doctrine, template.typical)
        warning = None
        if template.echelon and echelon_rank(fills) > echelon_rank(template.echelon):
            # The ladder is a floor: such a template's own echelon can never be the answer.
            warning = (f"its typical composition fills a {fills} on the ladder, above its echelon "
                       f"{template.echelon}: the estimator reports at least a {fills} for it")
        per_template.append({
            "template": tid, "warning": warning, "cases": int(mask.sum()), "accuracy": round(figures["accuracy"], 4),
            "confidence": round(float(conf[mask].mean()), 4), "ece": round(figures["ece"], 4),
            "brier": round(figures["brier"], 4),
            "confused_with": [{"answer": k, "cases": int(v)} for k, v in confused.items()],
        })
    return Calibration(
        cases=len(got), accuracy=overall["accuracy"], ece=overall["ece"], brier=overall["brier"],
        sure=int(sure.sum()), sure_accuracy=float(right[sure].mean()) if sure.any() else 1.0,
        reliability=overall["reliability"], templates=per_template,
    )
