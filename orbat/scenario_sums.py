"""What the open rows of many count scenarios add to the rule quantities, summed per scenario.

:func:`orbat.estimate._sample_wins` scores count scenarios chunk by chunk: a
scenario's quantities are its convoy's at ``count`` plus what its open rows'
drawn offsets add. Rows of the same kind (category, role, family, type,
armour, known-ness) add to the same quantities, so the additions are kept
per kind, as (quantity, times) pairs, and each chunk's sums are one
``bincount`` over its rows' pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PairLayout:
    """How one more vehicle of each kind of open row adds to some quantities, for the chunks of scenarios.

    ``which``: the quantities kept (their global indices, ascending; the
    rows of :meth:`added`). The pairs of every kind follow each other
    (kind by kind, then quantity): kind ``k``'s are ``first[k]`` ..
    ``first[k] + count[k] - 1``, each with its quantity's ``row`` (among
    ``which``) and how often a vehicle adds to it (``times``: a selection may
    name a column twice; ``unit`` when every one is 1). ``carried``: (row,
    times) of the kept quantities a carried vehicle adds to.
    """

    which: np.ndarray
    count: np.ndarray
    first: np.ndarray
    row: np.ndarray
    times: np.ndarray
    unit: bool
    carried: list[tuple[int, float]]

    @classmethod
    def build(cls, per_vehicle: np.ndarray, need: np.ndarray, carried_q: np.ndarray,
              carried_mult: np.ndarray) -> PairLayout:
        """The layout of the quantities ``need`` (bool per quantity), from ``per_vehicle`` (kinds x quantities)."""
        which = np.flatnonzero(need)
        kept = per_vehicle[:, which]
        kind, col = np.nonzero(kept)  # (by kind, then quantity)
        count = np.count_nonzero(kept, axis=1).astype(np.intp)
        first = np.r_[0, np.cumsum(count)[:-1]].astype(np.intp) if len(count) else np.zeros(0, dtype=np.intp)
        times = kept[kind, col].astype(np.float64)
        row = {int(q): i for i, q in enumerate(which.tolist())}
        carried = [(row[int(q)], float(m)) for q, m in zip(carried_q, carried_mult) if int(q) in row]
        return cls(which, count, first, col.astype(np.intp), times, bool((times == 1).all()), carried)

    def added(self, kinds: np.ndarray, scenario: np.ndarray, offset: np.ndarray, n: int) -> np.ndarray:
        """Kept quantities x ``n`` scenarios: what the rows (their ``kinds``, ``scenario`` and drawn ``offset``) add.

        One ``bincount`` over every (row, quantity) pair. Whole numbers
        throughout, so the sums are exact in any order. (Rows grouped by
        their number of pairs, each group padded to a power of two, cost
        63 ms of CPU on the 43 chunks of a 10,000-convoy benchmark block
        against 50 ms for these unpadded stretches of one flat list.)
        """
        per_row = self.count.take(kinds)
        total = int(per_row.sum())
        if not total:  # (bincount of nothing gives integers)
            return np.zeros((len(self.which), n), dtype=np.float64)
        # Each row's pairs: its kind's stretch of the flat list (a row of a kind without pairs has none).
        shift = self.first.take(kinds)
        shift -= np.cumsum(per_row)
        shift += per_row
        pair = np.repeat(shift, per_row)
        pair += np.arange(total, dtype=np.intp)
        index = self.row.take(pair)
        index *= n
        index += np.repeat(scenario, per_row)
        weight = np.repeat(offset, per_row)
        if not self.unit:
            weight *= self.times.take(pair)
        return np.bincount(index, weights=weight, minlength=len(self.which) * n).reshape(len(self.which), n)
