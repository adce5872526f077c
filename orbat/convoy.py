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

from collections.abc import Iterable
from dataclasses import dataclass, field

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
    """

    convoys: list[str]
    types: pd.DataFrame
    sightings: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    loss_rows: dict[str, int] = field(default_factory=dict)

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
    work = pd.DataFrame({
        "convoy": convoy_keys(frame).astype("object").astype(str),
        "sighting_id": frame["sighting_id"].astype("object").astype(str),
        "equipment": frame["equipment"].astype("object"),
        "equipment_id": frame["equipment_id"].astype("object"),
        "count": pd.to_numeric(frame["count"]).astype("int64"),
        "count_max": pd.to_numeric(frame["count_max"]).astype("Float64"),
        "mode": frame["mode"].astype("object"),
        "event": frame["event"].astype("object"),
        "notes": frame["notes"].astype("object") if "notes" in frame else None,
    })
    if convoys is not None:
        wanted = set(convoys)
        work = work[work["convoy"].isin(wanted)]

    is_convoy_row = work["event"].isna() | work["event"].isin(CONVOY_EVENTS)
    losses = work.loc[~is_convoy_row].groupby("convoy").size()
    rows = work.loc[is_convoy_row].copy()

    known = rows["equipment_id"].notna() & rows["equipment_id"].isin(list(catalog.entries))
    # An unresolved name is kept under its own (normalised-by-case) name, never dropped.
    unknown_key = "?" + rows["equipment"].fillna("").astype(str).str.strip()
    rows["equipment_key"] = rows["equipment_id"].where(known, unknown_key)
    rows["known"] = known
    rows["count_max"] = rows["count_max"].fillna(rows["count"].astype("Float64"))
    rows["count_max"] = rows["count_max"].clip(lower=rows["count"].astype("Float64")).astype("int64")
    carried = rows["mode"] == "carried"
    rows["carried"] = rows["count"].where(carried, 0)
    rows["carried_max"] = rows["count_max"].where(carried, 0)

    # Sorting first makes "first" below independent of the input's row order.
    rows = rows.sort_values(["convoy", "equipment_key", "sighting_id", "equipment"], kind="stable")
    # Within one sighting a type may appear on several rows (driven and carried): add them up;
    # across sightings of the same convoy the vehicles are the same ones: take the maximum.
    per_sighting = rows.groupby(["convoy", "equipment_key", "sighting_id"], sort=False).agg(
        count=("count", "sum"), count_max=("count_max", "sum"),
        carried=("carried", "sum"), carried_max=("carried_max", "sum"),
        name=("equipment", "first"), equipment_id=("equipment_id", "first"), known=("known", "first"),
    )
    merged = per_sighting.groupby(level=["convoy", "equipment_key"]).agg(
        count=("count", "max"), count_max=("count_max", "max"),
        carried=("carried", "max"), carried_max=("carried_max", "max"),
        name=("name", "first"), equipment_id=("equipment_id", "first"), known=("known", "first"),
    ).reset_index().sort_values(["convoy", "equipment_key"], kind="stable", ignore_index=True)
    merged["carried"] = merged[["carried", "count"]].min(axis=1)
    merged["carried_max"] = merged[["carried_max", "count_max"]].min(axis=1)

    merged = _attach_catalog(merged, catalog)
    keys = sorted(merged["convoy"].unique().tolist())
    merged["code"] = pd.Categorical(merged["convoy"], categories=keys).codes.astype("int64")

    sightings = _lists_by_convoy(rows[["convoy", "sighting_id"]])
    with_notes = rows.loc[rows["notes"].notna(), ["convoy", "notes"]]
    with_notes = with_notes[with_notes["notes"].astype(str).str.strip() != ""]
    notes = _lists_by_convoy(with_notes)
    known_keys = set(keys)  # once, not per loss row: O(losses x convoys) took seconds on large files
    loss_rows = {str(k): int(v) for k, v in losses.items() if k in known_keys}
    return ConvoyTable(convoys=keys, types=merged, sightings=sightings, notes=notes, loss_rows=loss_rows)


def _lists_by_convoy(pairs: pd.DataFrame) -> dict[str, list[str]]:
    """``{convoy: sorted distinct values}`` from a two-column frame (convoy, value)."""
    pairs = pairs.astype(str).drop_duplicates().sort_values(list(pairs.columns))
    out: dict[str, list[str]] = {}
    for convoy, value in zip(pairs.iloc[:, 0], pairs.iloc[:, 1]):
        out.setdefault(convoy, []).append(value)
    return out


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
