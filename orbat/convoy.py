"""Convoy aggregation: many sightings of one convoy become one count per equipment type.

Sightings that share a ``convoy`` (see :func:`convoy_keys`) are
the same vehicles seen again, from another angle or a little later. So per
equipment type the convoy holds the **maximum** over its sightings, never the
sum. Count ranges carry through: ``count`` is merged by max, and the upper
bound by max of ``count_max`` (or ``count`` where ``count_max`` is NA, which
means the count was exact).

Only ``sighting`` and ``arrival`` rows describe a convoy. Loss rows
(destroyed, damaged, abandoned, captured) are the inventory's business: they
are left out of the counts and only counted, per convoy, in
``ConvoyTable.loss_rows`` so that an estimate can say it ignored them.

Everything here is vectorised over all convoys at once (groupby, bincount):
the estimator evaluates its rules on whole columns of the feature matrix this
module builds, never in a Python loop per convoy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from orbat.catalog import CATEGORIES, ROLES, Catalog
from orbat.grouping import distinct
from orbat.observation import DECOY, as_possible, count_error, decoy_rows, misidentification, tag_codes

#: Events whose rows describe the vehicles of a convoy.
CONVOY_EVENTS: tuple[str, ...] = ("sighting", "arrival")

#: Category of a vehicle whose name did not resolve to a catalog entry.
UNKNOWN = "unknown"

#: Per-type columns of :attr:`ConvoyTable.types`.
TYPE_COLUMNS: tuple[str, ...] = (
    "convoy", "equipment_key", "equipment_id", "name", "family", "category", "role",
    "armoured", "crew", "passengers", "count", "count_max", "carried", "carried_max",
)


@dataclass
class ConvoyTable:
    """The max-merged vehicles of every convoy in a sightings frame.

    ``convoys`` is the sorted list of convoy keys; ``types`` holds one row per
    convoy x equipment type (columns :data:`TYPE_COLUMNS`, ``code`` is the
    convoy's position in ``convoys``). Unresolved names keep their written
    name, an ``equipment_id`` of NA and the category/role ``unknown``.

    ``sightings`` and ``notes`` (per convoy, its sorted distinct sighting ids
    and non-blank notes) are built on first use from ``lists``: scoring
    never reads them, only the assembly of a convoy's result does.
    """

    convoys: list[str]
    types: pd.DataFrame
    loss_rows: dict[str, int] = field(default_factory=dict)
    lists: Callable[[], tuple[dict[str, list[str]], dict[str, list[str]]]] | None = field(default=None, repr=False)
    #: Per (convoy x type row, sighting): the row, sighting code, sighting ids, count, count_max (for the merge trace).
    seen: tuple | None = field(default=None, repr=False)
    #: Per convoy (in ``convoys`` order): ``misidentification`` and ``count_error``, its rows' mean grade noise.
    grades: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: Builds, per convoy, its tagged vehicles (``tag``, ``category``, ``vehicles``, ``of``, ``text``).
    tag_counts: Callable[[], dict[str, list[dict]]] | None = field(default=None, repr=False)

    @cached_property
    def tags(self) -> dict[str, list[dict]]:
        """Per convoy, its tagged vehicles by tag and category (``cope cage on 6 of 7 tank``); {} without tags."""
        return self.tag_counts() if self.tag_counts is not None else {}

    @cached_property
    def _lists(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        return self.lists() if self.lists is not None else ({}, {})

    @property
    def sightings(self) -> dict[str, list[str]]:
        """``{convoy: sorted distinct sighting ids}``."""
        return self._lists[0]

    @property
    def notes(self) -> dict[str, list[str]]:
        """``{convoy: sorted distinct non-blank notes}``."""
        return self._lists[1]

    def __len__(self) -> int:
        return len(self.convoys)

    @cached_property
    def _merge_notes(self) -> dict[str, list[dict]]:
        if self.seen is None:
            return {}
        pair, sight, sight_names, lo, hi = self.seen
        t = self.types
        code = t["code"].to_numpy()
        cats = t["category"].to_numpy(dtype=object)
        names = t["name"].to_numpy(dtype=object)
        m_lo, m_hi = t["count"].to_numpy(), t["count_max"].to_numpy()
        # Per convoy x category: each sighting's rows in it.
        groups: dict[tuple[int, str], dict[int, list[tuple[str, int, int]]]] = {}
        for p, s, a, b in zip(pair.tolist(), sight.tolist(), lo.tolist(), hi.tolist()):
            if cats[p] == UNKNOWN:
                continue
            groups.setdefault((int(code[p]), str(cats[p])), {}).setdefault(s, []).append((str(names[p]), a, b))
        merged: dict[tuple[int, str], list[int]] = {}
        for c, cat, a, b in zip(code.tolist(), cats.tolist(), m_lo.tolist(), m_hi.tolist()):
            total = merged.setdefault((c, str(cat)), [0, 0])
            total[0] += a
            total[1] += b
        out: dict[str, list[dict]] = {}
        for (c, cat), by_sighting in sorted(groups.items()):
            if len(by_sighting) < 2:
                continue  # one sighting's figure is its own: nothing was merged
            count, count_max = merged[(c, cat)]
            seen_lo = {s: sum(x[1] for x in rows) for s, rows in by_sighting.items()}
            top = max(seen_lo.values())
            set_by = sorted(str(sight_names[s]) for s, n in seen_lo.items() if n == top)

            def said(s):
                return ", ".join(f"{n} {a}" + (f"-{b}" if b > a else "") for n, a, b in by_sighting[s])

            others = [f"{sight_names[s]}'s {said(s)}" for s in sorted(by_sighting, key=lambda x: str(sight_names[x]))
                      if str(sight_names[s]) not in set_by]
            figure = f"{count}" + (f"-{count_max}" if count_max > count else "")
            reason = f"{cat} {figure}: " + "; ".join(f"{name}, {said(s)}" for name, s in
                                                     sorted((str(sight_names[s]), s) for s, n in seen_lo.items() if n == top))
            if others:
                reason += "; " + ", ".join(others) + " are the same vehicles"
            if count_max > max(sum(x[2] for x in rows) for rows in by_sighting.values()):
                reason += f" (up to {count_max} if the names are all right and the sightings saw different vehicles)"
            out.setdefault(self.convoys[c], []).append(
                {"category": cat, "count": count, "count_max": count_max, "set_by": set_by, "reason": reason})
        return out

    def merge_notes(self) -> dict[str, list[dict]]:
        """Per convoy, each category that several sightings saw: its merged figure and which sighting set it.

        ``{"category", "count", "count_max", "set_by": [sighting ids], "reason"}``;
        the reason reads like ``tank 7: bmpd, T-72B3 7; video's T-72 6-7 are the same vehicles``.
        """
        return self._merge_notes

    def totals(self) -> pd.DataFrame:
        """Per convoy: total, total_max, armoured, carried, unknown (vehicle counts), indexed by convoy key."""
        t = self.types
        count, count_max = t["count"].to_numpy(dtype=np.int64), t["count_max"].to_numpy(dtype=np.int64)
        armoured = t["armoured"].to_numpy(dtype=bool)
        unknown = (t["category"].to_numpy(dtype=object) == UNKNOWN)
        return self._sums({
            "total": count,
            "total_max": count_max,
            "armoured": np.where(armoured, count, 0),
            "armoured_max": np.where(armoured, count_max, 0),
            "carried": t["carried"].to_numpy(dtype=np.int64),
            "unknown": np.where(unknown, count, 0),
        })

    def _sums(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        """Per convoy (indexed by key), the sum of each per-type column (whole numbers, int64)."""
        code = self.types["code"].to_numpy(dtype=np.int64)
        n = len(self.convoys)
        # bincount adds in float64: exact for vehicle and personnel counts (far below 2**53).
        return pd.DataFrame({name: np.bincount(code, weights=values, minlength=n).astype(np.int64)
                             for name, values in columns.items()},
                            index=pd.Index(self.convoys, name="convoy"))

    def pivot(self, by: str, column: str = "count") -> pd.DataFrame:
        """A convoy x ``by`` (category, role, family, equipment_key) matrix of ``column`` counts."""
        table = self.types.pivot_table(index="convoy", columns=by, values=column, aggfunc="sum", fill_value=0)
        return table.reindex(self.convoys, fill_value=0)

    def personnel(self) -> pd.DataFrame:
        """People per convoy: ``min`` from crews of driven vehicles, ``max`` adding dismounts and ranges.

        A carried vehicle (on a transporter) adds nobody to the minimum: its
        crew may or may not travel with it, so it only counts in the maximum.
        """
        t = self.types
        crew = t["crew"].to_numpy(dtype=np.int64)
        driven = t["count"].to_numpy(dtype=np.int64) - t["carried"].to_numpy(dtype=np.int64)
        return self._sums({
            "min": driven * crew,
            "max": t["count_max"].to_numpy(dtype=np.int64) * (crew + t["passengers"].to_numpy(dtype=np.int64)),
        })


def aggregate_convoys(frame: pd.DataFrame, catalog: Catalog, convoys: Iterable[str] | None = None) -> ConvoyTable:
    """Max-merge a canonical sightings frame into one count per convoy x equipment type.

    ``convoys`` restricts the result to those convoy keys (in that order is
    not promised: convoys are always sorted). Rows whose ``equipment_id`` is
    NA or not in ``catalog`` are kept under their written name as unknown.

    Every string column is coded once (``pd.factorize``) and the few distinct
    values are looked at in Python, never every row: the per-row work is on
    integer codes.
    """
    convoy = _convoy_array(frame)
    keep = np.ones(len(frame), dtype=bool)
    if convoys is not None:
        keep &= pd.Series(convoy, dtype=object).isin(set(convoys)).to_numpy()
    e_codes_all, e_uniques_all = pd.factorize(frame["event"].to_numpy(dtype=object))
    describes = np.array([u in CONVOY_EVENTS for u in e_uniques_all] + [True], dtype=bool)  # (NA: a sighting)
    is_convoy_row = describes[e_codes_all]
    losses = pd.Series(convoy[keep & ~is_convoy_row], dtype=object).value_counts()
    take = np.flatnonzero(keep & is_convoy_row)

    conv = convoy[take]
    sid = frame["sighting_id"].astype("object").astype(str).to_numpy(dtype=object)[take]
    equipment = frame["equipment"].to_numpy(dtype=object)[take]
    equipment_id = frame["equipment_id"].to_numpy(dtype=object)[take]
    count = pd.to_numeric(frame["count"]).astype("int64").to_numpy()[take]
    count_max = pd.to_numeric(frame["count_max"]).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)[take]
    carried_rows = (frame["mode"].to_numpy(dtype=object) == "carried")[take]

    # The key of each row: its catalog id, or "?" + its stripped written name when it has none (or one
    # the catalog lacks); coded in the order of the sorted distinct keys.
    id_codes, id_uniques = pd.factorize(equipment_id)
    id_known = np.array([u in catalog.entries for u in id_uniques] + [False], dtype=bool)
    known = id_known[id_codes]
    keys_of: dict[str, None] = dict.fromkeys(str(u) for u, k in zip(id_uniques, id_known) if k)
    unknown_rows = np.flatnonzero(~known)
    name_codes, stripped = np.zeros(0, dtype=np.intp), []
    if len(unknown_rows):
        names = pd.Series(equipment[unknown_rows], dtype=object).fillna("").astype(str)
        name_codes, name_uniques = pd.factorize(names)
        stripped = ["?" + u.strip() for u in name_uniques]
        keys_of.update(dict.fromkeys(stripped))
    k_uniques = np.array(sorted(keys_of), dtype=object)
    rank = {k: i for i, k in enumerate(k_uniques.tolist())}
    k_codes = np.array([rank[str(u)] if k else -1 for u, k in zip(id_uniques, id_known)] + [-1], dtype=np.int64)[id_codes]
    if len(unknown_rows):
        k_codes[unknown_rows] = np.array([rank[u] for u in stripped], dtype=np.int64)[name_codes]
    count_max = np.where(np.isnan(count_max), count, count_max)
    count_max = np.maximum(count_max, count).astype(np.int64)
    # Decoys (tagged `decoy`) may be no vehicle at all: 0 to n, never sure vehicles.
    count, count_max = as_possible(count, count_max, decoy_rows(frame)[take])
    carried = np.where(carried_rows, count, 0)
    carried_max = np.where(carried_rows, count_max, 0)

    # Sort on integer codes of sorted distinct values (the order of sorting the strings themselves), so
    # that "first" below is independent of the input's row order.
    c_codes, c_uniques = _sorted_codes(conv)
    s_codes, s_uniques = _sorted_codes(sid)
    e_codes, e_uniques = _sorted_codes(equipment)
    k_codes_rows, count_all_rows, count_max_rows = k_codes, count, count_max  # in row order, for the tag indicators
    order = _lexsort([c_codes, k_codes, s_codes, e_codes])
    c_rows, s_rows = c_codes, s_codes  # in row order, for the sighting and note lists
    c_codes, k_codes, s_codes = c_codes[order], k_codes[order], s_codes[order]
    n_rows = len(order)
    type_start = np.r_[True, (c_codes[1:] != c_codes[:-1]) | (k_codes[1:] != k_codes[:-1])] if n_rows else \
        np.zeros(0, dtype=bool)
    sighting_start = type_start.copy()
    if n_rows:
        sighting_start[1:] |= s_codes[1:] != s_codes[:-1]
    s_first = np.flatnonzero(sighting_start)
    t_first = np.flatnonzero(type_start)
    # Within one sighting a type may appear on several rows (driven and carried): add them up;
    # across sightings of the same convoy the vehicles are the same ones: take the maximum.
    sighting_of_type = np.cumsum(type_start)[s_first] - 1 if n_rows else np.zeros(0, dtype=np.int64)
    t_of_s_first = np.flatnonzero(np.r_[True, sighting_of_type[1:] != sighting_of_type[:-1]]) if len(s_first) else \
        np.zeros(0, dtype=np.int64)

    def per_sighting(values: np.ndarray) -> np.ndarray:
        if not n_rows:
            return np.zeros(0, dtype=np.int64)
        return np.add.reduceat(values[order], s_first).astype(np.int64)

    def merge(values: np.ndarray) -> np.ndarray:
        if not n_rows:
            return np.zeros(0, dtype=np.int64)
        return np.maximum.reduceat(values, t_of_s_first).astype(np.int64)

    seen_lo, seen_hi = per_sighting(count), per_sighting(count_max)
    m_count, m_count_max = merge(seen_lo), merge(seen_hi)
    m_carried, m_carried_max = merge(per_sighting(carried)), merge(per_sighting(carried_max))
    type_key = k_codes[t_first]
    type_convoy = c_codes[t_first]
    # Names at family or category level (`T-72`, `truck`) describe the same vehicles as the types
    # other sightings name: merged per node of the catalog's hierarchy, not added.
    key_cat, key_fam, key_level = _key_nodes(catalog, k_uniques)
    if n_rows:
        cat_node = np.unique(type_convoy * (int(key_cat.max()) + 1) + key_cat[type_key], return_inverse=True)[1]
        fam_node = np.unique(type_convoy * (int(key_fam.max()) + 1) + key_fam[type_key], return_inverse=True)[1]
        m_count, m_count_max = merge_levels(
            sighting_of_type, s_codes[s_first], seen_lo, seen_hi, np.arange(len(t_first)),
            fam_node.ravel(), cat_node.ravel(), key_level[type_key], m_count, m_count_max)
    seen = (sighting_of_type, s_codes[s_first], s_uniques, seen_lo, seen_hi)
    # "first" skips missing values: the first name written for the type, in the sorted order.
    e_sorted = e_codes[order]
    named = e_sorted < len(e_uniques)  # (missing names have the code after the last)
    position = np.where(named, np.arange(n_rows), n_rows)
    first_named = np.minimum.reduceat(position, t_first) if n_rows else np.zeros(0, dtype=np.int64)
    names_sorted = np.append(equipment[order], np.nan)
    first_of_convoy = np.r_[True, type_convoy[1:] != type_convoy[:-1]] if n_rows else np.zeros(0, dtype=bool)
    keys = [str(k) for k in c_uniques[type_convoy[first_of_convoy]]]
    # One constructor call with every column (setting columns one by one costs pandas ~1 ms each).
    merged = pd.DataFrame({
        "convoy": pd.Series(c_uniques[type_convoy], dtype="str"),
        # (an empty table keeps the object dtype the string sort used to leave)
        "equipment_key": pd.Series(k_uniques[type_key], dtype="str" if n_rows else object),
        **_catalog_columns(catalog, k_uniques, type_key, names_sorted[first_named]),
        "count": m_count.astype(np.int64), "count_max": m_count_max.astype(np.int64),
        "carried": np.minimum(m_carried, m_count).astype(np.int64),
        "carried_max": np.minimum(m_carried_max, m_count_max).astype(np.int64),
        "code": (np.cumsum(first_of_convoy) - 1).astype(np.int64),
    }, columns=[*TYPE_COLUMNS, "code"])

    notes_all = frame["notes"].astype("object").to_numpy()[take] if "notes" in frame else np.full(len(take), None)

    def lists() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        sightings = _lists_by_convoy(c_rows, c_uniques, s_rows, s_uniques)
        has_note = np.flatnonzero(pd.notna(notes_all))
        n_codes, n_uniques = _sorted_codes(np.array([str(x) for x in notes_all[has_note]], dtype=object))
        blank = np.array([u.strip() == "" for u in n_uniques] + [True], dtype=bool)  # strip each distinct note once
        written = ~blank[n_codes]
        notes = _lists_by_convoy(c_rows[has_note][written], c_uniques, n_codes[written], n_uniques)
        return sightings, notes

    # The sources' grades, per convoy: the mean misidentification rate and count error of its rows.
    n_conv = len(c_uniques)
    rows_per = np.bincount(c_rows, minlength=n_conv).astype(np.float64) if len(take) else np.zeros(n_conv)
    grades = {}
    for name, column, of in (("misidentification", "reliability", misidentification),
                             ("count_error", "credibility", count_error)):
        values = of(frame[column])[take] if column in frame and len(take) else np.zeros(len(take))
        grades[name] = np.bincount(c_rows, weights=values, minlength=n_conv) / np.maximum(rows_per, 1.0) \
            if len(take) else np.zeros(n_conv)
    # The tags are parsed only when a convoy's tags are asked for (the column alone is kept, not the frame).
    tags_column = frame[["tags"]] if "tags" in frame else None

    def tag_counts() -> dict[str, list[dict]]:
        # Per convoy x tag x category: the most tagged vehicles one sighting showed (the same vehicles
        # seen again), against the convoy's merged count of that category.
        coded = tag_codes(tags_column) if tags_column is not None else None
        if coded is None:
            return {}
        # The tagged rows found on whole columns: most files have none, or few.
        codes, parsed = coded
        tagged = np.flatnonzero(np.array([bool(p) for p in parsed], dtype=bool)[codes[take]]).tolist()
        if not tagged:
            return {}
        tags_all = [parsed[c] for c in codes.tolist()]
        cats = {k: (catalog.entries[k].category if k in catalog.entries else UNKNOWN) for k in k_uniques.tolist()}
        seen: dict[tuple[str, str, str], dict[str, int]] = {}
        for i in tagged:
            key = (str(conv[i]), cats[str(k_uniques[k_codes_rows[i]])])
            for tag in tags_all[take[i]]:
                per_sighting = seen.setdefault((*key, tag), {})
                # (a decoy's count is 0: what may be decoys is its upper bound)
                n = int(count_max_rows[i] if tag == DECOY else count_all_rows[i])
                per_sighting[str(sid[i])] = per_sighting.get(str(sid[i]), 0) + n
        totals: dict[tuple[str, str], int] = {}
        for c, cat, n in zip(merged["convoy"].tolist(), merged["category"].tolist(), merged["count"].tolist()):
            totals[(c, cat)] = totals.get((c, cat), 0) + int(n)
        out: dict[str, list[dict]] = {}
        for (c, cat, tag), per_sighting in sorted(seen.items()):
            n = max(per_sighting.values())
            of = max(totals.get((c, cat), 0), n) if tag != DECOY else n
            text = f"{tag} on {n} of {of} {cat}" if tag != DECOY else \
                f"{n} {cat} tagged decoy: counted as 0-{n}, never as sure vehicles"
            out.setdefault(c, []).append({"tag": tag, "category": cat, "vehicles": n, "of": of, "text": text})
        return out

    known_keys = set(keys)  # once, not per loss row: O(losses x convoys) took seconds on large files
    loss_rows = {str(k): int(v) for k, v in sorted(losses.items()) if k in known_keys}
    return ConvoyTable(convoys=keys, types=merged, loss_rows=loss_rows, lists=lists, seen=seen, grades=grades, tag_counts=tag_counts)


def _key_nodes(catalog: Catalog, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equipment key: a code of its category node, of its family node, and its naming level.

    An unknown name is its own category and family (two names the catalog
    does not know are never taken to be the same vehicles).
    """
    levels = naming_levels(catalog)
    cats: dict[object, int] = {}
    fams: dict[object, int] = {}
    cat, fam, level = [], [], []
    for k in keys.tolist():
        entry = catalog.entries.get(k)
        if entry is None:
            cat.append(cats.setdefault(("?", k), len(cats)))
            fam.append(fams.setdefault(("?", k), len(fams)))
            level.append(0)
            continue
        cat.append(cats.setdefault(entry.category, len(cats)))
        fam.append(fams.setdefault((entry.category, entry.family), len(fams)))
        level.append(levels[entry.id])
    return (np.array(cat, dtype=np.int64), np.array(fam, dtype=np.int64), np.array(level, dtype=np.int64))


# --- merging across naming levels (type < family < category) ------------------------------------

#: Naming levels of an equipment key: a type, a family-level entry (``T-72``), a generic one (``tank``).
LEVELS: tuple[str, ...] = ("type", "family", "category")


def naming_levels(catalog: Catalog) -> dict[str, int]:
    """Per catalog id, its naming level (0 type, 1 family, 2 category; see :data:`LEVELS`).

    A ``generic`` entry whose (category, family) some specific entry shares
    names that family (``T-72``, ``Ural truck``); a generic entry no
    specific entry shares a family with names only its category (``tank``,
    ``truck``). Everything else is a type.
    """
    specific = {(e.category, e.family) for e in catalog.entries.values() if not e.generic}
    return {e.id: (0 if not e.generic else 1 if (e.category, e.family) in specific else 2)
            for e in catalog.entries.values()}


def _group_max(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per group 0..n-1, the maximum of ``values`` (0 for an empty group; values are >= 0)."""
    out = np.zeros(n, dtype=np.int64)
    if len(group):
        np.maximum.at(out, group, values)
    return out


def _greedy(group: np.ndarray, value: np.ndarray, target: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Split each group's ``target`` over its members, largest ``value`` first, none above its own value.

    ``target`` is per group. Members beyond the target get what is left
    (possibly 0): the smaller sightings' vehicles are taken to be the same
    as the larger ones'. Ties break on ``tie`` (a stable code).
    """
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    # By group, then largest value first, then tie (one argsort of a combined key where it fits: ~3x
    # faster than np.lexsort; the order is the same).
    order = _lexsort([np.asarray(group, dtype=np.int64), int(value.max()) - np.asarray(value, dtype=np.int64),
                      np.asarray(tie, dtype=np.int64)])
    g, v = group[order], value[order]
    start = np.r_[True, g[1:] != g[:-1]]
    cum = np.cumsum(v)
    base = np.repeat(cum[start] - v[start], np.diff(np.r_[np.flatnonzero(start), len(g)]))
    before = cum - v - base
    out = np.empty(len(group), dtype=np.int64)
    out[order] = np.minimum(v, np.maximum(0, target[g] - before))
    return out


def merge_levels(pair: np.ndarray, sight: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 key_pair: np.ndarray, fam: np.ndarray, cat: np.ndarray, level: np.ndarray,
                 t_lo: np.ndarray, t_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per convoy x key, its count range once the naming levels are merged.

    Inputs: one element per (convoy x key, sighting) with its summed counts
    ``lo`` and ``hi`` and ``pair`` (its convoy x key), and per convoy x key
    (``key_pair`` order): its family node ``fam`` and category node ``cat``
    (integer codes unique per convoy), its naming ``level`` and the
    per-key max over sightings ``t_lo``, ``t_hi``.

    A node (family, category) holds the maximum over sightings of that
    sighting's count within it (``lo``); trusting the names its children are
    disjoint, so it may hold up to the sum of its children's maxima (``hi``).
    Its low count is handed down to the children largest first (the rest
    are the same vehicles); what no child accounts for goes to the keys
    named at the node's own level (a ``truck`` beyond the ``Ural`` trucks).
    """
    n_pairs = len(t_lo)
    n_fam = int(fam.max()) + 1 if n_pairs else 0
    n_cat = int(cat.max()) + 1 if n_pairs else 0
    if not n_pairs:
        return t_lo, t_hi
    # Per (node, sighting): the sighting's count within the node, then the max over sightings.
    s_fam, s_cat, s_level = fam[pair], cat[pair], level[pair]
    n_s = int(sight.max()) + 1 if len(sight) else 1
    in_fam = s_level <= 1

    def node_max(node: np.ndarray, n_nodes: int, mask=None) -> tuple[np.ndarray, np.ndarray]:
        # The low and the high counts of each node, from one coding of its (node, sighting) pairs.
        idx = node.astype(np.int64) * n_s + sight
        low, high = lo, hi
        if mask is not None:
            idx, low, high = idx[mask], low[mask], high[mask]
        # (hashed, not sorted: the maximum per node does not depend on the order of the pairs)
        inverse, codes = pd.factorize(idx)
        node_of = codes // n_s
        return tuple(_group_max(node_of, np.bincount(inverse, weights=v, minlength=len(codes)).astype(np.int64),
                                n_nodes) for v in (low, high))

    f_lo, f_hi = node_max(s_fam, n_fam, in_fam)
    c_lo, c_hi = node_max(s_cat, n_cat)
    is_type = level == 0
    # Family: at least its max over sightings; at most the sum of its types' maxima (if larger).
    types_lo = np.bincount(fam[is_type], weights=t_lo[is_type], minlength=n_fam).astype(np.int64)
    types_hi = np.bincount(fam[is_type], weights=t_hi[is_type], minlength=n_fam).astype(np.int64)
    f_hi = np.maximum(f_hi, types_hi)
    # Category: the same over its families.
    fam_cat = np.zeros(n_fam, dtype=np.int64)
    named = level <= 1
    fam_cat[fam[named]] = cat[named]
    has_fam = np.zeros(n_fam, dtype=bool)
    has_fam[fam[named]] = True
    fams = np.flatnonzero(has_fam)
    fams_lo = np.bincount(fam_cat[fams], weights=f_lo[fams], minlength=n_cat).astype(np.int64)
    fams_hi = np.bincount(fam_cat[fams], weights=f_hi[fams], minlength=n_cat).astype(np.int64)
    c_hi = np.maximum(c_hi, fams_hi)
    # Hand the category's low count to its families (largest first), the rest to category-level keys.
    f_take = np.zeros(n_fam, dtype=np.int64)
    f_take[fams] = _greedy(fam_cat[fams], f_lo[fams], c_lo, fams)
    out_lo = np.zeros(n_pairs, dtype=np.int64)
    out_hi = t_hi.copy()
    direct_c = level == 2
    rest_c_lo = np.maximum(0, c_lo - np.minimum(fams_lo, c_lo))
    rest_c_hi = np.maximum(0, c_hi - fams_hi)
    idx = np.flatnonzero(direct_c)
    out_lo[idx] = _greedy(cat[idx], t_lo[idx], rest_c_lo, idx)
    out_hi[idx] = _greedy(cat[idx], t_hi[idx], rest_c_hi, idx)
    # Each family's share, to its types (largest first), the rest to its family-level keys.
    idx = np.flatnonzero(is_type)
    out_lo[idx] = _greedy(fam[idx], t_lo[idx], f_take, idx)
    took = np.bincount(fam[idx], weights=out_lo[idx], minlength=n_fam).astype(np.int64)
    idx = np.flatnonzero(level == 1)
    out_lo[idx] = _greedy(fam[idx], t_lo[idx], np.maximum(0, f_take - took), idx)
    out_hi[idx] = _greedy(fam[idx], t_hi[idx], np.maximum(0, f_hi - types_hi), idx)
    return out_lo, np.maximum(out_hi, out_lo)


def _convoy_array(frame: pd.DataFrame) -> np.ndarray:
    """:func:`convoy_keys` as an object array of str (what aggregation works on).

    Only the rows without a convoy are filled from their sighting id.
    """
    convoy = frame["convoy"].to_numpy(dtype=object)
    blank = np.flatnonzero(pd.isna(convoy) | (convoy == ""))
    if not len(blank):
        return convoy
    out = convoy.copy()
    out[blank] = frame["sighting_id"].to_numpy(dtype=object)[blank]
    if pd.isna(out[blank]).any():  # a row with neither (not in a validated frame): its key is the text "nan"
        out = pd.Series(out, dtype=object).astype(str).to_numpy(dtype=object)
    return out


def _lexsort(keys: list[np.ndarray]) -> np.ndarray:
    """Stable sort order by several non-negative integer keys (first key first), like ``np.lexsort``.

    One stable argsort of a combined key when it fits in 62 bits (about 3x faster), else ``np.lexsort``.
    """
    radices = [int(k.max()) + 1 if len(k) else 1 for k in keys]
    if float(np.prod(np.array(radices, dtype=np.float64))) >= 2.0 ** 62:
        return np.lexsort(keys[::-1])
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key, radix in zip(keys, radices):
        combined *= radix
        combined += key
    return np.argsort(combined, kind="stable")


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` in the order of their sorted distinct values; missing values sort last.

    Coded in row order first, then only the distinct values are sorted (cheaper than ``sort=True``).
    """
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    rank[-1] = len(uniques)  # (code -1, missing: after the last)
    return rank[codes], uniques[order]


def _lists_by_convoy(convoy_codes: np.ndarray, convoy_names: np.ndarray, value_codes: np.ndarray,
                     value_names: np.ndarray) -> dict[str, list[str]]:
    """``{convoy: sorted distinct values}`` from per-row codes into sorted distinct convoys and values."""
    if not len(convoy_codes):
        return {}
    radix = len(value_names) + 1
    pair = distinct(convoy_codes.astype(np.int64) * radix + value_codes)  # (np.unique: a slow hash in numpy 2)
    convoy_of = pair // radix
    values = [str(v) for v in value_names[pair % radix]]
    bounds = np.flatnonzero(np.r_[True, convoy_of[1:] != convoy_of[:-1], True])
    names = [str(c) for c in convoy_names[convoy_of[bounds[:-1]]]]
    return {name: values[a:b] for name, a, b in zip(names, bounds[:-1].tolist(), bounds[1:].tolist())}


def _catalog_columns(catalog: Catalog, keys: np.ndarray, codes: np.ndarray, written: np.ndarray) -> dict:
    """Name, equipment_id, family, category, role, armoured, crew, passengers: per distinct key, then by code.

    ``keys`` are the distinct equipment keys and ``codes`` each row's
    position in them. A key that is a catalog id takes the catalog's name;
    any other (``?`` + a written name) is unknown, keeps its ``written``
    name and counts no crew.
    """
    entries = [catalog.entries.get(k) for k in keys.tolist()]
    found = np.array([e is not None for e in entries] + [False], dtype=bool)[codes]

    def column(of, missing, dtype):
        return np.array([of(e) if e is not None else missing for e in entries] + [missing], dtype=dtype)[codes]

    out = {
        "name": pd.Series(np.where(found, column(lambda e: e.name, None, object), written), dtype=object),
        "equipment_id": pd.Series(column(lambda e: e.id, None, object), dtype=object),
    }
    for col in ("family", "category", "role"):
        out[col] = pd.Series(column(lambda e, c=col: getattr(e, c), UNKNOWN, object), dtype=object)
    out["armoured"] = column(lambda e: bool(e.armoured), False, bool)
    for col in ("crew", "passengers"):
        out[col] = column(lambda e, c=col: int(getattr(e, c) or 0), 0, np.int64)
    return out


def convoy_keys(frame: pd.DataFrame) -> pd.Series:
    """The convoy of each row: its ``convoy``, or its own ``sighting_id`` when that is empty."""
    return pd.Series(_convoy_array(frame), index=frame.index, dtype=object)


# --- the feature matrix the rules read ---------------------------------------------------------


@dataclass
class FeatureSpace:
    """Which columns a feature matrix has: every category and role, plus the families and types doctrine names."""

    columns: dict[str, int]

    @classmethod
    def build(cls, families: Iterable[str] = (), types: Iterable[str] = ()) -> FeatureSpace:
        names = ["total", "armoured", "carried", "unknown"]
        names += [f"category:{c}" for c in (*CATEGORIES, UNKNOWN)]
        names += [f"role:{r}" for r in (*ROLES, UNKNOWN)]
        names += [f"family:{f}" for f in sorted(set(families))]
        names += [f"type:{t}" for t in sorted(set(types))]
        return cls({name: i for i, name in enumerate(names)})

    def __len__(self) -> int:
        return len(self.columns)

    def index(self, name: str) -> int:
        return self.columns[name]


@dataclass
class TypeCodes:
    """Per row of :attr:`ConvoyTable.types`: the convoy code and the feature columns it adds to."""

    convoy: np.ndarray
    category: np.ndarray
    role: np.ndarray
    family: np.ndarray  # -1 where doctrine names no such family
    type: np.ndarray  # -1 where doctrine names no such type
    armoured: np.ndarray
    unknown: np.ndarray


def type_codes(table: ConvoyTable, space: FeatureSpace) -> TypeCodes:
    """Map every per-type row to its feature columns once, so matrices build with bincount."""
    t = table.types
    cols = space.columns
    # Category, role and family are the equipment key's (its catalog entry's, or unknown): map the few
    # distinct keys, read at each one's first row, not every row.
    codes, uniques = pd.factorize(t["equipment_key"].to_numpy(dtype=object))
    first = np.zeros(len(uniques), dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)

    def lookup(column: str, prefix: str) -> np.ndarray:
        values = t[column].to_numpy(dtype=object)[first]
        return np.array([cols.get(f"{prefix}:{u}", -1) for u in values] + [-1], dtype=np.int64)[codes]

    category = t["category"].to_numpy(dtype=object)[first]
    return TypeCodes(
        convoy=t["code"].to_numpy(dtype=np.int64),
        category=lookup("category", "category"),
        role=lookup("role", "role"),
        family=lookup("family", "family"),
        type=lookup("equipment_key", "type"),
        armoured=t["armoured"].to_numpy(dtype=bool),
        unknown=np.append(category == UNKNOWN, False)[codes],
    )


def feature_matrix(codes: TypeCodes, space: FeatureSpace, n_convoys: int,
                   counts: np.ndarray, carried: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """A convoys x features matrix of vehicle counts, from per-type-row ``counts`` and ``carried``.

    ``rows`` (optional) restricts to some per-type rows (their convoy codes
    must then be renumbered by the caller). Built with one ``bincount`` per
    feature kind: linear in the number of rows, no loop over convoys.
    """
    n_feat = len(space)
    conv = codes.convoy if rows is None else codes.convoy[rows]
    sel = (lambda a: a) if rows is None else (lambda a: a[rows])
    counts = np.asarray(counts, dtype=np.float64)
    base = conv * n_feat
    index_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []

    def add(col: np.ndarray | int, weights: np.ndarray, mask: np.ndarray | None = None) -> None:
        idx = base + col
        if mask is not None:
            idx, weights = idx[mask], weights[mask]
        index_parts.append(idx)
        weight_parts.append(weights)

    add(space.index("total"), counts)
    add(sel(codes.category), counts)
    add(sel(codes.role), counts)
    fam = sel(codes.family)
    add(fam, counts, fam >= 0)
    typ = sel(codes.type)
    add(typ, counts, typ >= 0)
    add(space.index("armoured"), counts, sel(codes.armoured))
    add(space.index("unknown"), counts, sel(codes.unknown))
    add(space.index("carried"), np.asarray(carried, dtype=np.float64))
    # One bincount over every (convoy, feature) contribution: linear in rows, no loop over convoys.
    out = np.bincount(np.concatenate(index_parts), weights=np.concatenate(weight_parts),
                      minlength=n_convoys * n_feat)
    return out.reshape(n_convoys, n_feat)
