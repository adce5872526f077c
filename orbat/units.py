"""Named units: the order of battle itself. Names, echelons, branches, the parent tree, symbol codes.

A *unit* has an id, a name, aliases (former names too), an actor, a parent
unit, an echelon (team ... command), a branch (tank, motor rifle, airborne,
...), a MIL-STD-2525D / APP-6(D) symbol code (``sidc``, 20 digits) derived
from branch and echelon, notes and sources.

The register (:class:`UnitRegister`) is built from three layers, later ones
replacing earlier ones with the same id:

1. ``catalogs/units.yaml`` beside a SQLite database, then files given with
   ``--units`` (an analyst's prepared ORBAT, like actors);
2. the units stored in the database by ``orbat units set``;
3. every unit *named* in the sightings (the row-level ``unit`` column) that
   none of the above knows: registered, never refused. Its echelon and branch
   are read from its name by the name rules, its parent is left open, and it
   is listed as *unplaced* until an analyst confirms it with ``units set``.

Name rules are registered code (:mod:`orbat.unit_rules`, by kebab-case id)
whose words are data (``catalogs/unit-rules.yaml``, extensible beside the
database). Every reading says which rule fired and why (:attr:`Unit.reasons`).

The figures of a unit (what it was seen with, what it lost) are computed over
the canonical sightings frame by :func:`unit_equipment`: a row belongs to the
unit it names, else to the unit its convoy is attached to.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from orbat.datafiles import beside_database, named_files, parse_entry_list
from orbat.errors import OrbatError, UsageError
from orbat.names import NameIndex, NamedEntry, normalize_name
from orbat.unit_rules import (  # noqa: F401  (re-exported: the rules are part of the units API)
    ECHELONS,
    IDENTITIES,
    NAME_RULES,
    NO_ECHELON,
    RULE_HELP,
    Branch,
    InvalidUnits,
    NameReading,
    UnitRules,
    load_unit_rules,
    name_rule,
    words_of,
)

UNITS_FILE = "units.yaml"
#: Events whose count leaves a unit's holdings (as in the inventory; ``damaged`` is reported only).
SUBTRACTED: tuple[str, ...] = ("destroyed", "abandoned", "captured")
_PRESENCE = ("sighting", "arrival")
_LOSSES = ("destroyed", "damaged", "abandoned", "captured")


class UnknownUnit(OrbatError):
    """No unit has that name or alias."""


class UnitCycle(OrbatError):
    """A unit would be its own ancestor."""


# --------------------------------------------------------------------------- the noun


class Unit(NamedEntry):
    """One named unit."""

    actor: str | None = Field(default=None, description="who it belongs to, as written or an actor's name")
    parent: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$", description="id of its parent unit")
    echelon: str | None = Field(default=None, description="one of ECHELONS")
    branch: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$", description="a branch id")
    notes: str | None = None
    sources: tuple[str, ...] = ()
    #: where the unit comes from: "file" (YAML), "database" (units set) or "name" (read from a sighting)
    origin: str = Field(default="file", exclude=True)
    #: why its echelon and branch are what they are (the name rules that fired)
    reasons: tuple[str, ...] = Field(default=(), exclude=True)

    @field_validator("echelon")
    @classmethod
    def _known_echelon(cls, value: str | None) -> str | None:
        if value is not None and value not in ECHELONS:
            raise ValueError(f"unknown echelon {value!r}; expected one of: {', '.join(ECHELONS)}")
        return value

    @property
    def placed(self) -> bool:
        """Confirmed by an analyst (a file or ``units set``), not only read from a sighting's text."""
        return self.origin != "name"

    def record(self) -> dict[str, Any]:
        """The unit as the store and ``--json`` keep it."""
        return {"id": self.id, "name": self.name, "aliases": list(self.aliases), "actor": self.actor,
                "parent": self.parent, "echelon": self.echelon, "branch": self.branch, "notes": self.notes,
                "sources": list(self.sources)}


class _UnitsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: list[Unit]


# --------------------------------------------------------------------------- name rules



# --------------------------------------------------------------------------- the register


def unit_id_for(name: str) -> str:
    """A stable id from a name: '423rd Motor Rifle Regiment' -> '423rd-motor-rifle-regiment'."""
    slug = "-".join(words_of(name))[:80].strip("-")
    return slug or "unit"


class UnitRegister(NameIndex[Unit]):
    """Units by id, with an index of their names and aliases, and the parent tree."""

    noun = "unit"
    collision_error = InvalidUnits

    def __init__(self, rules: UnitRules) -> None:
        super().__init__()
        self.rules = rules

    @property
    def units(self) -> dict[str, Unit]:
        """Units by id, in the order they were registered."""
        return self.items

    def require(self, name: str) -> Unit:
        """The unit a name, alias or id resolves to; :class:`UnknownUnit` with the nearest names otherwise."""
        found = self.lookup(name) or self.items.get(name)
        if found is None:
            hint = self.suggest(name)
            raise UnknownUnit(f"unknown unit {name!r}" + (f" (did you mean {', '.join(hint)}?)" if hint else "")
                              + "; `orbat units list` shows the register")
        return found

    def register_name(self, written: str, actor: str | None = None) -> Unit:
        """The unit a written name resolves to, registering it from its name when nobody knows it.

        A new unit gets its echelon and branch from the name rules, no parent,
        and origin ``name`` (unplaced). A name or alias another unit already
        uses is left out of the new unit's aliases (noted in its reasons).
        """
        found = self.lookup(written)
        if found is not None:
            return found
        reading = self.rules.read(written)
        found = self.lookup(reading.name)
        if found is not None:  # "423rd Motor Rifle Regiment (ex-...)" of a known 423rd: remember the variant
            self.add(found.model_copy(update={"aliases": (*found.aliases, written)}), self.origins[found.id])
            return self.items[found.id]
        taken = [a for a in reading.aliases if self.lookup(a) is not None]
        if taken:
            reading.aliases = [a for a in reading.aliases if a not in taken]
            reading.reasons.extend(f"alias {a!r} left out: unit {self.lookup(a).name!r} has that name" for a in taken)
        unit_id, n = unit_id_for(reading.name), 1
        while unit_id in self.items:
            n += 1
            unit_id = f"{unit_id_for(reading.name)}-{n}"
        unit = Unit(id=unit_id, name=reading.name, aliases=tuple(reading.aliases), actor=actor,
                    echelon=reading.echelon, branch=reading.branch,
                    notes="; ".join(reading.notes) or None, origin="name",
                    reasons=tuple(reading.reasons) or ("no name rule fired: echelon and branch unknown",))
        self.add(unit, "sightings")
        return unit

    def add(self, item: Unit, origin: str) -> None:
        super().add(item, origin)
        self._children = None

    def children(self, unit_id: str | None) -> list[Unit]:
        """Units whose parent is ``unit_id`` (None: the roots), by echelon (largest first) then name."""
        if getattr(self, "_children", None) is None:
            index: dict[str | None, list[Unit]] = {}
            for unit in self.items.values():
                parent = unit.parent if unit.parent in self.items else None
                index.setdefault(parent, []).append(unit)
            self._children = {k: sorted(v, key=_tree_order) for k, v in index.items()}
        return list(self._children.get(unit_id, []))

    def ancestors(self, unit_id: str) -> list[str]:
        """Ids from the unit's parent up to its root (a loop stops the walk)."""
        out: list[str] = []
        current = self.items[unit_id].parent
        while current is not None and current in self.items and current not in out and current != unit_id:
            out.append(current)
            current = self.items[current].parent
        return out

    def check_tree(self) -> None:
        """Every parent exists and no unit is its own ancestor; otherwise the error names the units."""
        problems = []
        for unit in self.items.values():
            if unit.parent is not None and unit.parent not in self.items:
                hint = self.suggest(unit.parent)
                problems.append(f"{self.origins[unit.id]}: unit {unit.name!r}: parent {unit.parent!r} is not a unit"
                                + (f" (did you mean {', '.join(hint)}?)" if hint else ""))
        if problems:
            raise UnknownUnit("\n".join(problems))
        for unit in self.items.values():
            loop = self._loop_from(unit.id)
            if loop:
                raise UnitCycle("units would be their own parents: "
                                + " -> ".join(self.items[u].name for u in loop))

    def _loop_from(self, unit_id: str) -> list[str]:
        path = [unit_id]
        current = self.items[unit_id].parent
        while current is not None and current in self.items:
            if current in path:
                return path[path.index(current):] + [current]
            path.append(current)
            current = self.items[current].parent
        return []

    def sidc(self, unit: Unit, identity: str = "unknown") -> str:
        """The unit's symbol code (see :meth:`UnitRules.sidc`)."""
        return self.rules.sidc(unit, identity)

    def unplaced(self) -> list[Unit]:
        """Units read from sightings that no analyst has confirmed yet."""
        return [u for u in self.items.values() if not u.placed]


def _tree_order(unit: Unit) -> tuple:
    rank = list(ECHELONS).index(unit.echelon) if unit.echelon in ECHELONS else -1
    number = re.match(r"\d+", unit.name)
    return (-rank, unit.name.casefold() if number is None else "", int(number.group()) if number else 0,
            unit.name.casefold())


def unit_files(extra: Iterable[str | os.PathLike] = (), db_url: str | None = None) -> list[Path]:
    """The units files to load: ``catalogs/units.yaml`` beside the database, then ``extra``."""
    found = [p for p in [beside_database(db_url, UNITS_FILE)] if p is not None]
    return found + named_files(extra, UNITS_FILE, "units")


def build_register(rules: UnitRules, *, files: Iterable[Path] = (), stored: Iterable[Mapping] = (),
                   named: pd.DataFrame | Sequence[tuple[str, str | None]] | None = None) -> UnitRegister:
    """The register: units files, then stored units, then every unit named in the sightings.

    ``named`` is a canonical sightings frame (its ``unit`` column) or a list
    of (name, actor) as :meth:`orbat.store.Store.named_units` gives; each name
    not yet known is registered from its name
    (:meth:`UnitRegister.register_name`), with the actor most of its rows
    name. The tree is checked last (parents exist, no loops).
    """
    register = UnitRegister(rules)
    for path in files:
        for unit in parse_entry_list(path, _UnitsFile, "units", InvalidUnits):
            register.add(unit, str(path))
    for record in stored:
        register.add(Unit(**{k: v for k, v in record.items() if v is not None}, origin="database"), "the database")
    if isinstance(named, pd.DataFrame):
        named = _named_units(named) if len(named) and "unit" in named.columns else []
    for written, actor in named or ():
        register.register_name(written, actor)
    register.check_tree()
    return register


def _named_units(frame: pd.DataFrame) -> list[tuple[str, str | None]]:
    """Distinct unit names in a frame (first-seen order) with the actor most of their rows name."""
    names = frame["unit"].astype(object)
    present = names.notna().to_numpy()
    if not present.any():
        return []
    part = pd.DataFrame({"unit": names[present].astype(str).str.strip().to_numpy(),
                         "actor": frame["actor"].astype(object)[present].to_numpy()})
    part = part[part["unit"] != ""]
    order = list(dict.fromkeys(part["unit"]))
    # the actor most rows of each unit name (ties: the first in alphabetical order)
    counts = part.dropna(subset=["actor"]).groupby(["unit", "actor"]).size().reset_index(name="n")
    counts = counts.sort_values(["unit", "n", "actor"], ascending=[True, False, True], kind="stable")
    actor_of = counts.drop_duplicates("unit").set_index("unit")["actor"].to_dict()
    return [(written, str(actor_of[written]) if written in actor_of else None) for written in order]


# --------------------------------------------------------------------------- changing a unit


UNSET = object()


def set_unit(register: UnitRegister, name: str, *, new_name: Any = UNSET, parent: Any = UNSET,
             echelon: Any = UNSET, branch: Any = UNSET, actor: Any = UNSET, notes: Any = UNSET,
             add_aliases: Sequence[str] = (), add_sources: Sequence[str] = ()) -> Unit:
    """Create or change a unit; returns it as it is now (the register is updated, not the store).

    ``name`` a unit nobody knows creates it (echelon and branch read from the
    name unless given). ``parent`` must be a known unit (:class:`UnknownUnit`)
    and must not make the unit its own ancestor (:class:`UnitCycle`, naming the
    loop); ``""`` removes the parent. Fields left UNSET keep their value.
    """
    unit = register.lookup(name) or register.items.get(name) or register.register_name(name)
    update: dict[str, Any] = {"origin": "database"}
    if parent is not UNSET:
        if parent in (None, ""):
            update["parent"] = None
        else:
            update["parent"] = register.require(parent).id
    if echelon is not UNSET:
        if echelon not in ECHELONS:
            raise UsageError(f"unknown echelon {echelon!r}; expected one of: {', '.join(ECHELONS)}")
        update["echelon"] = echelon
    if branch is not UNSET:
        if branch not in register.rules.branches:
            raise UsageError(f"unknown branch {branch!r}; expected one of: {', '.join(register.rules.branches)}")
        update["branch"] = branch
    for key, value in (("name", new_name), ("actor", actor), ("notes", notes)):
        if value is not UNSET:
            update[key] = value or None if key != "name" else value
    if add_aliases:
        update["aliases"] = tuple(dict.fromkeys((*unit.aliases, *add_aliases)))
    if add_sources:
        update["sources"] = tuple(dict.fromkeys((*unit.sources, *add_sources)))
    changed = Unit(**{**unit.model_dump(), "reasons": unit.reasons, **update})
    previous = unit
    register.add(changed, "the database")
    try:
        register.check_tree()
    except OrbatError:
        register.add(previous, register.origins.get(previous.id, "the database"))
        raise
    return changed


# --------------------------------------------------------------------------- figures


def row_units(frame: pd.DataFrame, register: UnitRegister, attachments: Mapping[str, str] | None = None) -> pd.Series:
    """Per row, the id of its unit: the one it names, else the one its convoy is attached to (None: no unit)."""
    from orbat.convoy import convoy_keys

    if frame.empty:
        return pd.Series([], dtype=object)
    names = frame["unit"].astype(object) if "unit" in frame.columns else pd.Series(None, index=frame.index)
    ids = {}
    for written in names.dropna().unique():
        found = register.lookup(str(written))
        ids[written] = found.id if found is not None else None
    named = names.map(lambda v: ids.get(v) if v is not None and not (isinstance(v, float) and v != v) else None)
    if attachments:
        attached = convoy_keys(frame).astype(object).map(lambda k: attachments.get(str(k)))
        named = named.where(named.notna(), attached)
    return named.astype(object).where(named.notna(), None)


#: Columns of :func:`unit_equipment`.
EQUIPMENT_COLUMNS: tuple[str, ...] = (
    "unit_id", "equipment_id", "seen_max", "arrived", "destroyed", "damaged", "abandoned", "captured",
    "lost", "count", "on_hand", "evidence",
)


def unit_equipment(frame: pd.DataFrame, units: pd.Series, as_of: str | dt.date | None = None) -> pd.DataFrame:
    """Per unit and equipment type: what it was seen with, what it lost, what it had at least, what it has.

    ``units`` is :func:`row_units` of ``frame``. ``seen_max`` is its largest
    sighting (a convoy's sightings max-merged per type, as the estimator does);
    ``arrived`` adds its convoys' arrivals; losses count every loss row once.
    ``count`` = max(seen_max, arrived, lost): the most it is known to have had
    (a unit known only from its losses had at least those). ``on_hand`` =
    ``count - lost``. ``evidence`` counts the sightings behind the row.
    """
    from orbat.convoy import convoy_keys

    if frame.empty:
        return pd.DataFrame(columns=list(EQUIPMENT_COLUMNS))
    work = pd.DataFrame({
        "unit_id": units.to_numpy(), "convoy": convoy_keys(frame).astype(object).to_numpy(),
        "sid": frame["sighting_id"].astype(object).to_numpy(), "equipment_id": frame["equipment_id"].to_numpy(),
        "count": frame["count"].astype("int64").to_numpy(), "event": frame["event"].astype(object).to_numpy(),
        "observed": frame["observed_at"].astype(str).str.slice(0, 10).to_numpy(),
    })
    work = work[work["unit_id"].notna()]
    if as_of is not None:
        work = work[work["observed"] <= str(as_of)[:10]]
    if work.empty:
        return pd.DataFrame(columns=list(EQUIPMENT_COLUMNS))
    keys = ["unit_id", "equipment_id"]
    presence = work[work["event"].isin(_PRESENCE)]
    per_convoy = (presence.groupby(["unit_id", "convoy", "equipment_id", "event", "sid"])["count"].sum()
                  .groupby(level=["unit_id", "convoy", "equipment_id", "event"]).max())
    seen = per_convoy.groupby(level=keys).max().rename("seen_max")
    arrivals = per_convoy[per_convoy.index.get_level_values("event") == "arrival"]
    arrived = arrivals.groupby(level=keys).sum().rename("arrived")
    losses = (work[work["event"].isin(_LOSSES)].groupby([*keys, "event"])["count"].sum()
              .unstack("event").reindex(columns=list(_LOSSES)))
    evidence = work.groupby(keys)["sid"].nunique().rename("evidence")
    out = pd.concat([seen, arrived, losses, evidence], axis=1).fillna(0).astype("int64").reset_index()
    out["lost"] = out[list(SUBTRACTED)].sum(axis=1)
    out["count"] = out[["seen_max", "arrived", "lost"]].max(axis=1)
    out["on_hand"] = out["count"] - out["lost"]
    return out[list(EQUIPMENT_COLUMNS)].sort_values(keys, kind="stable").reset_index(drop=True)


def convoy_units(frame: pd.DataFrame, units: pd.Series, attachments: Mapping[str, str] | None = None) -> dict[str, str]:
    """Convoy key -> unit id: its attachment, else the unit most of its vehicles' rows name."""
    from orbat.convoy import convoy_keys

    out: dict[str, str] = {}
    if not frame.empty:
        work = pd.DataFrame({"convoy": convoy_keys(frame).astype(object).map(str).to_numpy(),
                             "unit_id": units.to_numpy(), "count": frame["count"].to_numpy()})
        work = work[work["unit_id"].notna()]
        if len(work):
            totals = work.groupby(["convoy", "unit_id"])["count"].sum().reset_index()
            totals = totals.sort_values(["convoy", "count", "unit_id"], ascending=[True, False, True], kind="stable")
            out.update(totals.drop_duplicates("convoy").set_index("convoy")["unit_id"].to_dict())
    out.update(attachments or {})
    return out


def estimate_line(unit: Unit, estimate: Mapping[str, Any]) -> str:
    """'423rd Motor Rifle Regiment: a battalion tactical group (likely, 0.78; convoy X)'."""
    from orbat.report import probability_words

    best = estimate.get("best") or {}
    label = best.get("label") or "no estimate"
    confidence = best.get("confidence")
    article = "an" if str(label)[:1].lower() in "aeiou" else "a"
    how = f"{probability_words(confidence)}, {confidence:.2f}; " if isinstance(confidence, (int, float)) else ""
    return f"{unit.name}: {article} {label} ({how}convoy {estimate.get('convoy')})"


# --------------------------------------------------------------------------- the order of battle


@dataclass
class Orbat:
    """The register, the convoy attachments and the sightings: everything the tree and the exports show."""

    register: UnitRegister
    frame: pd.DataFrame
    attachments: dict[str, str] = field(default_factory=dict)
    actors: Any = None  # an orbat.actors.ActorList, to match --actor by any alias

    def __post_init__(self) -> None:
        self.attribute()

    def attribute(self) -> None:
        """(Re)compute which unit each row belongs to, after the attachments changed."""
        self.units = row_units(self.frame, self.register, self.attachments)
        self._figures: dict[str, pd.DataFrame] = {}

    def equipment(self, as_of: str | dt.date | None = None) -> pd.DataFrame:
        """:func:`unit_equipment` of the sightings (observed on or before ``as_of``); computed once per date."""
        key = str(as_of)
        if key not in self._figures:
            self._figures[key] = unit_equipment(self.frame, self.units, as_of)
        return self._figures[key].copy()

    def convoys(self) -> dict[str, str]:
        """Convoy key -> unit id (:func:`convoy_units`)."""
        return convoy_units(self.frame, self.units, self.attachments)

    def _actor_matches(self, unit: Unit, actor: str | None) -> bool:
        if actor is None:
            return True
        if unit.actor is None:
            return False
        if self.actors is not None:
            want, have = self.actors.resolve(actor), self.actors.resolve(unit.actor)
            if want is not None and have is not None:
                return want.id == have.id
        return normalize_name(unit.actor) == normalize_name(actor)

    def tree(self, *, actor: str | None = None, as_of: str | dt.date | None = None) -> list[TreeRow]:
        """The tree, depth first: confirmed roots with their sub-units, then the unplaced units.

        With ``as_of``, figures count rows observed on or before it, and units
        known only from later sightings are left out. With ``actor``, only that
        actor's units (and their sub-units).
        """
        equipment = self.equipment(as_of)
        totals = (equipment.groupby("unit_id")[["count", "lost", "on_hand"]].sum().to_dict("index")
                  if len(equipment) else {})
        evidence = self._evidence(as_of)
        rows: list[TreeRow] = []

        def visible(unit: Unit) -> bool:
            if as_of is not None and not unit.placed and unit.id not in evidence:
                return False
            return True

        def walk(unit: Unit, depth: int, seen: set[str]) -> None:
            if unit.id in seen or not visible(unit):
                return
            seen.add(unit.id)
            figures = totals.get(unit.id)
            rows.append(TreeRow(
                depth=depth, unit=unit, sidc=self.register.sidc(unit),
                branch_label=self.register.rules.branch_label(unit.branch),
                seen=int(figures["count"]) if figures is not None else 0,
                lost=int(figures["lost"]) if figures is not None else 0,
                on_hand=int(figures["on_hand"]) if figures is not None else 0,
                evidence=evidence.get(unit.id, 0)))
            for child in self.register.children(unit.id):
                walk(child, depth + 1, seen)

        seen: set[str] = set()
        roots = [u for u in self.register.children(None) if self._actor_matches(u, actor)]
        for unit in [u for u in roots if u.placed]:
            walk(unit, 0, seen)
        for unit in [u for u in roots if not u.placed]:
            walk(unit, 0, seen)
        return rows

    def _evidence(self, as_of: str | dt.date | None) -> dict[str, int]:
        if self.frame.empty:
            return {}
        keep = self.units.notna().to_numpy().copy()
        if as_of is not None:
            keep &= (self.frame["observed_at"].astype(str).str.slice(0, 10) <= str(as_of)[:10]).to_numpy()
        part = pd.DataFrame({"unit_id": self.units.to_numpy()[keep],
                             "sid": self.frame["sighting_id"].to_numpy()[keep]})
        return part.groupby("unit_id")["sid"].nunique().to_dict()

    def convoy_unit_names(self) -> dict[str, str]:
        """Convoy key -> "UNIT (attached)" or "UNIT (named by its sightings)": how estimates are reported."""
        out = {}
        for convoy, unit_id in self.convoys().items():
            unit = self.register.items.get(unit_id)
            if unit is not None:
                how = "attached" if convoy in self.attachments else "named by its sightings"
                out[convoy] = f"{unit.name} ({how})"
        return out

    def estimates_by_unit(self, estimates: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
        """Unit id -> the estimates of the convoys that are that unit (named by its rows or attached)."""
        convoys = self.convoys()
        out: dict[str, list] = {}
        for estimate in estimates:
            unit_id = convoys.get(str(estimate.get("convoy")))
            if unit_id is not None and unit_id in self.register.items:
                out.setdefault(unit_id, []).append(estimate)
        return out

    def table(self, estimates: Sequence[Mapping[str, Any]] = ()) -> pd.DataFrame:
        """The ORBAT sheet: the tree, indented, with echelon, branch, SIDC, figures and estimates."""
        by_unit = self.estimates_by_unit(estimates)
        rows = []
        for row in self.tree():
            unit = row.unit
            rows.append({
                "unit": "    " * row.depth + unit.name, "level": row.depth, "unit_id": unit.id,
                "echelon": unit.echelon or "", "branch": row.branch_label, "sidc": row.sidc,
                "actor": unit.actor or "", "placed": "yes" if unit.placed else "no (read from sightings)",
                "equipment_seen": row.seen, "lost": row.lost, "on_hand": row.on_hand, "evidence": row.evidence,
                "estimate": "; ".join(estimate_line(unit, e).split(": ", 1)[1] for e in by_unit.get(unit.id, [])),
                "aliases": "; ".join(unit.aliases), "notes": unit.notes or "",
            })
        columns = ["unit", "level", "unit_id", "echelon", "branch", "sidc", "actor", "placed", "equipment_seen",
                   "lost", "on_hand", "evidence", "estimate", "aliases", "notes"]
        out = pd.DataFrame(rows, columns=columns)
        for col in ("level", "equipment_seen", "lost", "on_hand", "evidence"):
            out[col] = out[col].astype("Int64")
        return out

    def located(self) -> dict[str, list[tuple[str, float, float]]]:
        """Unit id -> its located sightings as (observed_at, lon, lat), oldest first, one per sighting."""
        if self.frame.empty:
            return {}
        part = pd.DataFrame({"unit_id": self.units.to_numpy(), "sid": self.frame["sighting_id"].to_numpy(),
                             "t": self.frame["observed_at"].astype(str).to_numpy(),
                             "lat": self.frame["lat"].to_numpy(), "lon": self.frame["lon"].to_numpy()})
        part = part[part["unit_id"].notna() & part["lat"].notna() & part["lon"].notna()]
        part = part.drop_duplicates(["unit_id", "sid"]).sort_values(["unit_id", "t", "sid"], kind="stable")
        out: dict[str, list] = {}
        for unit_id, t, lon, lat in zip(part["unit_id"], part["t"], part["lon"], part["lat"]):
            out.setdefault(unit_id, []).append((t, float(lon), float(lat)))
        return out

    def sides(self, catalog, *, identity: str = "unknown") -> list[dict[str, Any]]:
        """The tree per actor as plain data for a scenario writer (:mod:`orbat.formats.orbat_mapper`).

        Each side: ``name`` and ``units`` (placed roots) and ``unplaced``; each
        unit: ``id``, ``name``, ``sidc``, ``equipment`` [{name, count, on_hand,
        lost}], ``positions`` [(observed_at, lon, lat)], ``children``.
        """
        if identity not in IDENTITIES:
            raise UsageError(f"unknown identity {identity!r}; expected one of: {', '.join(IDENTITIES)}")
        equipment = self.equipment()
        per_unit: dict[str, list[dict]] = {}
        for row in equipment.itertuples(index=False):
            entry = catalog.items.get(row.equipment_id) if catalog is not None else None
            per_unit.setdefault(row.unit_id, []).append({
                "name": entry.name if entry is not None else str(row.equipment_id), "count": int(row.count),
                "on_hand": int(row.on_hand), "lost": int(row.lost)})
        located = self.located()

        def node(unit: Unit, seen: set[str]) -> dict[str, Any]:
            seen.add(unit.id)
            return {"id": unit.id, "name": unit.name, "sidc": self.register.sidc(unit, identity),
                    "echelon": unit.echelon, "equipment": per_unit.get(unit.id, []),
                    "positions": located.get(unit.id, []),
                    "children": [node(c, seen) for c in self.register.children(unit.id) if c.id not in seen]}

        sides: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        for unit in self.register.children(None):
            actor = self._side_name(unit)
            side = sides.setdefault(normalize_name(actor) or actor, {"name": actor, "units": [], "unplaced": []})
            side["units" if unit.placed else "unplaced"].append(node(unit, seen))
        return list(sides.values())

    def _side_name(self, unit: Unit) -> str:
        if unit.actor is None:
            return "Unknown actor"
        if self.actors is not None:
            found = self.actors.resolve(unit.actor)
            if found is not None:
                return found.name
        return unit.actor


@dataclass(frozen=True)
class TreeRow:
    """One line of the tree."""

    depth: int
    unit: Unit
    sidc: str
    branch_label: str
    seen: int
    lost: int
    on_hand: int
    evidence: int


def tree_text(rows: Sequence[TreeRow]) -> str:
    """The tree as indented text, one unit a line, then the unplaced units under their own heading."""
    lines: list[str] = []
    heading_done = False
    for row in rows:
        unit = row.unit
        if row.depth == 0 and not unit.placed and not heading_done:
            lines.append("Unplaced (read from sightings; confirm with `orbat units set NAME --parent P`):")
            heading_done = True
        indent = "  " * (row.depth + (1 if heading_done else 0))
        kind = ", ".join(x for x in (unit.echelon or "echelon unknown", row.branch_label) if x)
        figures = (f"{row.seen} seen, {row.lost} lost, {row.on_hand} on hand, "
                   f"{row.evidence} sighting{'s' if row.evidence != 1 else ''}")
        lines.append(f"{indent}{unit.name} [{kind}] {row.sidc}: {figures}")
    return "\n".join(lines) + ("\n" if lines else "")


def load_orbat(store, *, frame: pd.DataFrame | None = None, db_url: str | None = None,
               units: Iterable[str | os.PathLike] = (), rules: Iterable[str | os.PathLike] = (),
               actors: Any = None) -> Orbat:
    """The order of battle: units files, stored units, units named in the sightings, attachments.

    The register holds every unit the store's sightings name; ``frame``
    (default: every stored sighting) is what the figures count, so a filtered
    frame keeps the whole register. ``store`` None (sightings read from a
    file, nothing stored): files and the names in ``frame`` only.
    """
    if frame is None:
        frame = store.sightings_frame()
    # with a store, every name its sightings give (not only those of a filtered frame)
    register = build_register(load_unit_rules(rules, db_url=db_url), files=unit_files(units, db_url),
                              stored=store.stored_units() if store is not None else (),
                              named=store.named_units() if store is not None else frame)
    return Orbat(register, frame, store.unit_attachments() if store is not None else {}, actors)


def update_unit(store, orbat: Orbat, name: str, **changes: Any) -> Unit:
    """:func:`set_unit` on the register, then store the unit (``orbat units set``)."""
    unit = set_unit(orbat.register, name, **changes)
    save_unit(store, unit)
    return unit


def detach(store, convoy: str) -> bool:
    """Remove a convoy's attachment; :class:`OrbatError` if it had none."""
    if not store.detach_convoy(convoy):
        raise OrbatError(f"convoy {convoy!r} is not attached to a unit")
    return True


def holdings_by_unit(orbat: Orbat, catalog, *, as_of: str | None = None, actor: str | None = None) -> list[dict]:
    """``orbat inventory --by unit``: per unit and type, count, lost and on hand (see :func:`unit_equipment`)."""
    equipment = orbat.equipment(as_of)
    out = []
    for row in equipment.to_dict("records"):
        unit = orbat.register.items.get(row["unit_id"])
        if unit is None or not orbat._actor_matches(unit, actor):
            continue
        entry = catalog.items.get(row["equipment_id"]) if catalog is not None else None
        out.append({"unit": unit.name, **{k: (int(v) if k not in ("unit_id", "equipment_id") else v)
                                          for k, v in row.items()},
                    "label": entry.name if entry is not None else row["equipment_id"]})
    order = {u.id: i for i, u in enumerate(r.unit for r in orbat.tree())}
    return sorted(out, key=lambda h: (order.get(h["unit_id"], len(order)), h["label"].casefold()))


def _presence_convoys(frame: pd.DataFrame) -> set[str]:
    from orbat.convoy import convoy_keys

    if frame.empty:
        return set()
    keys = convoy_keys(frame).astype(object).map(str)
    return set(keys[frame["event"].isin(_PRESENCE).to_numpy()])


def describe_unit(orbat: Orbat, name: str, catalog, doctrine=None) -> dict[str, Any]:
    """Everything ``orbat units show`` prints about one unit, as plain data."""
    unit = orbat.register.require(name)
    register = orbat.register
    equipment = [h for h in holdings_by_unit(orbat, catalog) if h["unit_id"] == unit.id]
    convoys = sorted(c for c, u in orbat.convoys().items() if u == unit.id)
    estimates: list[str] = []
    seen = _presence_convoys(orbat.frame)
    estimated = [c for c in convoys if c in seen]  # a convoy known only from losses has nothing to estimate
    if estimated:
        from orbat.estimate import estimate_convoys

        for found in estimate_convoys(orbat.frame, catalog, doctrine, convoys=estimated):
            estimates.append(estimate_line(unit, found.to_dict()))
    parent = register.items.get(unit.parent) if unit.parent else None
    return {
        **unit.record(), "sidc": register.sidc(unit), "branch_label": register.rules.branch_label(unit.branch),
        "placed": unit.placed, "origin": unit.origin, "why": list(unit.reasons),
        "parent_name": parent.name if parent else None,
        "ancestors": [register.items[a].name for a in register.ancestors(unit.id)],
        "sub_units": [c.name for c in register.children(unit.id)],
        "convoys": convoys, "attached": sorted(c for c, u in orbat.attachments.items() if u == unit.id),
        "estimates": estimates, "equipment": equipment,
    }


def save_unit(store, unit: Unit) -> None:
    """Store a unit as the analyst set it (``orbat units set``)."""
    store.save_unit(unit.record())


def attach(store, orbat: Orbat, convoy: str, unit_name: str) -> Unit:
    """Attach a convoy (a key the sightings have) to a unit; returns the unit."""
    from orbat.convoy import convoy_keys

    unit = orbat.register.require(unit_name)
    keys = set(convoy_keys(orbat.frame).astype(object).map(str)) if len(orbat.frame) else set()
    if convoy not in keys:
        raise OrbatError(f"no convoy {convoy!r} in {getattr(store, 'where', 'the database')} "
                         "(a convoy key, or the id of a sighting without one)")
    store.attach_convoy(convoy, unit.id)
    orbat.attachments[convoy] = unit.id
    orbat.attribute()
    return unit
