"""Report tables (Excel, CSV, JSON): what ``orbat export`` writes.

:func:`build_report` turns a canonical sightings frame into a :class:`Report`:
one pandas table per sheet (summary, sightings, equipment, estimates, trace
and, when :mod:`orbat.inventory` is there, holdings and timeline), plus the
composition tables the Summary charts draw. :func:`write_report` writes it as
an Excel workbook (through :mod:`orbat.excel.report`), CSV files or JSON.
The written assessment of one convoy (Markdown) is :mod:`orbat.assessment`.

Everything here is plain data; nothing prints and nothing knows about the CLI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from orbat.convoy import convoy_keys as convoy_key
from orbat.errors import OrbatError, UsageError
from orbat.outfiles import replaced_when_done
from orbat.sightings import COLUMNS

#: Table names, in sheet order; CSV files and JSON keys use these names.
TABLES: tuple[str, ...] = (
    "summary", "sightings", "equipment_by_category", "equipment_by_type",
    "estimates", "trace", "holdings", "timeline", "orbat", "fleet",
)

#: Words of estimative probability (after the US ICD 203 scale): upper bound -> word.
PROBABILITY_WORDS: tuple[tuple[float, str], ...] = (
    (0.05, "almost no chance"),
    (0.20, "very unlikely"),
    (0.45, "unlikely"),
    (0.55, "roughly even chance"),
    (0.80, "likely"),
    (0.95, "very likely"),
    (1.01, "almost certain"),
)


@dataclass
class Report:
    """Everything one report shows, as tables.

    ``tables`` maps a name of :data:`TABLES` to a DataFrame (holdings and
    timeline only when the inventory module is available); ``composition``
    maps ``"category"`` and ``"role"`` to a wide table (one row per category
    or role, one column per convoy) that the Summary charts draw;
    ``estimates`` keeps the estimator's dicts for written assessments.
    """

    title: str
    generated_at: datetime
    filters: dict[str, str]
    tables: dict[str, pd.DataFrame]
    composition: dict[str, pd.DataFrame] = field(default_factory=dict)
    estimates: list[dict] = field(default_factory=list)
    timeline_actor: str | None = None
    map_layers: Any = None  # orbat.maplayers.MapLayers of the sightings: the Summary's map picture

    @property
    def filter_text(self) -> str:
        """The filters in words, e.g. ``convoy = bamako-2025-01-17; since 2025-01-01``, or ``none``."""
        return filter_text(self.filters)


def filter_text(filters: Mapping[str, Any]) -> str:
    """Human wording of the filters a report was made with."""
    parts = []
    for key, value in filters.items():
        if value in (None, ""):
            continue
        if key in ("since", "until"):
            parts.append(f"{key} {value}")
        else:
            parts.append(f"{key} = {value}")
    return "; ".join(parts) or "none"


def probability_words(confidence: float | None) -> str:
    """'likely' for 0.78: the estimative-probability word for a confidence in [0, 1]."""
    if confidence is None or (isinstance(confidence, float) and math.isnan(confidence)):
        return "unknown"
    for bound, word in PROBABILITY_WORDS:
        if confidence < bound:
            return word
    return PROBABILITY_WORDS[-1][1]


def grade_text(reliability: Any, credibility: Any) -> str:
    """The Admiralty grade as analysts write it: ``"B2"``, ``"B"``, ``"2"`` or ``""``."""
    r = "" if _missing(reliability) else str(reliability)
    c = "" if _missing(credibility) else str(int(credibility))
    return r + c


# --------------------------------------------------------------------------- tables


def sightings_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows in the interchange format: exactly :data:`orbat.sightings.COLUMNS`, so it re-imports."""
    out = pd.DataFrame({col: frame[col] if col in frame.columns else pd.NA for col in COLUMNS})
    return out.reset_index(drop=True)


#: Columns of the per convoy x type table (Equipment sheet).
TYPE_COLUMNS: tuple[str, ...] = (
    "convoy", "type", "equipment_id", "family", "category", "role", "count", "count_max", "carried",
)


def merged_counts(frame: pd.DataFrame, catalog) -> pd.DataFrame:
    """Vehicles per convoy x type, max-merged over the convoy's sightings, as the estimator sees them.

    Two videos of one column show mostly the same vehicles, so the convoy
    holds, per type, the most any one sighting saw
    (:func:`orbat.convoy.aggregate_convoys`). Loss rows are left out.
    Names the catalog does not know keep their written name, category ``unknown``.
    """
    if frame.empty:
        return pd.DataFrame(columns=list(TYPE_COLUMNS))
    from orbat.convoy import aggregate_convoys

    types = aggregate_convoys(frame, catalog).types.rename(columns={"name": "type"})
    out = types[list(TYPE_COLUMNS)].sort_values(
        ["convoy", "count", "type"], ascending=[True, False, True], kind="stable")
    return out.reset_index(drop=True)


def equipment_by_category(merged: pd.DataFrame) -> pd.DataFrame:
    """Vehicles per convoy x category (from :func:`merged_counts`)."""
    columns = ["convoy", "category", "role", "count", "count_max", "types"]
    if merged.empty:
        return pd.DataFrame(columns=columns)
    out = merged.groupby(["convoy", "category"], sort=False).agg(
        count=("count", "sum"), count_max=("count_max", "sum"), types=("type", "nunique"),
    ).reset_index()
    # A category can span roles (an armoured truck is an MRAP in a support role): list them, in order of
    # appearance, from one plain pass (a Python function per group is far slower).
    roles: dict[tuple, dict[str, None]] = {}
    for key in zip(merged["convoy"].tolist(), merged["category"].tolist(), merged["role"].tolist()):
        roles.setdefault(key[:2], {})[str(key[2])] = None
    out["role"] = ["; ".join(roles.get(key, ())) for key in zip(out["convoy"].tolist(), out["category"].tolist())]
    return out[columns].sort_values(["convoy", "count"], ascending=[True, False], kind="stable").reset_index(drop=True)


def composition(merged: pd.DataFrame, by: str, max_series: int = 8) -> pd.DataFrame:
    """A wide table for a chart: one row per ``by`` (category or role), one column per convoy.

    With more than ``max_series`` convoys a chart of one bar per convoy is
    unreadable, so the columns collapse into one, ``all convoys``.
    """
    if merged.empty:
        return pd.DataFrame(columns=[by])
    wide = merged.pivot_table(index=by, columns="convoy", values="count", aggfunc="sum", fill_value=0, sort=False)
    wide.columns = [str(c) for c in wide.columns]
    if wide.shape[1] > max_series:
        wide = wide.sum(axis=1).to_frame("all convoys")
    wide = wide.loc[wide.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    wide = wide.astype("int64").reset_index()
    return wide


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return False


def _distinct(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        if _missing(value):
            continue
        text = str(value)
        if text and text not in out:
            out.append(text)
    return out


#: Distinct places, actors or sources listed per convoy on the Summary; the rest are counted.
SUMMARY_LIST_LIMIT = 5


def _joined(work: pd.DataFrame, col: str, limit: int = SUMMARY_LIST_LIMIT) -> dict[str, str]:
    """Per convoy, the distinct non-empty values of ``col`` in order of appearance, joined with "; "."""
    values = work[["convoy", col]].dropna()
    if values.empty:  # no convoy has one (a file without places): indexing by an empty mask would lose the columns
        return {}
    blank = {v: not str(v).strip() for v in pd.unique(values[col])}
    values = values[~values[col].map(blank).astype(bool)].drop_duplicates()
    # One pass in plain Python over the distinct (convoy, value) pairs: a pandas group per convoy is far slower.
    found: dict[str, list[str]] = {}
    for convoy, value in zip(values["convoy"].tolist(), values[col].tolist()):
        found.setdefault(convoy, []).append(value)
    out: dict[str, str] = {}
    for convoy, items in found.items():
        shown = [str(v) for v in items[:limit]]
        more = len(items) - len(shown)
        out[convoy] = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    return out


def _observed(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype(object), errors="coerce", format="ISO8601")


def _as_date(value: Any) -> date | None:
    return None if _missing(value) else value.date()


def _personnel(best: Mapping[str, Any]) -> tuple[Any, Any]:
    personnel = best.get("personnel") or {}
    return personnel.get("min"), personnel.get("max")


def vehicles_range(total: Any, total_max: Any) -> str:
    """``"112 (112-119)"``; just ``"112"`` when the count is exact."""
    if _missing(total):
        return ""
    total = int(total)
    if _missing(total_max) or int(total_max) == total:
        return str(total)
    return f"{total} ({total}-{int(total_max)})"


def summary_table(frame: pd.DataFrame, merged: pd.DataFrame, estimates: Sequence[Mapping]) -> pd.DataFrame:
    """One row per convoy: dates, place, actor, vehicles, best estimate, personnel, sources, best grade."""
    columns = [
        "convoy", "first_seen", "last_seen", "place", "actor", "sightings", "vehicles", "vehicles_max",
        "vehicles_range", "best_estimate", "template", "echelon", "kind", "confidence", "likelihood",
        "personnel_min", "personnel_max", "sources", "best_grade",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    by_convoy = {str(e.get("convoy")): e for e in estimates}
    # Per-convoy facts by group-bys over the whole frame (a Python loop per convoy is far too slow at 10^5 rows).
    work = pd.DataFrame({
        "convoy": convoy_key(frame).astype(object).map(str),
        "sighting_id": frame["sighting_id"].astype(object),
        "observed": _observed(frame["observed_at"]),
        **{col: frame[col].astype(object) for col in ("place", "actor", "source")},
        **_grades(frame),
    })
    groups = work.groupby("convoy", sort=False)
    seen = groups["observed"].agg(["min", "max"])
    n_sightings = groups["sighting_id"].nunique()
    texts = {col: _joined(work, col) for col in ("place", "actor", "source")}
    graded = work[work["grade"] != ""].sort_values(["convoy", "grade_key"], kind="stable")
    grades = graded.drop_duplicates("convoy").set_index("convoy")["grade"]
    totals = merged.groupby("convoy").agg(vehicles=("count", "sum"), vehicles_max=("count_max", "sum"))
    # Plain dicts for the loop below: a pandas lookup per convoy and column costs more than the rest of it.
    first_seen = dict(zip(seen.index, seen["min"].tolist()))
    last_seen = dict(zip(seen.index, seen["max"].tolist()))
    n_sightings = dict(zip(n_sightings.index, n_sightings.tolist()))
    total_of = dict(zip(totals.index, totals["vehicles"].tolist()))
    total_max_of = dict(zip(totals.index, totals["vehicles_max"].tolist()))
    grades = dict(zip(grades.index, grades.tolist()))
    rows = []
    for convoy in seen.index:
        est = by_convoy.get(convoy, {})
        best = est.get("best") or {}
        vehicles = est.get("vehicles") or {}
        total = vehicles.get("total", total_of.get(convoy))
        total_max = vehicles.get("total_max", total_max_of.get(convoy))
        pmin, pmax = _personnel(best)
        confidence = best.get("confidence")
        rows.append({
            "convoy": convoy,
            "first_seen": _as_date(first_seen[convoy]),
            "last_seen": _as_date(last_seen[convoy]),
            "place": texts["place"].get(convoy, ""),
            "actor": texts["actor"].get(convoy, ""),
            "sightings": int(n_sightings[convoy]),
            "vehicles": None if _missing(total) else int(total),
            "vehicles_max": None if _missing(total_max) else int(total_max),
            "vehicles_range": vehicles_range(total, total_max) or ("loss reports only" if _missing(total) else ""),
            "best_estimate": best.get("label"),
            "template": best.get("template"),
            "echelon": best.get("echelon"),
            "kind": best.get("kind"),
            "confidence": None if _missing(confidence) else float(confidence),
            "likelihood": probability_words(confidence) if not _missing(confidence) else None,
            "personnel_min": pmin,
            "personnel_max": pmax,
            "sources": texts["source"].get(convoy, ""),
            "best_grade": grades.get(convoy, ""),
        })
    out = pd.DataFrame(rows, columns=columns)
    for col in ("sightings", "vehicles", "vehicles_max", "personnel_min", "personnel_max"):
        out[col] = out[col].astype("Int64")
    out["confidence"] = out["confidence"].astype("Float64")
    # Chronological, as a reader follows events.
    return out.sort_values(["first_seen", "convoy"], kind="stable", na_position="last").reset_index(drop=True)


def _grades(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Per row the Admiralty grade text and a sort key (best first, missing last), made once per distinct pair."""
    memo: dict[tuple, tuple[str, str]] = {}
    grade, key = [], []
    for r, c in zip(frame["reliability"].astype(object).tolist(), frame["credibility"].astype(object).tolist()):
        pair = (None if _missing(r) else r, None if _missing(c) else c)
        found = memo.get(pair)
        if found is None:
            found = memo[pair] = (grade_text(r, c), ("Z" if _missing(r) else str(r)) + ("9" if _missing(c) else str(int(c))))
        grade.append(found[0])
        key.append(found[1])
    return {"grade": grade, "grade_key": key}


def breakdown_text(breakdown: Any) -> str:
    """An estimate's breakdown in one line: ``"2 x tank platoon, 2 x IFV platoon (+ 2 apc)"``."""
    if breakdown is None:
        return ""
    if isinstance(breakdown, Mapping):
        return ", ".join(f"{k}: {_scalar_text(v)}" for k, v in breakdown.items())
    if not isinstance(breakdown, (list, tuple)):
        return str(breakdown)
    units, rest = [], []
    for item in breakdown:
        if isinstance(item, Mapping) and item.get("unit") == "remainder":
            rest.append(f"{_scalar_text(item.get('vehicles'))} {item.get('category')}")
        else:
            units.append(_scalar_text(item))
    text = ", ".join(units)
    if rest:
        text += (" " if text else "") + f"(+ {', '.join(rest)} not in a sub-unit)"
    return text


def _scalar_text(value: Any) -> str:
    if isinstance(value, Mapping):
        label = value.get("unit") or value.get("label") or value.get("name") or value.get("template")
        count = value.get("count", value.get("n"))
        if label is not None and count is not None:
            return f"{_scalar_text(count)} x {label}"
        return ", ".join(f"{k} {_scalar_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_scalar_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def estimates_table(estimates: Sequence[Mapping]) -> pd.DataFrame:
    """Best estimate and alternatives per convoy: rank, template, label, confidence, score, wins, breakdown, personnel.

    ``score`` is the template's fit to the counts (0-1), ``wins`` the share
    of count scenarios it won; ``confidence`` belongs to the best estimate.
    """
    columns = [
        "convoy", "rank", "best", "template", "label", "kind", "echelon", "confidence", "score", "wins",
        "breakdown", "personnel_min", "personnel_max",
    ]
    rows = []
    for est in estimates:
        best = est.get("best") or {}
        convoy = str(est.get("convoy"))
        ranked = ([dict(best, best=True)] if best else []) + [
            dict(alt, best=False) for alt in est.get("alternatives") or []
            if not (best and alt.get("template") == best.get("template"))
        ]
        for rank, item in enumerate(ranked, start=1):
            pmin, pmax = _personnel(item)
            rows.append({
                "convoy": convoy, "rank": rank, "best": item["best"], "template": item.get("template"),
                "label": item.get("label"), "kind": item.get("kind"), "echelon": item.get("echelon"),
                "confidence": item.get("confidence"), "score": item.get("score"), "wins": item.get("wins"),
                "breakdown": breakdown_text(item.get("breakdown")) or None,
                "personnel_min": pmin, "personnel_max": pmax,
            })
    out = pd.DataFrame(rows, columns=columns)
    out["rank"] = out["rank"].astype("Int64")
    for col in ("confidence", "score", "wins"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Float64")
    for col in ("personnel_min", "personnel_max"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    out["best"] = out["best"].astype("boolean")
    return out


def values_text(values: Any) -> str:
    """The numbers that drove a rule, as compact JSON (``{"tanks": 6, "min": 4}``)."""
    if values is None or values == {}:
        return ""
    if isinstance(values, Mapping):
        return json.dumps(values, ensure_ascii=False, default=str, sort_keys=False)
    return str(values)


def trace_table(estimates: Sequence[Mapping]) -> pd.DataFrame:
    """Every rule the estimator evaluated, per convoy and template: passed, weight, reason, values."""
    columns = ["convoy", "template", "best", "rule", "passed", "weight", "score", "reason", "values"]
    rows = []
    for est in estimates:
        best_template = (est.get("best") or {}).get("template")
        for item in est.get("trace") or []:
            rows.append({
                "convoy": str(est.get("convoy")),
                "template": item.get("template"),
                "best": item.get("template") == best_template,
                "rule": item.get("rule"),
                "passed": bool(item.get("passed")),
                "weight": item.get("weight"),
                "score": item.get("score"),
                "reason": item.get("reason"),
                "values": values_text(item.get("values")),
            })
    out = pd.DataFrame(rows, columns=columns)
    out["weight"] = pd.to_numeric(out["weight"], errors="coerce").astype("Float64")
    out["score"] = pd.to_numeric(out["score"], errors="coerce").astype("Float64")
    out["passed"] = out["passed"].astype("boolean")
    out["best"] = out["best"].astype("boolean")
    return out


def _evidence_text(evidence: Any) -> str:
    if evidence is None:
        return ""
    if isinstance(evidence, (list, tuple, set)):
        return "; ".join(str(e) for e in evidence)
    return str(evidence)


def holdings_table(holdings: Iterable[Any]) -> pd.DataFrame:
    """Holdings per actor and equipment from :func:`orbat.inventory.holdings` results."""
    columns = [
        "actor", "equipment", "label", "arrived", "seen_max", "destroyed", "damaged", "abandoned", "captured",
        "holdings", "holdings_max", "evidence",
    ]
    rows = []
    for holding in holdings:
        data = holding.to_dict() if hasattr(holding, "to_dict") else dict(holding)
        row = {col: data.get(col) for col in columns}
        row["evidence"] = _evidence_text(data.get("evidence"))
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns)
    for col in columns[3:-1]:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


def holdings_with_fleet(held: pd.DataFrame, fleet: pd.DataFrame) -> pd.DataFrame:
    """The holdings with the fleet estimate from markings beside the lower bound (after ``holdings_max``).

    ``fleet_estimate``, ``fleet_low``, ``fleet_high`` and ``fleet_method``
    are empty where no estimate exists for that actor and type.
    """
    if fleet.empty or held.empty:
        return held
    extra = fleet.loc[fleet["estimate"].notna(), ["actor", "equipment", "estimate", "low", "high", "method"]]
    extra = extra.rename(columns={c: f"fleet_{c}" for c in ("estimate", "low", "high", "method")})
    joined = held.merge(extra, on=["actor", "equipment"], how="left", sort=False)
    columns = list(held.columns)
    at = columns.index("holdings_max") + 1 if "holdings_max" in columns else len(columns)
    order = columns[:at] + [c for c in extra.columns if c not in ("actor", "equipment")] + columns[at:]
    return joined.loc[:, order]


def _fleet_table(frame: pd.DataFrame, catalog, actors, as_of: str | None) -> pd.DataFrame:
    from orbat.fleet import fleet_estimates, fleet_table

    if actors is None:  # the names the holdings use, so the two join
        from orbat.actors import load_actors

        actors = load_actors()
    return fleet_table(fleet_estimates(frame, catalog, actors, as_of=as_of).estimates)


# --------------------------------------------------------------------------- building


def _estimate_dicts(frame: pd.DataFrame, catalog, doctrine) -> list[dict]:
    from orbat.estimate import estimate_convoys, to_dicts

    return to_dicts(estimate_convoys(frame, catalog, doctrine=doctrine))


def _inventory_tables(frame: pd.DataFrame, catalog, actors, as_of) -> tuple[pd.DataFrame, pd.DataFrame, str | None] | None:
    """Holdings and a monthly timeline, or None when the inventory module is not installed."""
    try:
        from orbat import inventory
    except ImportError:
        return None
    if actors is None:
        from orbat.actors import load_actors

        actors = load_actors()
    held = holdings_table(inventory.holdings(frame, catalog, actors, as_of=as_of, by="type"))
    timeline_actor = None
    timeline = pd.DataFrame()
    if not held.empty:
        # The line chart follows the actor with the most holdings: one readable line set.
        ranked = held.groupby("actor")["holdings"].sum().sort_values(ascending=False, kind="stable")
        timeline_actor = str(ranked.index[0])
        timeline = inventory.timeline(frame, catalog, actors, actor=timeline_actor, freq="MS")
        if timeline.shape[1]:
            timeline = timeline.assign(total=timeline.sum(axis=1))
        timeline = timeline.reset_index()
    return held, timeline, timeline_actor


def build_report(
    frame: pd.DataFrame,
    catalog,
    *,
    estimates: Sequence[Mapping] | None = None,
    doctrine=None,
    actors=None,
    inventory: bool = True,
    filters: Mapping[str, Any] | None = None,
    title: str = "orbat report",
    generated_at: datetime | None = None,
    orbat=None,
) -> Report:
    """Every table of a report from a canonical sightings frame.

    ``estimates`` are the estimator's dicts (``ConvoyEstimate.to_dict()``);
    when None they are computed with :func:`orbat.estimate.estimate_convoys`.
    The inventory tables are added when ``inventory`` is true and
    :mod:`orbat.inventory` is available; the ORBAT table when ``orbat`` (an
    :class:`orbat.units.Orbat`) has units.
    """
    if estimates is None:
        estimates = _estimate_dicts(frame, catalog, doctrine) if not frame.empty else []
    estimates = [dict(e) for e in estimates]
    merged = merged_counts(frame, catalog)
    tables: dict[str, pd.DataFrame] = {
        "summary": summary_table(frame, merged, estimates),
        "sightings": sightings_table(frame),
        "equipment_by_category": equipment_by_category(merged),
        "equipment_by_type": merged,
        "estimates": estimates_table(estimates),
        "trace": trace_table(estimates),
    }
    timeline_actor = None
    if inventory and not frame.empty:
        until = (filters or {}).get("until")
        # Holdings as of the end of the period shown (a date: --until may also carry a time).
        found = _inventory_tables(frame, catalog, actors, str(until)[:10] if until else None)
        if found is not None:
            tables["holdings"], tables["timeline"], timeline_actor = found
    if orbat is not None and len(orbat.register):
        tables["orbat"] = orbat.table(estimates)
    if not frame.empty:
        until = (filters or {}).get("until")
        fleet = _fleet_table(frame, catalog, actors, str(until)[:10] if until else None)
        if not fleet.empty:
            tables["fleet"] = fleet
            if "holdings" in tables:
                tables["holdings"] = holdings_with_fleet(tables["holdings"], fleet)
    generated = generated_at or datetime.now(UTC)
    if generated.tzinfo is not None:
        generated = generated.astimezone(UTC).replace(tzinfo=None)
    return Report(
        title=title,
        generated_at=generated.replace(microsecond=0),
        filters={k: str(v) for k, v in (filters or {}).items() if v not in (None, "")},
        tables=tables,
        composition={"category": composition(merged, "category"), "role": composition(merged, "role")},
        estimates=estimates,
        timeline_actor=timeline_actor,
        map_layers=_map_layers(frame, catalog, estimates),
    )


def _map_layers(frame: pd.DataFrame, catalog, estimates: Sequence[Mapping]):
    from orbat.maplayers import build_map_layers

    return build_map_layers(frame, catalog, estimates=estimates)


def export_report(
    store,
    catalog,
    out: str | Path,
    *,
    doctrine=None,
    actors=None,
    convoy: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    max_rows: int | None = None,
    db_url: str | None = None,
) -> tuple[Report, list[Path]]:
    """Build the report of the stored sightings matching the filters and write it to ``out``.

    The format follows ``out``: ``.xlsx``, ``.csv`` (one ``OUT-<table>.csv``
    per table), ``.json`` or a folder. Raises :class:`OrbatError` when no
    sighting matches (an empty report would only hide a mistyped filter).
    """
    report_format(out)  # a wrong suffix fails before any work
    frame = store.sightings_frame(convoy=convoy, actor=actor, since=since, until=until)
    filters = {"convoy": convoy, "actor": actor, "since": since, "until": until}
    if frame.empty:
        where = getattr(store, "where", "the database")
        raise OrbatError(f"no sightings in {where} match the filters ({filter_text(filters)}); nothing was written")
    from orbat.units import load_orbat

    orbat = load_orbat(store, frame=frame, db_url=db_url, actors=actors)
    report = build_report(frame, catalog, doctrine=doctrine, actors=actors, filters=filters, orbat=orbat)
    return report, write_report(report, out, max_rows=max_rows)


def export_scenario(store, catalog, out: str | Path, *, actors=None, db_url: str | None = None,
                    units: Sequence[str | Path] = (), identity: str = "unknown",
                    generated_at: datetime | None = None) -> tuple[dict, Path]:
    """Write the stored order of battle as an ORBAT Mapper scenario (:mod:`orbat.formats.orbat_mapper`).

    Every unit of the register (units files, ``units set``, units named in the
    sightings) with its equipment figures and located sightings; ``identity``
    (unknown, friend, hostile, ...) is every side's standard identity.
    """
    from orbat.formats.orbat_mapper import scenario, write_scenario
    from orbat.units import IDENTITIES, load_orbat

    if identity not in IDENTITIES:
        raise UsageError(f"unknown identity {identity!r}; expected one of: {', '.join(IDENTITIES)}")
    orbat = load_orbat(store, db_url=db_url, units=units, actors=actors)
    sides = orbat.sides(catalog, identity=identity)
    if not sides:
        where = getattr(store, "where", "the database")
        raise OrbatError(f"no units in {where}: no sighting names a unit and none was set "
                         "(orbat units set NAME); nothing was written")
    used = sorted(set(orbat.equipment()["equipment_id"])) if len(orbat.frame) else []
    types = [{"name": catalog.items[e].name, "sidc": getattr(catalog.items[e], "sidc", None)}
             for e in used if e in catalog.items]
    data = scenario(sides, name=f"orbat: order of battle ({getattr(store, 'where', 'database')})",
                    identity=IDENTITIES[identity], created=generated_at, equipment_types=types)
    return data, write_scenario(data, out)


def convoy_frame(store, convoy: str) -> pd.DataFrame:
    """The stored rows of one convoy: its ``convoy`` key, or a lone sighting's id."""
    frame = store.sightings_frame(convoy=convoy)
    if frame.empty:
        alone = store.sightings_frame(sighting_ids=[convoy])
        frame = alone[alone["convoy"].isna() | (alone["convoy"].astype(object) == "")] if len(alone) else alone
    return frame


def convoy_assessment(store, catalog, convoy: str, *, doctrine=None) -> str:
    """The Markdown assessment (:func:`orbat.assessment.markdown_assessment`) of one stored convoy."""
    from orbat.assessment import markdown_assessment

    frame = convoy_frame(store, convoy)
    if frame.empty:
        where = getattr(store, "where", "the database")
        raise OrbatError(f"no convoy {convoy!r} in {where} (a convoy key, or the id of a sighting without one)")
    from orbat.estimate import estimate_convoys

    found = estimate_convoys(frame, catalog, doctrine, convoys=[convoy])
    if not found:
        raise OrbatError(f"convoy {convoy!r} has no vehicles to estimate (only loss rows?)")
    return markdown_assessment(found[0].to_dict(), frame)


# --------------------------------------------------------------------------- writing


def report_format(out: str | Path) -> str:
    """``xlsx``, ``csv``, ``json`` or ``dir`` from an output path (a folder: trailing slash, existing dir or no suffix)."""
    text = str(out)
    path = Path(text)
    if text.endswith(("/", "\\")) or path.is_dir():
        return "dir"
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".csv", ".json"):
        return suffix[1:]
    if suffix == "":
        return "dir"
    raise UsageError(f"{out}: cannot tell the format from {suffix!r}; use .xlsx, .csv, .json or a folder")


def write_report(report: Report, out: str | Path, *, max_rows: int | None = None) -> list[Path]:
    """Write a report as .xlsx, CSV files, a JSON file or a folder of CSV files; returns the files written."""
    fmt = report_format(out)
    path = Path(out)
    if fmt == "xlsx":
        from orbat.excel.report import EXCEL_MAX_ROWS, write_workbook

        write_workbook(report, path, max_rows=max_rows or EXCEL_MAX_ROWS)
        return [path]
    if fmt == "json":
        _check_parent(path)
        _atomic_write(path, json.dumps(report_json(report), ensure_ascii=False, indent=1, default=str))
        return [path]
    if fmt == "dir":
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OrbatError(f"{path}: cannot create the folder ({exc.strerror})") from None
        targets = {name: path / f"{name}.csv" for name in report.tables}
    else:
        _check_parent(path)
        targets = {name: path.with_name(f"{path.stem}-{name}.csv") for name in report.tables}
    written = []
    for name, target in targets.items():
        _atomic_write(target, csv_text(report.tables[name]))
        written.append(target)
    return written


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file (a Markdown assessment) atomically; errors name the file."""
    path = Path(path)
    _check_parent(path)
    _atomic_write(path, text)
    return path


def _check_parent(path: Path) -> None:
    if not path.parent.exists():
        raise OrbatError(f"{path}: the folder {path.parent} does not exist")


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file so a failed export never leaves half a file behind."""
    with replaced_when_done(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def _is_text_column(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


def csv_text(table: pd.DataFrame) -> str:
    """A table as CSV, free text escaped against formula injection (numbers stay numbers).

    A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a
    leading ``'`` (:func:`orbat.sightings.escape_formula_text`), which
    ``orbat import`` strips again, so the sightings CSV re-imports unchanged.
    """
    from orbat.sightings import escape_formula_text

    out = table.copy()
    for col in out.columns:
        if _is_text_column(out[col]):
            out[col] = out[col].map(lambda v: v if not isinstance(v, str) else escape_formula_text(v), na_action="ignore")
    return out.to_csv(index=False, lineterminator="\r\n")


def _json_value(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def report_json(report: Report) -> dict[str, Any]:
    """The report as one JSON object: metadata, then table name -> list of records."""
    data: dict[str, Any] = {
        "title": report.title,
        "generated_at": report.generated_at.isoformat() + "Z",
        "filters": dict(report.filters),
    }
    for name, table in report.tables.items():
        records = table.astype(object).to_dict(orient="records")
        data[name] = [{k: _json_value(v) for k, v in rec.items()} for rec in records]
    return data


def __getattr__(name: str):
    # The Markdown assessment moved to orbat.assessment; still importable from here, as it always was.
    if name in ("markdown_assessment", "md_escape"):
        import orbat.assessment

        return getattr(orbat.assessment, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
