"""The ``vehicles`` pieces of a convoy's JSON, made a block of consecutive convoys at a time.

:class:`OutputBlock` holds, for convoys ``start..stop`` of a run, the
per-type rows, the sums by category and role and the merge notes, each
made in a few passes over whole columns (the run's
:meth:`orbat.estimate_result.RunOutput.output_block` makes and lets go of
them). Split from :mod:`orbat.estimate_result`, which reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orbat.convoy import UNKNOWN
from orbat.grouping import distinct, distinct_counts, distinct_inverse


def seen_arrays(table) -> dict[str, Any] | None:
    """The merge trace's columns (:attr:`orbat.convoy.ConvoyTable.seen`) of a run's ``table``, keyed for block-wise merge notes."""
    if table.seen is None:
        return None
    pair, sight, sight_names, lo, hi = table.seen
    names = [str(x) for x in np.asarray(sight_names, dtype=object).tolist()]
    t = table.types
    pair = np.asarray(pair, dtype=np.int64)
    type_convoy = t["code"].to_numpy(dtype=np.int64)
    # Category codes in name order: a (convoy, category) group's number sorts as the notes do.
    cat_codes, categories = pd.factorize(t["category"].to_numpy(dtype=object), sort=True)
    width = max(len(categories), 1)
    type_group = type_convoy * np.int64(width) + cat_codes.astype(np.int64)
    known = t["category"].to_numpy(dtype=object) != UNKNOWN
    seen_convoy = type_convoy[pair]
    seen_order = np.argsort(seen_convoy, kind="stable")
    type_order = np.argsort(type_convoy, kind="stable")
    sight = np.asarray(sight, dtype=np.int64)
    return {
        "pair": pair, "sight": sight, "sight_names": names,
        "lo": np.asarray(lo, dtype=np.int64), "hi": np.asarray(hi, dtype=np.int64),
        "sightings": int(sight.max()) + 1 if len(sight) else 1,
        "seen_order": seen_order, "seen_convoy": seen_convoy[seen_order],
        "seen_group": type_group[pair], "seen_known": known[pair],
        "type_order": type_order, "type_convoy": type_convoy[type_order], "type_group": type_group,
        "count": t["count"].to_numpy(dtype=np.float64), "count_max": t["count_max"].to_numpy(dtype=np.float64),
        "names": np.array([str(x) for x in t["name"].to_numpy(dtype=object).tolist()], dtype=object),
        "width": width, "categories": list(categories),
        # A sighting's place among the ids sorted as text (the order a note lists them in).
        "sight_rank": np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"), kind="stable"),
        "number_text": _number_text,
    }


#: Convoys whose JSON pieces (vehicles, merge notes) are made together and let go together.
OUTPUT_BLOCK = 2048


class OutputBlock:
    """The ``vehicles`` pieces of a block of consecutive convoys ``start..stop``, made in one pass over their types.

    ``by_type`` and ``unknown`` (lists of dicts, in the types' order),
    ``by_category`` (every category with vehicles, unknown included, by
    name), ``by_role`` (known roles with vehicles, by name), ``ranged``
    (whether a count of the convoy is a range) and ``merged`` (the merge
    notes: categories several sightings saw), each indexed from ``start``;
    :meth:`alternatives_of` the other templates.
    """

    __slots__ = ("start", "stop", "by_type", "unknown", "by_category", "by_role", "ranged", "merged",
                 "alternatives", "per_convoy")

    def __init__(self, run, start: int, stop: int):
        self.start, self.stop = start, stop
        n = stop - start
        a = run._type_arrays
        lo, hi = int(a["starts"][start]), int(a["starts"][stop])
        code = a["code"][lo:hi] - start
        unknown = a["category_unknown"][lo:hi]
        known = ~unknown
        # Each row's dict made in one pass over its columns, then each convoy's rows taken as one slice
        # (the rows are in convoy order): no per-row branching or appending.
        columns = [a[c][lo:hi][known].tolist() for c in ("equipment_id", "name", "category", "role", "count",
                                                            "count_max", "carried")]
        self.by_type = _per_convoy(code[known], n, [
            {"id": eid, "name": name, "category": category, "role": role, "count": count,
             "count_max": count_max, "carried": carried}
            for eid, name, category, role, count, count_max, carried in zip(*columns)])
        columns = [a[c][lo:hi][unknown].tolist() for c in ("name", "count", "count_max")]
        self.unknown = _per_convoy(code[unknown], n, [
            {"name": name, "count": count, "count_max": count_max} for name, count, count_max in zip(*columns)])
        count, count_max = a["count"][lo:hi], a["count_max"][lo:hi]
        if a["coded"]:  # the sums on whole columns
            self.by_category = _sums(code, a["category_code"][lo:hi], count, n, a["category_names"])
            role_known = a["role_known"][lo:hi]
            self.by_role = _sums(code[role_known], a["role_code"][lo:hi][role_known], count[role_known], n,
                                 a["role_names"])
            self.ranged = np.bincount(code[count_max > count], minlength=n).astype(bool).tolist()
        else:  # a category or role that is not text: summed row by row
            categories: list[dict] = [{} for _ in range(n)]
            roles: list[dict] = [{} for _ in range(n)]
            ranged = [False] * n
            columns = [x.tolist() for x in (code, a["category"][lo:hi], a["role"][lo:hi], count, count_max)]
            for code_, category, role, count_, count_max_ in zip(*columns):
                cats = categories[code_]
                cats[category] = cats.get(category, 0) + count_
                if role != UNKNOWN and count_:
                    r = roles[code_]
                    r[role] = r.get(role, 0) + count_
                if count_max_ > count_:
                    ranged[code_] = True
            self.by_category = [{k: v for k, v in sorted(c.items()) if v} if c else {} for c in categories]
            self.by_role = [dict(sorted(r.items())) if len(r) > 1 else r for r in roles]
            self.ranged = ranged
        self.merged = _merge_notes(run, start, stop)
        self.per_convoy, self.alternatives = _alternatives(run, start, stop)

    def known_categories(self, k: int) -> dict[str, int]:
        """Convoy ``start + k``'s vehicles per category, the unknown left out (a dict of its own).

        A copy and a pop: a third of the time of a loop filtering the items.
        """
        out = dict(self.by_category[k])
        out.pop(UNKNOWN, None)
        return out

    def alternatives_of(self, k: int) -> list[dict]:
        """Convoy ``start + k``'s alternatives (a list of its own; the dicts are the block's: read only)."""
        each = self.per_convoy
        return self.alternatives[k * each:(k + 1) * each]


def _alternatives(run, start: int, stop: int) -> tuple[int, list[dict]]:
    """How many alternatives a convoy has, and those of convoys ``start..stop``, convoy after convoy.

    Made in one pass over the block's slice of the run's flat columns
    (:attr:`orbat.estimate_result.RunOutput.alternative_columns`): a zip of
    five lists of five per convoy, and those lists, cost more than the dicts
    (10,000 convoys' alternatives took 0.054 s that way, 0.034 s this way).
    """
    each, which, means, wins, chances, sames = run.alternative_columns
    lo, hi = start * each, stop * each
    heads = run.template_heads
    ids, labels = [h[0] for h in heads], [h[1] for h in heads]
    which = which[lo:hi]
    # "probability": the chance this template is the unit (all templates' add up to at most 1);
    # one giving the best's echelon and kind ("same_answer") is already counted in the best's confidence.
    return each, [{"template": template, "label": label, "score": score, "wins": won, "probability": chance,
                   "same_answer": same}
                  for template, label, score, won, chance, same in zip(
                      map(ids.__getitem__, which), map(labels.__getitem__, which), means[lo:hi], wins[lo:hi],
                      chances[lo:hi], sames[lo:hi])]


def _per_convoy(code: np.ndarray, n: int, items: list) -> list[list]:
    """``items`` (one per row, rows sorted by convoy ``code`` 0..n) as one list per convoy."""
    bounds = np.searchsorted(code, np.arange(n + 1)).tolist()
    return [items[i:j] for i, j in zip(bounds, bounds[1:])]


def _sums(convoy: np.ndarray, code: np.ndarray, count: np.ndarray, n: int, names: list[str]) -> list[dict[str, int]]:
    """Per convoy ``0..n``, the vehicles of each coded name (codes in name order), the names with none left out."""
    out: list[dict[str, int]] = [{} for _ in range(n)]
    width = max(len(names), 1)
    sums = np.bincount(convoy * width + code, weights=count, minlength=n * width)
    cells = np.flatnonzero(sums)  # in convoy, then name order: each dict is made sorted by name
    for cell, total in zip(cells.tolist(), sums[cells].astype(np.int64).tolist()):
        out[cell // width][names[cell % width]] = total
    return out


def _number_text(values: np.ndarray) -> np.ndarray:
    """Whole numbers as an object array of their texts (each distinct number written once)."""
    if not len(values):
        return np.empty(0, dtype=object)
    values, codes = distinct_inverse(values)
    return np.array([str(v) for v in values.tolist()], dtype=object)[codes]


def _merge_notes(run, start: int, stop: int) -> list[list[dict]]:
    """Per convoy ``start..stop``, each category several sightings saw: its merged figure and which sighting set it.

    The same notes as :meth:`orbat.convoy.ConvoyTable.merge_notes`, made a
    block of convoys at a time: the (convoy, category) pairs only one
    sighting saw, most of them, are found on whole columns and skipped
    before any per-row Python.
    """
    out: list[list[dict]] = [[] for _ in range(stop - start)]
    a = run._seen_arrays
    if a is None:
        return out
    first, last = np.searchsorted(a["seen_convoy"], [start, stop])
    rows = a["seen_order"][first:last]
    rows = rows[a["seen_known"][rows]]
    if not len(rows):
        return out
    group, sighting = a["seen_group"][rows], a["sight"][rows]
    # Distinct sightings per (convoy, category): only a pair two or more saw was merged.
    pairs = distinct(group * np.int64(a["sightings"] + 1) + sighting)
    seen_by, counts = distinct_counts(pairs // np.int64(a["sightings"] + 1))
    merged = seen_by[counts >= 2]
    if not len(merged):
        return out
    keep = np.isin(group, merged)
    rows, group, sighting = rows[keep], group[keep], sighting[keep]
    # Each merged pair's figure: the sum over the convoy's types in that category.
    t_first, t_last = np.searchsorted(a["type_convoy"], [start, stop])
    t_rows = a["type_order"][t_first:t_last]
    t_group = a["type_group"][t_rows]
    at = np.minimum(np.searchsorted(merged, t_group), len(merged) - 1)
    hit = merged[at] == t_group
    sums = [np.bincount(at[hit], weights=a[c][t_rows][hit], minlength=len(merged)).astype(np.int64).tolist()
            for c in ("count", "count_max")]
    width, categories = a["width"], a["categories"]
    # The rows by pair, then sighting id (a note lists its sightings by id), the file's order within.
    order = np.lexsort((a["sight_rank"][sighting], group))
    rows, group, sighting = rows[order], group[order], sighting[order]
    low, high = a["lo"][rows], a["hi"][rows]
    # What each row said ("T-72B3 6-7"), made on whole columns (object arrays add strings elementwise).
    number = a["number_text"]
    said = a["names"][a["pair"][rows]] + " " + number(low)
    ranged = high > low
    said[ranged] = said[ranged] + "-" + number(high[ranged])
    # Runs of one sighting within a pair: its rows' vehicles and what it said, joined.
    starts = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (sighting[1:] != sighting[:-1])])
    run_low, run_high = np.add.reduceat(low, starts), np.add.reduceat(high, starts)
    run_group = group[starts]
    said_list = said.tolist()
    ends = np.r_[starts[1:], len(rows)].tolist()
    texts = [", ".join(said_list[i:j]) if j - i > 1 else said_list[i] for i, j in zip(starts.tolist(), ends)]
    ids = np.asarray(a["sight_names"], dtype=object)[sighting[starts]]
    # Per pair: the runs setting the figure (the most vehicles seen), and the most any sighting could be.
    firsts = np.flatnonzero(np.r_[True, run_group[1:] != run_group[:-1]])
    top = np.maximum.reduceat(run_low, firsts)
    most = np.maximum.reduceat(run_high, firsts).tolist()
    is_top = (run_low == np.repeat(top, np.diff(np.r_[firsts, len(run_group)]))).tolist()
    ids_list = ids.tolist()
    run_ends = np.r_[firsts[1:], len(run_group)].tolist()
    # ``merged`` is sorted by convoy, then category name (the codes are in name order), as the runs are.
    for k, (g, i, j) in enumerate(zip(merged.tolist(), firsts.tolist(), run_ends)):
        count, count_max = sums[0][k], sums[1][k]
        category = categories[g % width]
        figure = f"{count}-{count_max}" if count_max > count else f"{count}"
        set_by, setting, others = [], [], []
        for r in range(i, j):
            if is_top[r]:
                set_by.append(ids_list[r])
                setting.append(f"{ids_list[r]}, {texts[r]}")
            else:
                others.append(f"{ids_list[r]}'s {texts[r]}")
        reason = f"{category} {figure}: " + "; ".join(setting)
        if others:
            reason += "; " + ", ".join(others) + " are the same vehicles"
        if count_max > most[k]:
            reason += f" (up to {count_max} if the names are all right and the sightings saw different vehicles)"
        out[g // width - start].append({"category": category, "count": count, "count_max": count_max,
                                        "set_by": set_by, "reason": reason})
    return out
