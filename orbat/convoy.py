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

    def totals(self) -> pd.DataFrame:
        """Per convoy: total, total_max, armoured, carried, unknown (vehicle counts), indexed by convoy key."""
        t = self.types
        frame = pd.DataFrame({
            "total": t["count"],
            "total_max": t["count_max"],
            "armoured": t["count"].where(t["armoured"], 0),
            "armoured_max": t["count_max"].where(t["armoured"], 0),
            "carried": t["carried"],
            "unknown": t["count"].where(t["category"] == UNKNOWN, 0),
            "code": t["code"],
        })
        sums = frame.groupby("code").sum()
        sums = sums.reindex(range(len(self.convoys)), fill_value=0)
        sums.index = pd.Index(self.convoys, name="convoy")
        return sums

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
        driven = t["count"] - t["carried"]
        low = driven * t["crew"]
        high = t["count_max"] * (t["crew"] + t["passengers"])
        frame = pd.DataFrame({"min": low, "max": high, "code": t["code"]}).groupby("code").sum()
        frame = frame.reindex(range(len(self.convoys)), fill_value=0)
        frame.index = pd.Index(self.convoys, name="convoy")
        return frame.astype("int64")


def aggregate_convoys(frame: pd.DataFrame, catalog: Catalog, convoys: Iterable[str] | None = None) -> ConvoyTable:
    """Max-merge a canonical sightings frame into one count per convoy x equipment type.

    ``convoys`` restricts the result to those convoy keys (in that order is
    not promised: convoys are always sorted). Rows whose ``equipment_id`` is
    NA or not in ``catalog`` are kept under their written name as unknown.
    """
    convoy = convoy_keys(frame).astype("object").astype(str)
    event = frame["event"].astype("object")
    keep = np.ones(len(frame), dtype=bool)
    if convoys is not None:
        keep &= convoy.isin(set(convoys)).to_numpy()
    is_convoy_row = (event.isna() | event.isin(CONVOY_EVENTS)).to_numpy()
    losses = convoy[keep & ~is_convoy_row].value_counts()
    take = np.flatnonzero(keep & is_convoy_row)

    conv = convoy.to_numpy(dtype=object)[take]
    sid = frame["sighting_id"].astype("object").astype(str).to_numpy(dtype=object)[take]
    equipment = frame["equipment"].astype("object").to_numpy()[take]
    equipment_id = frame["equipment_id"].astype("object").to_numpy()[take]
    count = pd.to_numeric(frame["count"]).astype("int64").to_numpy()[take]
    count_max = pd.to_numeric(frame["count_max"]).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)[take]
    carried_rows = (frame["mode"].astype("object") == "carried").to_numpy(dtype=bool)[take]

    known = pd.Series(equipment_id).isin(list(catalog.entries)).to_numpy() & pd.notna(equipment_id)
    # An unresolved name is kept under its own (stripped) name, never dropped; strip each distinct name once.
    key = equipment_id.copy()
    if not known.all():
        names = pd.Series(equipment[~known], dtype=object).fillna("").astype(str)
        codes, uniques = pd.factorize(names)
        stripped = np.array(["?" + u.strip() for u in uniques], dtype=object)
        key[~known] = stripped[codes]
    count_max = np.where(np.isnan(count_max), count, count_max)
    count_max = np.maximum(count_max, count).astype(np.int64)
    carried = np.where(carried_rows, count, 0)
    carried_max = np.where(carried_rows, count_max, 0)

    # Sort on integer codes of sorted distinct values (the order of sorting the strings themselves), so
    # that "first" below is independent of the input's row order.
    c_codes, c_uniques = _sorted_codes(conv)
    k_codes, k_uniques = _sorted_codes(key)
    s_codes, s_uniques = _sorted_codes(sid)
    e_codes, _ = _sorted_codes(equipment)
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

    def merge(values: np.ndarray) -> np.ndarray:
        if not n_rows:
            return np.zeros(0, dtype=np.int64)
        per_sighting = np.add.reduceat(values[order], s_first)
        return np.maximum.reduceat(per_sighting, t_of_s_first).astype(np.int64)

    m_count, m_count_max = merge(count), merge(count_max)
    m_carried, m_carried_max = merge(carried), merge(carried_max)
    # "first" skips missing values: the first name written for the type, in the sorted order.
    named = pd.notna(equipment[order])
    position = np.where(named, np.arange(n_rows), n_rows)
    first_named = np.minimum.reduceat(position, t_first) if n_rows else np.zeros(0, dtype=np.int64)
    names_sorted = np.append(equipment[order], np.nan)
    merged = pd.DataFrame({
        "convoy": pd.Series(c_uniques[c_codes[t_first]], dtype="str"),
        # (an empty table keeps the object dtype the string sort used to leave)
        "equipment_key": pd.Series(k_uniques[k_codes[t_first]], dtype="str" if n_rows else object),
        "count": m_count, "count_max": m_count_max,
        "carried": np.minimum(m_carried, m_count), "carried_max": np.minimum(m_carried_max, m_count_max),
        "name": pd.Series(names_sorted[first_named], dtype=object),
        "equipment_id": pd.Series(equipment_id[order][t_first], dtype=object),
        "known": known[order][t_first],
    })

    merged = _attach_catalog(merged, catalog)
    keys = [str(k) for k in c_uniques[np.unique(c_codes)]] if n_rows else []
    merged["code"] = (np.cumsum(np.r_[True, c_codes[t_first][1:] != c_codes[t_first][:-1]]) - 1).astype("int64") \
        if n_rows else np.zeros(0, dtype=np.int64)

    notes_all = frame["notes"].astype("object").to_numpy()[take] if "notes" in frame else np.full(len(take), None)

    def lists() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        sightings = _lists_by_convoy(c_rows, c_uniques, s_rows, s_uniques)
        has_note = np.flatnonzero(pd.notna(notes_all))
        n_codes, n_uniques = _sorted_codes(np.array([str(x) for x in notes_all[has_note]], dtype=object))
        blank = np.array([u.strip() == "" for u in n_uniques] + [True], dtype=bool)  # strip each distinct note once
        written = ~blank[n_codes]
        notes = _lists_by_convoy(c_rows[has_note][written], c_uniques, n_codes[written], n_uniques)
        return sightings, notes

    known_keys = set(keys)  # once, not per loss row: O(losses x convoys) took seconds on large files
    loss_rows = {str(k): int(v) for k, v in sorted(losses.items()) if k in known_keys}
    return ConvoyTable(convoys=keys, types=merged, loss_rows=loss_rows, lists=lists)


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
    """Codes of ``values`` in the order of their sorted distinct values; missing values sort last."""
    codes, uniques = pd.factorize(values, sort=True)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, np.asarray(uniques, dtype=object)


def _lists_by_convoy(convoy_codes: np.ndarray, convoy_names: np.ndarray, value_codes: np.ndarray,
                     value_names: np.ndarray) -> dict[str, list[str]]:
    """``{convoy: sorted distinct values}`` from per-row codes into sorted distinct convoys and values."""
    if not len(convoy_codes):
        return {}
    radix = len(value_names) + 1
    pair = np.unique(convoy_codes.astype(np.int64) * radix + value_codes)
    convoy_of = pair // radix
    values = [str(v) for v in value_names[pair % radix]]
    bounds = np.flatnonzero(np.r_[True, convoy_of[1:] != convoy_of[:-1], True])
    names = [str(c) for c in convoy_names[convoy_of[bounds[:-1]]]]
    return {name: values[a:b] for name, a, b in zip(names, bounds[:-1].tolist(), bounds[1:].tolist())}


def _attach_catalog(merged: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Add family, category, role, armoured, crew, passengers from the catalog (vectorised lookup)."""
    entries = pd.DataFrame(
        [
            {"equipment_key": e.id, "c_name": e.name, "family": e.family, "category": e.category,
             "role": e.role, "armoured": e.armoured, "crew": e.crew, "passengers": e.passengers}
            for e in catalog
        ],
        columns=["equipment_key", "c_name", "family", "category", "role", "armoured", "crew", "passengers"],
    )
    out = merged.merge(entries, on="equipment_key", how="left")
    unknown = ~out["known"].astype(bool)
    out["name"] = out["c_name"].where(~unknown, out["name"]).astype("object")
    out["equipment_id"] = out["equipment_id"].where(~unknown, None).astype("object")
    for col in ("family", "category", "role"):
        out[col] = out[col].astype("object").where(~unknown, UNKNOWN)
    out["armoured"] = out["armoured"].astype("object").where(~unknown, False).astype(bool)
    for col in ("crew", "passengers"):
        out[col] = out[col].where(~unknown, 0).fillna(0).astype("int64")
    for col in ("count", "count_max", "carried", "carried_max"):
        out[col] = out[col].astype("int64")
    return out[[*TYPE_COLUMNS]]


def convoy_keys(frame: pd.DataFrame) -> pd.Series:
    """The convoy of each row: its ``convoy``, or its own ``sighting_id`` when that is empty."""
    convoy = frame["convoy"]
    return convoy.where(convoy.notna() & (convoy.astype("object") != ""), frame["sighting_id"])


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

    def lookup(series: pd.Series, prefix: str) -> np.ndarray:
        # Map the few distinct values, not every row.
        codes, uniques = pd.factorize(series)
        table_ = np.array([cols.get(f"{prefix}:{u}", -1) for u in uniques] + [-1], dtype=np.int64)
        return table_[codes]

    return TypeCodes(
        convoy=t["code"].to_numpy(dtype=np.int64),
        category=lookup(t["category"], "category"),
        role=lookup(t["role"], "role"),
        family=lookup(t["family"], "family"),
        type=lookup(t["equipment_key"], "type"),
        armoured=t["armoured"].to_numpy(dtype=bool),
        unknown=(t["category"] == UNKNOWN).to_numpy(dtype=bool),
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
