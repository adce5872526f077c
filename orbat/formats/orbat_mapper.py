"""ORBAT Mapper scenarios: the order of battle as a file ORBAT Mapper opens (`orbat export OUT.json --format orbat-mapper`).

ORBAT Mapper (https://orbat-mapper.app, github.com/orbat-mapper/orbat-mapper)
draws orders of battle on a map. Its scenario is JSON whose shape is the
TypeScript type ``Scenario`` of ``src/types/scenarioModels.ts``; this writer
follows the version checked here: ORBAT Mapper 1.4.7 (commit 29a47a3 of
2026-08-22), scenario format ``3.4.0``. ``tests/data/orbat-mapper/`` keeps the
JSON Schema derived from those types, and every export in the tests is
validated against it.

The input is plain data (:meth:`orbat.units.Orbat.sides`): sides with their
unit trees, each unit with its symbol code, equipment figures and located
sightings. Nothing here knows the database or the estimator. Text stays
text: names go into JSON strings only, never into the Markdown ``description``
fields ORBAT Mapper renders.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orbat.errors import OrbatError
from orbat.outfiles import replaced_when_done

#: The scenario format version written (ORBAT Mapper's ``ScenarioVersion``).
SCENARIO_VERSION = "3.4.0"
#: The ORBAT Mapper release the format was checked against.
CHECKED_AGAINST = "ORBAT Mapper 1.4.7 (github.com/orbat-mapper/orbat-mapper, commit 29a47a3, 2026-08-22)"
FORMAT = "orbat-mapper"


def _ms(observed_at: str) -> int:
    """ORBAT Mapper's ScenarioTime: milliseconds since the epoch (UTC; a date is its midnight)."""
    text = str(observed_at)
    when = datetime.fromisoformat(text if len(text) > 10 else text + "T00:00:00")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _unit(node: Mapping[str, Any], ids: set[str]) -> dict[str, Any]:
    unit_id = str(node["id"])
    n = 1
    while unit_id in ids:  # one id a scenario: ORBAT Mapper keys its maps by it
        n += 1
        unit_id = f"{node['id']}-{n}"
    ids.add(unit_id)
    out: dict[str, Any] = {"id": unit_id, "name": str(node["name"]), "sidc": str(node["sidc"])}
    equipment = [{"name": str(e["name"]), "count": int(e["count"]), "onHand": int(e["on_hand"])}
                 for e in node.get("equipment", ())]
    if equipment:
        out["equipment"] = equipment
    positions = list(node.get("positions", ()))
    if positions:
        out["location"] = [positions[0][1], positions[0][2]]
        out["state"] = [{"id": f"{unit_id}-s{i}", "t": _ms(t), "location": [lon, lat]}
                        for i, (t, lon, lat) in enumerate(positions, start=1)]
    children = [_unit(child, ids) for child in node.get("children", ())]
    if children:
        out["subUnits"] = children
    return out


def scenario(sides: Sequence[Mapping[str, Any]], *, name: str, identity: str = "1",
             created: datetime | None = None, equipment_types: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """An ORBAT Mapper scenario (a JSON-ready dict) from :meth:`orbat.units.Orbat.sides`.

    One side per actor, with the standard identity digit ``identity``; its
    placed units in the group "Order of battle", its unplaced ones in
    "Unplaced". ``equipment_types`` (name, sidc) become the scenario's
    equipment list.
    """
    created = (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    ids: set[str] = set()
    out_sides = []
    times: list[int] = []
    for n, side in enumerate(sides, start=1):
        groups = []
        for key, title in (("units", "Order of battle"), ("unplaced", "Unplaced (read from sightings)")):
            units = [_unit(u, ids) for u in side.get(key, ())]
            if units:
                groups.append({"id": f"side-{n}-{key}", "name": title, "subUnits": units})
        out_sides.append({"id": f"side-{n}", "name": str(side["name"]), "standardIdentity": identity,
                          "groups": groups})
        times.extend(_times(side))
    data: dict[str, Any] = {
        "type": "ORBAT-mapper",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"orbat:{name}:{stamp}")),
        "version": SCENARIO_VERSION,
        "name": name,
        "description": "Order of battle exported by orbat from OSINT sightings.",
        "symbologyStandard": "2525d",
        "meta": {"createdDate": stamp, "lastModifiedDate": stamp, "exportedFrom": "orbat", "exportedDate": stamp},
        "sides": out_sides,
        "events": [],
        "layerStack": [],
        "layers": [],
        "mapLayers": [],
    }
    if times:
        data["startTime"] = min(times)
    if equipment_types:
        data["equipment"] = [{"name": str(e["name"]), **({"sidc": str(e["sidc"])} if e.get("sidc") else {})}
                             for e in equipment_types]
    return data


def _times(side: Mapping[str, Any]) -> list[int]:
    out = []
    stack = [*side.get("units", ()), *side.get("unplaced", ())]
    while stack:
        node = stack.pop()
        out.extend(_ms(t) for t, _lon, _lat in node.get("positions", ()))
        stack.extend(node.get("children", ()))
    return out


def write_scenario(data: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a scenario as UTF-8 JSON, atomically (the file appears only once complete)."""
    path = Path(path)
    if not path.parent.exists():
        raise OrbatError(f"{path}: the folder {path.parent} does not exist")
    with replaced_when_done(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
