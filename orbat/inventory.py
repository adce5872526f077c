"""The holdings ledger: what each actor holds, as of any date.

Input is the canonical sightings frame (``docs/ARCHITECTURE.md``); its
``event`` column says what each row means for the ledger:

- ``arrival``: the convoy's vehicles join the actor's holdings on that date.
  Rows of one convoy are the same vehicles, so they are max-merged per type
  (the largest count any one sighting of the convoy gave), then convoys add up.
- ``sighting``: presence. The largest count seen at once (one convoy,
  max-merged) is a lower bound on holdings; it adds nothing to arrivals.
- ``destroyed``, ``abandoned``, ``captured``: each row's count leaves the
  actor. The same evidence entered twice (same ``sighting_id``, equipment,
  mode and event) counts once; a sighting's driven and carried rows add up.
  A ``captured`` row's ``captor`` gains the vehicles, as an arrival on that
  date.
- ``damaged``: reported, not subtracted.

Holdings of an actor and a type as of D::

    max(arrived, seen_max) - (destroyed + abandoned + captured), floored at 0

over rows observed on or before D. ``holdings_max`` is the same with each
row's ``count_max`` (where given) for arrivals and sightings, so the pair is
a range. Actor names resolve through :mod:`orbat.actors`; a succession in
force on D moves a predecessor's rows to its successor (Wagner's Mali
holdings are Africa Corps' from 6 June 2025). Names not in the actor list
are kept as written.

Everything is vectorised with pandas: an Oryx-style loss list of 10^5 rows
is a few group-bys.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from orbat.actors import ActorList
from orbat.catalog import Catalog
from orbat.names import normalize_name
from orbat.observation import as_possible, decoy_rows
from orbat.convoy import convoy_keys
from orbat.errors import OrbatError, UsageError
from orbat.sightings import EVENTS

#: How holdings can be grouped: per catalog type, per family, per category.
GROUPINGS: tuple[str, ...] = ("type", "family", "category")
#: Events whose count leaves the actor's holdings.
SUBTRACTED: tuple[str, ...] = ("destroyed", "abandoned", "captured")
#: A loss row's evidence: rows sharing it are one loss entered twice (counted once, the largest kept).
#: The store's entry key with the holder for the actor (a predecessor's row is its successor's).
LOSS_KEY: tuple[str, ...] = ("sid", "type", "mode", "event", "holder")
#: Events reported per actor and group, in output order.
LOSS_COLUMNS: tuple[str, ...] = ("destroyed", "damaged", "abandoned", "captured")

_NEEDED = ("sighting_id", "convoy", "observed_at", "actor", "equipment_id", "count", "count_max", "event", "captor")
# Actor keys: a listed actor's id, or this prefix + the name as written.
_UNLISTED = "?:"
_NO_ACTOR = "(no actor)"


@dataclass(frozen=True)
class Holding:
    """What one actor holds of one equipment type (or family, or category) as of a date.

    ``holdings`` is the figure, ``holdings_max`` its upper bound from count
    ranges; ``evidence`` lists every sighting id behind the figure.
    """

    actor: str
    equipment: str
    label: str
    arrived: int
    seen_max: int
    destroyed: int
    damaged: int
    abandoned: int
    captured: int
    holdings: int
    holdings_max: int
    evidence: tuple[str, ...]
    actor_id: str | None = None
    as_of: str | None = None
    #: Vehicles lost under a family or category name (``T-72``, ``tank``) counted against this line: all of
    #: them when it is the only line they can be, else up to ``placed`` (then holdings..holdings_max is a range).
    placed: int = 0
    placed_from: tuple[str, ...] = ()

    @property
    def lost(self) -> int:
        """Vehicles that left the actor: destroyed, abandoned or captured."""
        return self.destroyed + self.abandoned + self.captured

    @property
    def reason(self) -> str:
        """How the figure was reached, in words (the ledger explains itself)."""
        base = max(self.arrived, self.seen_max)
        source = "arrived" if self.arrived >= self.seen_max else "largest single sighting"
        text = f"max(arrived {self.arrived}, largest sighting {self.seen_max}) = {base} ({source})"
        if self.lost:
            text += (
                f" - lost {self.lost} (destroyed {self.destroyed}, abandoned {self.abandoned},"
                f" captured {self.captured})"
            )
        if base - self.lost < 0:
            text += f" = {base - self.lost}, floored at 0 (losses exceed recorded arrivals)"
        else:
            text += f" = {self.holdings}"
        if self.damaged:
            text += f"; {self.damaged} damaged, not subtracted"
        if self.placed:
            named = ", ".join(self.placed_from)
            if self.holdings_max > self.holdings:
                text += (f"; up to {self.placed} lost as {named} may be these (not placeable on one type):"
                         f" {self.holdings}-{self.holdings_max}")
            else:
                text += f"; {self.placed} lost as {named} counted here (the only {named} held)"
        return text

    def to_dict(self) -> dict:
        """The holding as plain JSON-ready data."""
        return {
            "actor": self.actor,
            "equipment": self.equipment,
            "label": self.label,
            "arrived": self.arrived,
            "seen_max": self.seen_max,
            "destroyed": self.destroyed,
            "damaged": self.damaged,
            "abandoned": self.abandoned,
            "captured": self.captured,
            "holdings": self.holdings,
            "holdings_max": self.holdings_max,
            "evidence": list(self.evidence),
            "placed": self.placed,
        }


# --------------------------------------------------------------------------- inputs


def parse_date(value: str | dt.date | None, what: str = "--as-of") -> dt.date | None:
    """A date from ``YYYY-MM-DD`` (or a date/datetime); :class:`UsageError` otherwise."""
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a date; expected YYYY-MM-DD") from None


def _check_by(by: str) -> None:
    if by not in GROUPINGS:
        raise UsageError(f"unknown grouping {by!r}; expected one of: {', '.join(GROUPINGS)}")


class _Names:
    """Actor keys for the names written in a frame, and their display names."""

    def __init__(self, actors: ActorList):
        self.actors = actors
        self.display: dict[str, str] = {}

    def key(self, written) -> str:
        if not isinstance(written, str) or not written.strip():
            key = _UNLISTED + _NO_ACTOR
            self.display[key] = _NO_ACTOR
            return key
        actor = self.actors.resolve(written)
        if actor is not None:
            self.display[actor.id] = actor.name
            return actor.id
        key = _UNLISTED + written.strip()
        self.display[key] = written.strip()
        return key

    def keys(self, column: pd.Series) -> pd.Series:
        """Vectorised :meth:`key`: each distinct name is resolved once."""
        return _per_distinct(column.astype("object").where(column.notna(), None), self.key)

    def holder_on(self, keys: pd.Series, on: dt.date | None) -> pd.Series:
        """Who holds each key's equipment on ``on``: successions in force applied."""
        mapping = {}
        for key in pd.unique(keys.dropna()):
            holder = key if key.startswith(_UNLISTED) else self.actors.successor_on(key, on)
            if not holder.startswith(_UNLISTED) and holder not in self.display:
                self.display[holder] = self.actors.get(holder).name
            mapping[key] = holder
        return keys.map(mapping)


def _per_distinct(column: pd.Series, convert) -> pd.Series:
    """``column.map(convert)`` (missing values passed as None), calling ``convert`` once per distinct value."""
    values = column.astype("object")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = np.empty(len(uniques) + 1, dtype=object)
    converted[:-1] = [convert(v) for v in uniques]
    missing = codes == -1
    if missing.any():  # the missing value as written (None, NaN, NA), as a per-row map would see it
        converted[-1] = convert(values.to_numpy()[missing.argmax()])
    return pd.Series(converted[codes], index=column.index, dtype="object")


def _group_of(catalog: Catalog, by: str) -> tuple[callable, callable]:
    """Functions giving an equipment id's group key and a group key's label."""

    def entry(equipment_id):
        try:
            return catalog.get(equipment_id)
        except KeyError:  # an id a stored row has but this catalog lacks: keep it visible
            return None

    if by == "type":
        def key(equipment_id):
            return equipment_id

        def label(group):
            found = entry(group)
            if found is not None:
                return found.name
            return group[1:] + " (not in catalog)" if group.startswith("?") else group
    elif by == "family":
        def key(equipment_id):
            found = entry(equipment_id)
            return found.family if found else equipment_id

        def label(group):
            return group
    else:
        def key(equipment_id):
            found = entry(equipment_id)
            return found.category if found else equipment_id

        def label(group):
            return group
    return key, label


def _nodes(catalog: Catalog, by: str, groups) -> dict[str, tuple[int, str | None, str | None]]:
    """Per group key: its naming level and its family and category nodes (None when not in the catalog).

    With ``by`` type a group is a catalog id at type, family or category
    level (:func:`orbat.convoy.naming_levels`); with ``by`` family a group is
    a family, and the families of category-level entries (``tank``) sit at
    category level.
    """
    from orbat.convoy import naming_levels

    levels = naming_levels(catalog)
    out: dict[str, tuple[int, str | None, str | None]] = {}
    if by == "type":
        for g in groups:
            e = catalog.entries.get(g)
            out[g] = (levels[e.id], f"{e.category}/{e.family}", e.category) if e is not None else (0, None, None)
    elif by == "family":
        top = {(e.category, e.family) for e in catalog.entries.values() if levels[e.id] == 2}
        specific = {(e.category, e.family) for e in catalog.entries.values() if levels[e.id] < 2}
        category_of = {e.family: e.category for e in catalog.entries.values()}
        for g in groups:
            cat = category_of.get(g)
            level = 2 if (cat, g) in top and (cat, g) not in specific else 0
            out[g] = (level, None, cat)
    else:
        out = {g: (0, None, None) for g in groups}
    return out


def _place_losses(ledger: pd.DataFrame, nodes: dict[str, tuple[int, str | None, str | None]]) -> pd.DataFrame:
    """Count losses named at family or category level against the actor's lines of that node.

    A line named ``tank`` (or ``T-72``) holds its own arrivals and sightings;
    its losses beyond them are vehicles of the node's other lines. With one
    such line holding vehicles they come off it; with several they may come
    off any, so each line's lower figure drops by them (floored at 0) and its
    upper figure stays: a range. Family-level lines are placed first, then
    category-level ones (over the family-level lines too).
    """
    ledger = ledger.copy()
    ledger["placed"] = 0
    ledger["placed_from"] = [() for _ in range(len(ledger))]
    if ledger.empty:
        return ledger
    lost = (ledger["destroyed"] + ledger["abandoned"] + ledger["captured"]).to_numpy()
    base = ledger[["arrived", "seen_max"]].max(axis=1).to_numpy()
    excess = (lost - base).clip(min=0)
    holders = ledger.index.get_level_values("holder")
    groups = ledger.index.get_level_values("group")
    info = [nodes.get(g, (0, None, None)) for g in groups]
    if not any(level > 0 and excess[i] > 0 for i, (level, _, _) in enumerate(info)):
        return ledger  # no line named by family or category lost more than it held: nothing to place
    held = ledger["holdings"].to_numpy(dtype="int64").copy()
    held_max = ledger["holdings_max"].to_numpy(dtype="int64").copy()
    placed = np.zeros(len(ledger), dtype="int64")
    placed_from: list[tuple] = [() for _ in range(len(ledger))]
    for level, node in ((1, 1), (2, 2)):
        # The lines each node's loss may come off: same holder, a more specific name, the same node
        # (in row order); whether one still holds anything is decided when the loss is placed.
        below: dict[tuple, list[int]] = {}
        for k, entry in enumerate(info):
            if entry[0] < level and entry[node] is not None:
                below.setdefault((holders[k], entry[node]), []).append(k)
        for i in range(len(ledger)):
            if info[i][0] != level or excess[i] <= 0 or info[i][node] is None:
                continue
            members = [k for k in below.get((holders[i], info[i][node]), ()) if k != i and held_max[k] > 0]
            if not members:
                continue
            n = int(excess[i])
            label = str(groups[i])
            if len(members) == 1:
                k = members[0]
                held[k] = max(0, int(held[k]) - n)
                held_max[k] = max(0, int(held_max[k]) - n)
            else:
                for k in members:
                    held[k] = max(0, int(held[k]) - n)
            for k in members:
                placed[k] += n
                placed_from[k] = (*placed_from[k], label)
            excess[i] = 0
    ledger["holdings"] = held
    ledger["holdings_max"] = held_max
    ledger["placed"] = placed
    names = np.empty(len(ledger), dtype=object)
    for k, labels in enumerate(placed_from):  # element by element: tuples of one length would become a 2-D array
        names[k] = labels
    ledger["placed_from"] = names
    return ledger


def _prepare(frame: pd.DataFrame, catalog: Catalog, names: _Names, by: str) -> pd.DataFrame:
    """The columns the ledger needs, typed and keyed; one row per input row."""
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        raise OrbatError(f"the sightings frame lacks column(s) {', '.join(missing)}")
    if frame.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="object") for c in ("sid", "convoy", "day", "actor", "captor", "type", "group", "event",
                                                    "mode")}
            | {"count": pd.Series(dtype="int64"), "count_max": pd.Series(dtype="int64")}
        )
    event = frame["event"].astype("object").where(frame["event"].notna(), "sighting")
    # A row without a mode is driven, as the importer reads it.
    mode = frame["mode"].astype("object") if "mode" in frame.columns else pd.Series(None, index=frame.index,
                                                                                      dtype="object")
    mode = mode.where(mode.notna() & (mode != ""), "driven")
    bad = sorted(set(pd.unique(event)) - set(EVENTS))
    if bad:
        raise OrbatError(f"unknown event(s) {', '.join(map(repr, bad))}; expected one of: {', '.join(EVENTS)}")
    count = pd.to_numeric(frame["count"], errors="raise").astype("int64")
    count_max = pd.to_numeric(frame["count_max"], errors="coerce")
    count_max = count_max.where(count_max.notna(), count).astype("int64").clip(lower=count)
    # Decoys (tagged `decoy`) may be no vehicle at all: 0 to n held, and a decoy destroyed is no sure loss.
    low, high = as_possible(count.to_numpy(), count_max.to_numpy(), decoy_rows(frame))
    count, count_max = pd.Series(low, index=count.index), pd.Series(high, index=count.index)
    group_key, _ = _group_of(catalog, by)
    # A name that did not resolve has no id: it is kept under its written name, marked '?'.
    written = "?" + _per_distinct(frame["equipment"].astype("object").fillna(""), lambda v: str(v).strip())
    type_ = frame["equipment_id"].astype("object")
    type_ = type_.where(type_.notna() & (type_ != ""), written)
    return pd.DataFrame(
        {
            "sid": _per_distinct(frame["sighting_id"], str),
            "convoy": _per_distinct(convoy_keys(frame), str),
            "day": _per_distinct(frame["observed_at"], lambda v: str(v)[:10]),
            "actor": names.keys(frame["actor"]),
            "captor": names.keys(frame["captor"]).where(frame["captor"].notna() & (frame["captor"].astype("object") != ""), None),
            "type": type_,
            "group": _per_distinct(type_, group_key),
            "event": event,
            # Driven and carried rows of one loss are different vehicles (the store keys entries by mode too).
            "mode": mode,
            "count": count,
            "count_max": count_max,
        }
    ).reset_index(drop=True)


# --------------------------------------------------------------------------- the ledger


def _ledger(prep: pd.DataFrame, names: _Names, on: dt.date | None, as_of: dt.date | None) -> pd.DataFrame:
    """One row per (holder, group): arrived, seen_max, losses, holdings and their bounds.

    Each kind of row becomes a part with the same key and its own columns;
    one group-by then adds arrivals and losses up and takes the largest
    sighting (few passes over the data, whatever its size).
    """
    rows = prep if as_of is None else prep[prep["day"] <= as_of.isoformat()]
    rows = rows.assign(holder=names.holder_on(rows["actor"], on))
    keys = ["holder", "group"]

    # Arrivals and sightings, as in orbat.convoy.aggregate_convoys: rows of one
    # sighting add up (a type may be on a driven and a carried row), sightings
    # of one convoy are the same vehicles (max), types of one group in one
    # convoy add up. Then arrivals add up over convoys; for sightings the
    # largest convoy is the lower bound.
    convoy = rows[rows["event"].isin(("arrival", "sighting"))]
    convoy = (
        convoy.groupby(["event", "holder", "convoy", "type", "group", "sid"], sort=False)[["count", "count_max"]].sum()
        .groupby(level=["event", "holder", "convoy", "type", "group"], sort=False).max()
        .groupby(level=["event", "holder", "convoy", "group"], sort=False).sum()
        .reset_index()
    )
    arrival = convoy["event"] == "arrival"
    convoy_part = pd.DataFrame({
        "holder": convoy["holder"], "group": convoy["group"],
        "arrived": convoy["count"].where(arrival, 0), "arrived_max": convoy["count_max"].where(arrival, 0),
        "seen_max": convoy["count"].where(~arrival, 0), "seen_max_max": convoy["count_max"].where(~arrival, 0),
    })

    # Losses: the same evidence (sighting id, type, mode, event) entered twice counts once; a
    # sighting's driven and carried rows are different vehicles and add up, as arrivals do.
    # Sorted first so the row kept does not depend on row order: the largest
    # count wins, and a named captor wins over none.
    loss = rows[rows["event"].isin(LOSS_COLUMNS)]
    loss = loss.sort_values(
        [*LOSS_KEY, "count", "count_max", "captor"], kind="stable", na_position="first"
    ).drop_duplicates(list(LOSS_KEY), keep="last")
    loss_part = pd.DataFrame(
        {"holder": loss["holder"], "group": loss["group"]}
        | {event: loss["count"].where(loss["event"] == event, 0) for event in LOSS_COLUMNS}
    )

    # Captures with a captor: the captor gains them as an arrival.
    taken = loss[(loss["event"] == "captured") & loss["captor"].notna()]
    taken = taken.assign(holder=names.holder_on(taken["captor"], on))
    gained_part = pd.DataFrame({
        "holder": taken["holder"], "group": taken["group"],
        "arrived": taken["count"], "arrived_max": taken["count_max"],
    })

    sums = ["arrived", "arrived_max", *LOSS_COLUMNS]
    ledger = (
        pd.concat([convoy_part, loss_part, gained_part], ignore_index=True)
        .reindex(columns=[*keys, *sums, "seen_max", "seen_max_max"])
        .fillna({c: 0 for c in (*sums, "seen_max", "seen_max_max")})
        .groupby(keys, sort=False)
        .agg({**{c: "sum" for c in sums}, "seen_max": "max", "seen_max_max": "max"})
        .astype("int64")
    )

    # Evidence: every sighting id behind a (holder, group) figure, captors' included.
    behind = pd.concat(
        [rows[["holder", "group", "sid"]], taken[["holder", "group", "sid"]]], ignore_index=True
    ).drop_duplicates()
    # A plain pass over the sorted ids: a pandas aggregation per (holder, group) costs far more.
    behind = behind.sort_values("sid", kind="stable")
    ids: dict[tuple, list] = {}
    for key in zip(behind["holder"].tolist(), behind["group"].tolist(), behind["sid"].tolist()):
        ids.setdefault(key[:2], []).append(key[2])
    ledger["evidence"] = [tuple(ids.get(key, ())) for key in ledger.index.tolist()]

    lost = ledger["destroyed"] + ledger["abandoned"] + ledger["captured"]
    base = ledger[["arrived", "seen_max"]].max(axis=1)
    base_max = ledger[["arrived_max", "seen_max_max"]].max(axis=1)
    ledger["holdings"] = (base - lost).clip(lower=0)
    ledger["holdings_max"] = (base_max - lost).clip(lower=0)
    return ledger


def _target(actor: str, names: _Names, prep: pd.DataFrame) -> str:
    """The actor key ``actor`` names: a listed actor's id, or a name as written in the data."""
    listed = names.actors.resolve(actor)
    if listed is not None:
        return listed.id
    wanted = normalize_name(actor)
    for key in pd.unique(pd.concat([prep["actor"], prep["captor"].dropna()])):
        if key.startswith(_UNLISTED) and normalize_name(key[len(_UNLISTED):]) == wanted:
            return key
    names.actors.require(actor)  # raises UnknownActor with suggestions
    raise AssertionError("unreachable")


def holdings(
    frame: pd.DataFrame,
    catalog: Catalog,
    actors: ActorList,
    *,
    as_of: str | dt.date | None = None,
    by: str = "type",
    actor: str | None = None,
) -> list[Holding]:
    """Holdings per actor and equipment type (or ``by`` family or category) as of a date.

    ``as_of`` (``YYYY-MM-DD``, inclusive) defaults to every row, with the
    successions in force today. ``actor`` keeps one actor's holdings (any
    name or alias; a name not in the actor list must appear in the data as
    written); an actor whose holdings passed to a successor by ``as_of`` holds
    nothing. Sorted by actor, then equipment.
    """
    _check_by(by)
    as_of = parse_date(as_of)
    names = _Names(actors)
    prep = _prepare(frame, catalog, names, by)
    target = _target(actor, names, prep) if actor is not None else None
    if prep.empty:
        return []
    on = as_of or dt.date.today()
    ledger = _ledger(prep, names, on, as_of)
    ledger = _place_losses(ledger, _nodes(catalog, by, pd.unique(ledger.index.get_level_values("group"))))
    if target is not None:
        ledger = ledger[ledger.index.get_level_values("holder") == target]
    _, label = _group_of(catalog, by)
    stamp = as_of.isoformat() if as_of else None
    out = []
    # Column lists, not a pandas row per line (thousands of lines for a whole loss list).
    numbers = {c: [int(v) for v in ledger[c].tolist()] for c in (
        "arrived", "seen_max", "destroyed", "damaged", "abandoned", "captured", "holdings", "holdings_max", "placed")}
    for i, ((holder, group), evidence, placed_from) in enumerate(
            zip(ledger.index.tolist(), ledger["evidence"].tolist(), ledger["placed_from"].tolist())):
        out.append(
            Holding(
                actor=names.display[holder],
                equipment=group,
                label=label(group),
                arrived=numbers["arrived"][i],
                seen_max=numbers["seen_max"][i],
                destroyed=numbers["destroyed"][i],
                damaged=numbers["damaged"][i],
                abandoned=numbers["abandoned"][i],
                captured=numbers["captured"][i],
                holdings=numbers["holdings"][i],
                holdings_max=numbers["holdings_max"][i],
                evidence=evidence,
                actor_id=None if holder.startswith(_UNLISTED) else holder,
                as_of=stamp,
                placed=numbers["placed"][i],
                placed_from=tuple(placed_from),
            )
        )
    out.sort(key=lambda h: (h.actor.casefold(), h.equipment))
    return out


def unlisted_actors(frame: pd.DataFrame, actors: ActorList) -> list[str]:
    """Actor and captor names in the frame that the actor list does not know, as written."""
    out: set[str] = set()
    for column in ("actor", "captor"):
        if column not in frame.columns:
            continue
        for name in pd.unique(frame[column].dropna()):
            if isinstance(name, str) and name.strip() and actors.resolve(name) is None:
                out.add(name.strip())
    return sorted(out, key=str.casefold)


def timeline(
    frame: pd.DataFrame,
    catalog: Catalog,
    actors: ActorList,
    *,
    actor: str,
    by: str = "type",
    freq: str = "MS",
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> pd.DataFrame:
    """One actor's holdings per period: rows are period starts, columns groups, values holdings.

    The row labelled with a period's start holds the figure as of the
    period's last day (January 2025 includes a convoy of 17 January).
    Periods run from ``start`` (default: the first row that concerns the
    actor: its own, its predecessors', or a capture it made) to ``end``
    (default: the last row of the frame, or a later succession the actor
    takes part in, so the hand-over shows). Successions apply as of each
    period: a predecessor's line drops to 0 when its successor takes over
    and the successor's rises. ``freq`` is a pandas frequency ("MS" months,
    "QS" quarters, "W" weeks).
    """
    _check_by(by)
    start, end = parse_date(start, "start"), parse_date(end, "end")
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        raise UsageError(f"unknown frequency {freq!r}; expected a pandas frequency such as MS, QS or W") from None
    names = _Names(actors)
    prep = _prepare(frame, catalog, names, by)
    target = _target(actor, names, prep)
    related = {target}
    if not target.startswith(_UNLISTED):
        related.update(actors.predecessors(target))
    mine = prep[prep["actor"].isin(related) | prep["captor"].isin(related)]
    index_name = "month" if freq in ("MS", "M", "ME") else "period"
    if (mine.empty and start is None) or prep.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name=index_name), dtype="int64")
    if start is None:
        start = dt.date.fromisoformat(mine["day"].min())
    if end is None:
        end = dt.date.fromisoformat(prep["day"].max())
        today = dt.date.today()
        for actor_id in related | {target}:
            listed = actors.actors.get(actor_id)
            if listed is not None and listed.succession_date is not None and end < listed.succession_date <= today:
                end = listed.succession_date
    first = offset.rollback(pd.Timestamp(start))
    starts = pd.date_range(first, pd.Timestamp(end), freq=freq)
    ends = [(period + offset - pd.Timedelta(days=1)).date() for period in starts]
    # A period with no new row and no succession has the previous period's figures: only the
    # periods where something changed are worked out, the others repeat them.
    changes = set(mine["day"])
    changes.update(
        a.succession_date.isoformat() for a in actors if a.id in related and a.succession_date is not None
    )
    changes = sorted(changes)
    computed: list[int] = []  # per period: the index of the period whose figures it shows
    previous_day = ""
    for i, last_day in enumerate(ends):
        day = last_day.isoformat()
        after = bisect.bisect_right(changes, previous_day)
        if computed and not (after < len(changes) and changes[after] <= day):
            computed.append(computed[-1])
        else:
            computed.append(i)
        previous_day = day
    worked = sorted(set(computed))
    if not len(mine):
        lines = {}
    elif (mine["count"] < 0).any() or (mine["count_max"] < 0).any():
        # The running sums below need counts that never shrink a total; a frame that did not pass
        # validation may have negative ones: the ledger is re-run as of each period instead.
        lines = {i: _holdings_by_ledger(mine, names, catalog, by, target, ends[i]) for i in worked}
    else:
        lines = _holdings_over_time(mine, names, catalog, by, target, [ends[i] for i in worked])
        lines = dict(zip(worked, lines))
    columns = sorted({g for i in worked for g in lines.get(i, {})}, key=str)
    data = [[lines.get(computed[i], {}).get(g, 0) for g in columns] for i in range(len(starts))]
    table = pd.DataFrame(data, index=pd.DatetimeIndex(starts, name=index_name), columns=columns, dtype="int64")
    table.columns.name = by
    return table


def _holdings_by_ledger(rows: pd.DataFrame, names: _Names, catalog: Catalog, by: str, target: str,
                        day: dt.date) -> dict[str, int]:
    """The target's holdings per group as of ``day``: the whole ledger run once (what :func:`holdings` does)."""
    ledger = _ledger(rows, names, day, day)
    if ledger.empty:
        return {}
    ledger = _place_losses(ledger, _nodes(catalog, by, pd.unique(ledger.index.get_level_values("group"))))
    ledger = ledger[ledger.index.get_level_values("holder") == target]
    return {g: int(v) for g, v in ledger["holdings"].droplevel("holder").items()}


#: The ledger's columns, as the running totals of :func:`_holdings_over_time` carry them.
_SUMMED = ("arrived", "arrived_max", *LOSS_COLUMNS, "present")
_MAXED = ("seen_max", "seen_max_max")


def _holdings_over_time(rows: pd.DataFrame, names: _Names, catalog: Catalog, by: str, target: str,
                        days: list[dt.date]) -> list[dict[str, int]]:
    """The target's holdings per group as of each of ``days`` (sorted), in one pass over the rows.

    The same figures as :func:`_ledger` run as of each day, without running
    it per day: every row is a step in running totals over the rows sorted
    by date. A convoy's count of a type is the running maximum of its
    sightings' counts (a sighting's rows add up); arrivals add those steps
    up, the largest sighting is a running maximum of a convoy's total; a
    loss (sighting, type, event) counts the largest of its duplicates so
    far, and a capture's captor gains it while it is the row kept. Counts
    must not be negative. Successions are applied as of each day: days
    under the same holders share one pass.
    """
    out: list[dict[str, int] | None] = [None] * len(days)
    keys = pd.unique(pd.concat([rows["actor"], rows["captor"].dropna()]))
    segments: dict[tuple, list[int]] = {}
    for i, day in enumerate(days):
        mapping = tuple(names.holder_on(pd.Series(keys, dtype="object"), day)) if len(keys) else ()
        segments.setdefault(mapping, []).append(i)
    for mapping, which in segments.items():
        holder_of = dict(zip(keys, mapping))
        holder = rows["actor"].map(holder_of)
        captor_holder = rows["captor"].map(holder_of)
        groups, tables = _running_ledger(rows, holder, captor_holder, target, [days[i].isoformat() for i in which])
        for i, found in zip(which, _place_target(groups, tables, _nodes(catalog, by, groups), target)):
            out[i] = found
    return out


def _running_ledger(rows: pd.DataFrame, holder: pd.Series, captor_holder: pd.Series, target: str,
                    days: list[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The target's groups, and per ledger column a days x groups table of its figures as of each of ``days``."""
    parts: list[pd.DataFrame] = []  # day, group, and a step of any _SUMMED column
    maxima: list[pd.DataFrame] = []  # day, group, and a value of any _MAXED column
    event = rows["event"]

    # Arrivals and sightings of the target's convoys: a sighting's rows add up per type (up to each
    # day of that sighting), a convoy holds per type the most one sighting showed so far.
    mask = event.isin(("arrival", "sighting")) & (holder == target)
    if mask.any():
        seen = rows.loc[mask, ["event", "convoy", "type", "group", "sid", "day", "count", "count_max"]]
        key = ["event", "convoy", "type", "group"]
        per_day = seen.groupby([*key, "sid", "day"], sort=True)[["count", "count_max"]].sum().reset_index()
        per_day[["count", "count_max"]] = per_day.groupby([*key, "sid"], sort=False)[["count", "count_max"]].cumsum()
        per_day = per_day.sort_values([*key, "day"], kind="stable")
        most = per_day.groupby(key, sort=False)[["count", "count_max"]].cummax()
        step = most - most.groupby([per_day[k] for k in key], sort=False).shift(fill_value=0)
        steps = pd.DataFrame({"day": per_day["day"], "group": per_day["group"], "convoy": per_day["convoy"],
                              "arrival": per_day["event"] == "arrival",
                              "count": step["count"], "count_max": step["count_max"]})
        arrived = steps[steps["arrival"]]
        parts.append(pd.DataFrame({"day": arrived["day"], "group": arrived["group"],
                                   "arrived": arrived["count"], "arrived_max": arrived["count_max"]}))
        sighted = steps[~steps["arrival"]].sort_values("day", kind="stable")
        totals = sighted.groupby(["convoy", "group"], sort=False)[["count", "count_max"]].cumsum()
        maxima.append(pd.DataFrame({"day": sighted["day"], "group": sighted["group"],
                                    "seen_max": totals["count"], "seen_max_max": totals["count_max"]}))
        first = _first_day(seen)
        parts.append(pd.DataFrame({"day": first.to_numpy(), "group": first.index, "present": 1}))

    # Losses: per (sighting, type, mode, event, holder) the row kept so far is the largest by
    # (count, count_max, captor), as _ledger keeps it; its count leaves the holder and, for a
    # capture with a captor, arrives at the captor's holder.
    # Every loss row: a row of another holder may be the one kept over a capture by the target.
    loss_mask = event.isin(LOSS_COLUMNS)
    if loss_mask.any():
        loss = rows.loc[loss_mask, ["sid", "type", "mode", "event", "group", "day", "count", "count_max",
                                    "captor"]].assign(
            holder=holder[loss_mask], taker=captor_holder[loss_mask])
        # The rank of each row's (count, count_max, captor), missing captor first, as the sort in _ledger.
        ordered = loss.sort_values(["count", "count_max", "captor"], kind="stable", na_position="first")
        tied = ordered[["count", "count_max", "captor"]].astype("object")
        before = tied.shift()
        changed = ((tied != before) & ~(tied.isna() & before.isna())).any(axis=1)
        loss["rank"] = changed.cumsum().reindex(loss.index)
        loss = loss.sort_values([*LOSS_KEY, "day"], kind="stable")
        key = [loss[k] for k in LOSS_KEY]
        kept = loss.groupby(key, sort=False)["rank"].cummax()
        by_rank = ordered.assign(rank=changed.cumsum()).drop_duplicates("rank", keep="last").set_index("rank")
        kept_count = by_rank["count"].reindex(kept).to_numpy()
        kept_max = by_rank["count_max"].reindex(kept).to_numpy()
        kept_taker = by_rank["taker"].reindex(kept).to_numpy()
        own = (loss["holder"] == target).to_numpy()
        lost = pd.Series(kept_count * own, index=loss.index)
        lost_step = lost - lost.groupby(key, sort=False).shift(fill_value=0)
        parts.append(pd.DataFrame({"day": loss["day"], "group": loss["group"]}
                                  | {e: lost_step.where(loss["event"] == e, 0) for e in LOSS_COLUMNS}))
        first = _first_day(loss[own])
        parts.append(pd.DataFrame({"day": first.to_numpy(), "group": first.index, "present": 1}))
        gains = (loss["event"] == "captured").to_numpy() & (kept_taker == target)
        gained = pd.DataFrame({"arrived": kept_count * gains, "arrived_max": kept_max * gains,
                               "present": gains.astype("int64")}, index=loss.index)
        gained_step = gained - gained.groupby(key, sort=False).shift(fill_value=0)
        parts.append(gained_step.assign(day=loss["day"], group=loss["group"]))

    # Running sums and maxima per group over the days, read as of each requested day.
    frames = [p for p in parts + maxima if len(p)]
    if not frames:
        return [], {c: np.zeros((len(days), 0), dtype="int64") for c in (*_SUMMED, *_MAXED)}
    all_days = sorted(set().union(*(set(p["day"]) for p in frames)))
    groups = sorted(set().union(*(set(p["group"]) for p in frames)), key=str)
    day_index = {d: i for i, d in enumerate(all_days)}
    group_index = {g: i for i, g in enumerate(groups)}
    # The last day with a row, per requested day (a day before every row reads the zero row at the end).
    at = np.array([bisect.bisect_right(all_days, d) - 1 for d in days], dtype="int64")
    out: dict[str, np.ndarray] = {}
    for columns, combine in ((_SUMMED, "sum"), (_MAXED, "max")):
        found = [p for p in (parts if combine == "sum" else maxima) if len(p)]
        for column in columns:
            table = np.zeros((len(all_days) + 1, len(groups)), dtype="int64")
            for part in found:
                if column not in part.columns:
                    continue
                r = part["day"].map(day_index).to_numpy()
                c = part["group"].map(group_index).to_numpy()
                v = part[column].fillna(0).to_numpy(dtype="int64")
                if combine == "sum":
                    np.add.at(table, (r, c), v)
                else:
                    np.maximum.at(table, (r, c), v)
            body = table[:-1]
            table[:-1] = np.cumsum(body, axis=0) if combine == "sum" else np.maximum.accumulate(body, axis=0)
            out[column] = table[at]
    return groups, out


def _first_day(rows: pd.DataFrame) -> pd.Series:
    """Per group, its earliest day (ISO text, so sorting is enough; no aggregation per group)."""
    first = rows[["group", "day"]].sort_values("day", kind="stable").drop_duplicates("group")
    return pd.Series(first["day"].to_numpy(), index=first["group"].to_numpy())


def _place_target(groups: list[str], tables: dict[str, np.ndarray], nodes, target: str) -> list[dict[str, int]]:
    """Per day (a row of ``tables``): holdings per group of the target's present lines, losses placed.

    The figures of every day at once; only a day where a line named by
    family or category lost more than it held goes through
    :func:`_place_losses` (as a ledger of that day's lines).
    """
    if not groups:
        return [{} for _ in range(len(tables["present"]))]
    lost = tables["destroyed"] + tables["abandoned"] + tables["captured"]
    base = np.maximum(tables["arrived"], tables["seen_max"])
    held = (base - lost).clip(min=0)
    held_max = (np.maximum(tables["arrived_max"], tables["seen_max_max"]) - lost).clip(min=0)
    present = tables["present"] > 0
    level = np.array([nodes.get(g, (0, None, None))[0] for g in groups])
    placing = ((lost > base) & (level > 0) & present).any(axis=1)
    names = np.array(groups, dtype=object)
    out = []
    for k in range(len(present)):
        lines = np.flatnonzero(present[k])
        if not placing[k]:
            out.append(dict(zip(names[lines].tolist(), held[k, lines].tolist())))
            continue
        ledger = pd.DataFrame({c: tables[c][k, lines] for c in (*_SUMMED, *_MAXED)}
                              | {"holdings": held[k, lines], "holdings_max": held_max[k, lines]},
                              index=pd.MultiIndex.from_arrays([[target] * len(lines), names[lines]],
                                                              names=["holder", "group"]))
        ledger = _place_losses(ledger, nodes)
        out.append({g: int(v) for g, v in zip(names[lines].tolist(), ledger["holdings"].tolist())})
    return out
