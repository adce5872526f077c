"""Confidence as a probability: how the rules' scores and the observation model combine.

For every convoy and template the estimator has a score in 0..1 (the rules'
weighted mean, averaged over the count scenarios). Three steps turn those
scores into the probability that the answer is right:

1. **The answer each template would give.** A template's answer is its kind
   and its echelon, raised to what the convoy's manoeuvre vehicles fill on
   the ladder (and to what its support vehicles make on their own); a
   template that does not really fit (score below ``MIN_FIT``) gives the
   ladder's echelon. A template whose answer is not its own echelon (the
   evidence is clearly bigger, or it does not fit) is *inconsistent*: its
   score counts at :data:`INCONSISTENT` of its value, so it wins only when
   nothing consistent fits, and "tank platoon, battalion" stays rare. A
   template scoring 0 (a required rule failed outright) is ruled out and
   gives no answer at all: the ladder's echelon is not *its* answer.
2. **A posterior over templates.** ``p_j = exp(s_j / T) / (exp(s_0 / T) + sum_k exp(s_k / T))``
   with temperature :data:`TEMPERATURE`; ``s_0`` (:data:`NONE_SCORE`) is
   "none of the templates", so a convoy that nothing fits well gets a low
   probability however far its best template leads the others. A
   ruled-out template (score 0) has ``p_j = 0``.
3. **The sources' grades.** The answer's probability is the posterior mass
   of every template giving the same answer (an IFV company and an APC
   company are both "combat, company"; a ruled-out template never is,
   the winner itself always), times the trust the grades allow
   (:func:`orbat.observation.trust`: 1 for perfect sources, lower the
   noisier they are). Worse grades never raise it.

The three constants are fitted with ``orbat doctrine calibrate`` on
perturbed doctrinal cases; they are data, not per-case tuning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Softmax temperature over template scores: a lead of 0.1 in score is worth this many e-folds.
TEMPERATURE = 0.1
#: The score of "none of the templates": a best score at this level is a coin toss with "none".
#: (0.3 until ruled-out templates, scoring 0, lost their share of the posterior; refitted then.)
NONE_SCORE = 0.35
#: An inconsistent template's score counts at this share (see step 1).
INCONSISTENT = 0.2


@dataclass
class Answers:
    """Per convoy: the winning template, its answer's echelon rank, and the answer's probability."""

    order: np.ndarray  # convoys x templates, best first
    probability: np.ndarray  # convoys x templates: each template's posterior times trust
    echelon: np.ndarray  # convoys: the winner's answer echelon (rank)
    confidence: np.ndarray  # convoys: probability that the winner's echelon and kind are right
    same_answer: np.ndarray  # convoys x templates: gives the winner's echelon and kind (never one scoring 0)


def answer_echelons(mean: np.ndarray, ranks: np.ndarray, floor: np.ndarray, min_fit: float,
                    lowest: int) -> np.ndarray:
    """Convoys x templates: the echelon rank each template's answer would have.

    ``ranks`` per template (-1: none, the ladder decides), ``floor`` per
    convoy (the ladder and support floor, -1 below it), ``lowest`` the
    ladder's smallest echelon (when nothing else gives one).
    """
    trusted = (ranks[None, :] >= 0) & (mean >= min_fit)
    out = np.maximum(np.where(trusted, ranks[None, :], -1), floor[:, None])
    return np.where(out < 0, lowest, out)


def combine(mean: np.ndarray, answer: np.ndarray, ranks: np.ndarray, kinds: np.ndarray,
            trust: np.ndarray) -> Answers:
    """Rank templates and give each convoy's answer its probability (see the module docstring).

    ``mean`` convoys x templates scores, ``answer`` their answer echelons
    (:func:`answer_echelons`), ``ranks`` and ``kinds`` (integer codes) per
    template, ``trust`` per convoy.
    """
    n, n_t = mean.shape
    if n_t == 0:
        empty = np.zeros((n, 0))
        return Answers(np.zeros((n, 0), dtype=np.int64), empty, np.zeros(n, dtype=np.int64), np.zeros(n),
                       np.zeros((n, 0), dtype=bool))
    consistent = (ranks[None, :] < 0) | (answer == ranks[None, :])
    fit = np.where(consistent, mean, mean * INCONSISTENT)
    top = np.maximum(fit.max(axis=1, keepdims=True), NONE_SCORE)
    # A template scoring 0 failed a required rule outright: ruled out, it has no probability (its softmax
    # share, exp(-top / T) for each of some 30 such templates, outweighed "none" and propped up the ladder's answer).
    weights = np.where(mean > 0, np.exp((fit - top) / TEMPERATURE), 0.0)
    total = weights.sum(axis=1, keepdims=True) + np.exp((NONE_SCORE - top) / TEMPERATURE)
    posterior = weights / total
    # Best first: the higher posterior (rounded, so near-ties go to doctrine order), then doctrine order.
    order = np.argsort(-np.round(posterior, 12), axis=1, kind="stable")
    rows = np.arange(n)
    best = order[:, 0]
    # A ruled-out template gives no answer, so it is never "the same answer"; the winner always is (it is the
    # answer, even when every template is ruled out and the confidence is 0).
    same = (answer == answer[rows, best][:, None]) & (kinds[None, :] == kinds[best][:, None])
    same &= (mean > 0) | (np.arange(n_t)[None, :] == best[:, None])
    trust = np.asarray(trust, dtype=np.float64)
    confidence = np.clip((posterior * same).sum(axis=1) * trust, 0.0, 1.0)
    return Answers(order, posterior * trust[:, None], answer[rows, best], confidence, same)


def fit_note(best: dict) -> str | None:
    """What a reader must be told when no template fits a convoy (``best`` of the JSON), or None when one does.

    The estimate then still names a template (the panels and the JSON always
    have one), but its echelon is the ladder's, not the template's; when
    every template is ruled out (score 0) the template, and so the kind, is
    only the first in doctrine order, and the confidence says 0.
    """
    from orbat.estimate import MIN_FIT  # (orbat.estimate imports this module)

    if best.get("fits", True):
        return None
    if not best.get("score"):
        return (f"no template fits: every one fails a required rule (score 0); {best['label']} is only the "
                f"first in doctrine order, {best['echelon']} only what the vehicles fill on the ladder")
    return (f"no template really fits (best score {best['score']}, below {MIN_FIT}): {best['echelon']} is what "
            "the vehicles fill on the ladder, not the template's echelon")
