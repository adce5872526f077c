"""The overview of many convoys: one row each, sorted, for a table a person reads.

``orbat estimate`` shows each convoy's panels when a file holds few; for
hundreds or thousands it prints this table instead (the panels of one are a
``--convoy`` away). Each row holds what decides whether to look closer: the
vehicles, the estimate, its echelon, kind and confidence, and the strongest
reason of the winning template.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple

from orbat.doctrine import ECHELONS

#: Orders the overview knows; all but ``convoy`` put the largest first.
SORT_KEYS = ("convoy", "vehicles", "confidence", "echelon")
COLUMNS = ("convoy", "vehicles", "estimate", "echelon", "kind", "confidence", "top reason")


class OverviewRow(NamedTuple):
    """One convoy of the overview (immutable; a named tuple, as thousands are made at once)."""

    convoy: str
    vehicles: int
    vehicles_max: int
    estimate: str
    echelon: str
    kind: str
    confidence: float
    top_reason: str

    def cells(self) -> list[str]:
        """The row as the texts of :data:`COLUMNS`."""
        vehicles = str(self.vehicles) + (f"-{self.vehicles_max}" if self.vehicles_max != self.vehicles else "")
        return [self.convoy, vehicles, self.estimate, self.echelon, self.kind, f"{self.confidence:.2f}",
                self.top_reason]


def top_reason(rules: Sequence[dict]) -> str:
    """The strongest evidence among a template's evaluated rules: the heaviest (the first of equals).

    A failed rule of the winner matters as much as a passed one, so it is
    shown either way, marked ``pass`` or ``fail``.
    """
    top = None
    for rule in rules:
        if top is None or rule["weight"] > top["weight"]:
            top = rule
    if top is None:
        return ""
    return ("pass: " if top["passed"] else "fail: ") + str(top["reason"])


def overview_rows(estimates, sort: str = "convoy") -> list[OverviewRow]:
    """One :class:`OverviewRow` per estimate, sorted by ``sort`` (one of :data:`SORT_KEYS`; ties by convoy)."""
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
    rows = []
    reasons: dict[tuple, tuple[str, list]] = {}
    for e in estimates:
        made = getattr(e, "overview_row", None)
        if made is not None:  # made with every convoy of its run at once (orbat.estimate_result)
            rows.append(made)
            continue
        reason = getattr(e, "top_reason", None)
        if reason is None:
            rules = e.trace_for(e.template_id)
            # Convoys with the same outcome share their trace's entries: its top reason is found once
            # (the entries are kept with it, so that no id is reused while the cache lives).
            key = tuple(map(id, rules))
            known = reasons.get(key)
            if known is None:
                known = reasons[key] = (top_reason(rules), rules)
            reason = known[0]
        # The totals alone (not the whole `vehicles` object, with its per-type rows and merge notes).
        rows.append(OverviewRow(
            convoy=str(e.convoy), vehicles=int(e.total), vehicles_max=int(e.total_max),
            estimate=str(e.label), echelon=str(e.echelon), kind=str(e.kind), confidence=float(e.confidence),
            top_reason=reason,
        ))
    rows.sort(key=attrgetter("convoy"))
    if sort == "vehicles":
        rows.sort(key=attrgetter("vehicles_max", "vehicles"), reverse=True)
    elif sort == "confidence":
        rows.sort(key=attrgetter("confidence"), reverse=True)
    elif sort == "echelon":
        rank = {name: i for i, name in enumerate(ECHELONS)}
        rows.sort(key=lambda r: rank.get(r.echelon, -1), reverse=True)
    return rows
