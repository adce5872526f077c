"""The canonical frame kept as codes into each column's distinct values, its rows made only when asked for.

The validation (:mod:`orbat.sightings`) works on coded columns, and making
the frame's rows from them is an object take of every row of every column
(about 50 ms for 264,000 rows x 21 columns, one CPU). ``orbat estimate``
with several processes never needs the whole frame: each worker takes its
own block's rows (:meth:`CodedFrame.take`), on its own CPU, and the convoy
keys that cut the blocks are found on the codes (:meth:`CodedFrame.codes_of`),
without hashing a row's text.

:meth:`CodedFrame.take` gives what ``frame.iloc[rows]`` of the whole frame
gives, ``rows`` in order: the same values, dtypes and index labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Columns converted to float64 per row (``count`` then to int64: it is required, so never missing).
_FLOAT = ("lat", "lon", "count")
#: Columns of whole numbers that may be missing.
_NULLABLE_INT = ("count_max", "credibility")


class CodedFrame:
    """A canonical frame as ``codes`` into per-column ``values`` (one per distinct value, already converted).

    Made by :func:`coded_canonical`; ``frame()`` is the whole frame,
    ``take(rows)`` some of its rows; ``len()`` and ``empty`` as a frame's.
    """

    def __init__(self, names: Sequence[str], codes: dict[str, np.ndarray], values: dict[str, object], rows: int):
        self.columns = list(names)
        self._codes, self._values, self._rows = codes, values, rows

    def __len__(self) -> int:
        return self._rows

    @property
    def empty(self) -> bool:
        """Whether it has no rows (as ``DataFrame.empty``: a canonical frame always has its columns)."""
        return self._rows == 0

    def codes_of(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A column as ``(codes per row, distinct values)``, the values as the frame holds them (NaN: missing).

        Two codes may hold equal values (codes come from the file's text, before trimming): compare values,
        not codes, across codes.
        """
        values = self._values[name]
        return self._codes[name], np.asarray(values, dtype=object)

    def frame(self) -> pd.DataFrame:
        """The whole canonical frame."""
        return self._made(None)

    def take(self, rows: np.ndarray) -> pd.DataFrame:
        """The rows at these positions, in order: what ``self.frame().iloc[rows]`` gives."""
        return self._made(np.asarray(rows, dtype=np.intp))

    def _made(self, rows: np.ndarray | None) -> pd.DataFrame:
        out = {}
        for name in self.columns:
            codes = self._codes[name] if rows is None else self._codes[name].take(rows)
            values = self._values[name]
            if name in _FLOAT:
                taken = values[codes] if len(values) else np.empty(0, dtype="float64")
                out[name] = pd.Series(taken.astype("int64") if name == "count" else taken, copy=False)
            elif len(values):
                out[name] = pd.Series(values.take(codes), copy=False)
            elif name in _NULLABLE_INT:
                out[name] = pd.Series(pd.array([], dtype="Int64"), copy=False)
            else:
                out[name] = pd.Series(np.empty(0, dtype=object), dtype="str")
        frame = pd.DataFrame(out, copy=False)  # the columns are new: no copy of each
        if rows is not None:
            frame.index = pd.Index(rows.astype(np.int64, copy=False))  # the labels iloc would keep
        return frame


def coded_canonical(names: Sequence[str], columns: dict[str, tuple[np.ndarray, np.ndarray]],
                    good: np.ndarray) -> CodedFrame:
    """The canonical frame of the ``good`` rows of coded columns (``name -> (codes, parsed distinct values)``).

    Each column's distinct values are converted once (``None``, or an empty
    text, is missing), as the frame holds them; the rows are made by
    :meth:`CodedFrame.frame` or :meth:`CodedFrame.take`.
    """
    every = bool(good.all())  # the usual file: no row refused, no mask to apply
    codes_out: dict[str, np.ndarray] = {}
    values_out: dict[str, object] = {}
    for name in names:
        codes, values = columns[name]
        codes_out[name] = codes if every else codes[good]
        if name in _FLOAT:
            values_out[name] = values.astype("float64")  # None (no value) -> NaN
        elif name in _NULLABLE_INT:
            values_out[name] = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        else:
            text = np.array(values, dtype=object)
            if len(text):
                text[pd.isna(text) | (text == "")] = np.nan
                # The text array made (and checked) once per distinct value, then taken per row.
                values_out[name] = pd.array(text, dtype="str")
            else:
                values_out[name] = text
    return CodedFrame(names, codes_out, values_out, int(good.sum()))
