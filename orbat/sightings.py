"""The interchange format of sightings: the canonical frame and its validation.

The files themselves (CSV, XLSX, JSON: the same columns) are read by
:mod:`orbat.formats`, which gives the raw text cells this module validates.

One row per sighting x equipment type. See ``docs/ARCHITECTURE.md`` for the
canonical frame every reader returns and the store gives back, and
``docs/format.md`` for the format as users see it.

Validation is vectorised (pandas masks over whole columns; names, dates and
grades are resolved once per distinct value), so a million rows validate in
seconds. Every problem of a file is reported at once, each naming the file,
the row as Excel numbers it (header = row 1), the column and what was expected.
A sighting is accepted whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from orbat.coded_frame import coded_canonical
from orbat.cells import (  # noqa: F401  (re-exported: what each cell of the format accepts)
    CREDIBILITY, MARKING_SEPARATOR, MAX_COUNT, MAX_MARKING_CHARS, RELIABILITY, dates_at_once, numbers_at_once,
    parse_choice, parse_count, parse_grades, parse_markings, parse_number, parse_observed_at, split_markings,
)
from orbat.errors import InputFileError, InvalidSightings
from orbat.formats import read_raw  # noqa: F401  (re-exported: the raw cells of an interchange file)
from orbat.formats.csv import MAX_CSV_BYTES  # noqa: F401  (re-exported: the limits are part of the format)
from orbat.formats.json import MAX_JSON_BYTES  # noqa: F401
from orbat.formats.table import Progress, frame_from_rows, header_key, json_scalar

if TYPE_CHECKING:
    from orbat.catalog import Catalog

#: Columns of the interchange format, in file order.
COLUMNS: tuple[str, ...] = (
    "sighting_id", "convoy", "observed_at", "place", "lat", "lon", "actor",
    "equipment", "count", "count_max", "mode", "source", "reliability",
    "credibility", "notes", "event", "captor", "unit", "tags", "markings",
)
REQUIRED: tuple[str, ...] = ("sighting_id", "observed_at", "equipment", "count")

#: The canonical frame: the interchange columns plus the resolved catalog id.
CANONICAL_COLUMNS: tuple[str, ...] = COLUMNS[:8] + ("equipment_id",) + COLUMNS[8:]

#: Columns that are the same on every row of one sighting (``actor`` may differ: mixed columns are real).
SIGHTING_LEVEL: tuple[str, ...] = (
    "observed_at", "place", "lat", "lon", "source", "reliability", "credibility",
)
#: Rows of one sighting with the same values here add up (one row per vehicle is how many people tally).
ADD_UP_KEY: tuple[str, ...] = ("sighting_id", "equipment_id", "mode", "event", "actor")
#: The id an equipment name is kept under when the catalog does not know it (yet): ``?`` + the name.
UNRESOLVED_PREFIX = "?"
#: How many unresolved names of a file get suggestions (the import summary lists as many).
UNRESOLVED_SUGGESTED = 10

MODES: tuple[str, ...] = ("driven", "carried")
LOSS_EVENTS: tuple[str, ...] = ("destroyed", "damaged", "abandoned", "captured")
EVENTS: tuple[str, ...] = ("sighting", "arrival", *LOSS_EVENTS)
#: Excel's own limit for the text of one cell.
MAX_CELL_CHARS = 32_767
#: Columns that may be present but are not part of the format: ``equipment_id``
#: (written by exports; checked against the name's resolution) and ``row``,
#: ``where``, ``reason`` (written in rejects files, so a fixed rejects file re-imports).
EXTRA_COLUMNS: tuple[str, ...] = ("equipment_id", "row", "where", "reason")
#: Convoy is kept per sighting too (the nested JSON form has it at the sighting level).
_CONSISTENT: tuple[str, ...] = ("convoy", *SIGHTING_LEVEL)

#: A cell starting with one of these is a formula to Excel or LibreOffice (OWASP CSV injection).
FORMULA_CHARS = frozenset("=+-@\t\r")

#: Kinds of problem: a defect of the row itself, or a valid row refused with its sighting.
INVALID = "invalid"
WITH_SIGHTING = "rejected-with-sighting"
#: A problem with the columns themselves: then no row can be trusted.
HEADER = "header"


def escape_formula_text(text: Any) -> Any:
    """Text made safe for a spreadsheet cell: a leading ``'`` when it would start a formula.

    Text starting with quotes followed by a formula character (``'=x``,
    ``''=x``) gets one more quote too, so that :func:`unescape_formula_text`
    always gives back the original.
    Anything that is not a string is returned unchanged.
    """
    if not isinstance(text, str) or not text:
        return text
    rest = text.lstrip("'")
    if rest and rest[0] in FORMULA_CHARS:
        return "'" + text
    return text


def unescape_formula_text(text: Any) -> Any:
    """Undo :func:`escape_formula_text`: drop one ``'`` from the quotes before a formula character."""
    if isinstance(text, str) and text[:1] == "'":
        rest = text.lstrip("'")
        if rest and rest[0] in FORMULA_CHARS:
            return text[1:]
    return text


@dataclass(frozen=True)
class Problem:
    """One invalid cell or row of a sightings file.

    ``row`` is the row as Excel numbers it (header = row 1), or for JSON the
    position of the row object (1 = first); ``where`` replaces "row N" in the
    message when a better label exists (``sighting 2, entry 3``, ``--equipment 1``).
    """

    file: str
    row: int | None
    column: str | None
    message: str
    value: Any = None
    hint: str | None = None
    where: str | None = None
    kind: str = INVALID
    sighting: str | None = None  #: the sighting_id of the row, when it has one

    def __str__(self) -> str:
        parts = [self.file]
        if self.where:
            parts.append(self.where)
        elif self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        text = ", ".join(parts) + ": " + self.message
        if self.value is not None:
            text += f", got {_short(self.value)}"
        if self.hint:
            text += f" ({self.hint})"
        return text


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


@dataclass
class SightingsRead:
    """What :func:`read_sightings_lenient` found in a file."""

    frame: pd.DataFrame  #: the valid sightings, canonical
    problems: list[Problem]  #: every problem, including rows refused with their sighting
    rejects: pd.DataFrame  #: the refused rows as they were in the file, plus ``row`` and ``reason``
    rows: int  #: data rows read (blank rows not counted)
    notes: list[str] = field(default_factory=list)  #: things the user should know (e.g. the encoding)
    fmt: str = "interchange"  #: the format read (``oryx``, ``warspotting``, ``interchange``)
    added_up: int = 0  #: valid rows that added into another row of the same sighting, type, mode and event
    unresolved: list[dict] = field(default_factory=list)  #: names kept as written (see :func:`unresolved_names`)
    by_steps: list[dict] = field(default_factory=list)  #: names resolved by pipeline steps (see :func:`names_by_steps`)

    @property
    def invalid(self) -> list[Problem]:
        """Problems of the rows themselves (not the rows refused along with their sighting)."""
        return [p for p in self.problems if p.kind != WITH_SIGHTING]

    @property
    def rejected_rows(self) -> int:
        """How many data rows were refused."""
        return len(self.rejects)

    @property
    def rejected_sightings(self) -> int:
        """How many sightings were refused (a row without a sighting_id counts as one)."""
        return len({p.row for p in self.problems if p.sighting is None} |
                   {p.sighting for p in self.problems if p.sighting is not None})


# ---------------------------------------------------------------- reading


def read_sightings(path: str | os.PathLike, catalog: Catalog, *, today: dt.date | None = None,
                   progress: Progress | None = None, **options: Any) -> pd.DataFrame:
    """Read and validate a sightings file (CSV, XLSX or JSON, by extension) into the canonical frame.

    Raises :class:`InvalidSightings` listing every problem when any row is
    invalid, and :class:`InputFileError` when the file cannot be read at all.
    ``coded=True`` may give the frame as a :class:`orbat.coded_frame.CodedFrame` (see :func:`validate_frame`).
    """
    path = Path(path)
    table, frame, problems = _read_validated(path, catalog, today=today, progress=progress, **options)
    # The summaries of the lenient read (rejects, unresolved names, names by steps) are not made: this
    # function returns the frame alone. A file of blank rows only is still refused, first.
    if frame.empty and not (~_blank_rows(table.raw)).any():
        raise InputFileError(f"{path}: no rows: the file has a header but no sightings")
    if problems:
        raise InvalidSightings([p for p in problems if p.kind != WITH_SIGHTING] or problems, source=str(path))
    return frame


def read_sightings_lenient(path: str | os.PathLike, catalog: Catalog, *, today: dt.date | None = None,
                           progress: Progress | None = None, fmt: str | None = None,
                           columns: dict[str, str] | None = None, grade: str | None = None,
                           keep_unresolved: bool = False) -> SightingsRead:
    """Read a sightings file, keeping the valid sightings and listing the problems of the rest.

    For ``--skip-invalid``. Problems with the columns themselves (unknown,
    duplicated or missing columns) still raise :class:`InvalidSightings`:
    no row can be trusted when the header is wrong.

    ``fmt`` (``oryx``, ``warspotting``, ``interchange``; None: from the
    header), ``columns`` (an analyst's column names, see
    :mod:`orbat.formats.columns`) and ``grade`` (for a loss list's rows) are
    passed to :func:`orbat.formats.read_table`. Loss lists, mapped
    spreadsheets and ``keep_unresolved`` keep names the catalog does not
    know (``equipment_id`` ``?NAME``) and list them in ``unresolved``;
    the interchange format refuses them, since a typo there should stop you.
    """
    path = Path(path)
    table, frame, problems = _read_validated(path, catalog, today=today, progress=progress, fmt=fmt,
                                             columns=columns, grade=grade, keep_unresolved=keep_unresolved)
    rows = int((~_blank_rows(table.raw)).sum())
    if rows == 0:
        raise InputFileError(f"{path}: no rows: the file has a header but no sightings")
    rejects = rejects_frame(table.original, problems, table.first_row, table.labels)
    added_up = rows - len(rejects) - len(frame)
    return SightingsRead(frame=frame, problems=problems, rejects=rejects, rows=rows, notes=table.notes,
                         fmt=table.fmt, added_up=max(added_up, 0), unresolved=unresolved_names(frame, catalog),
                         by_steps=names_by_steps(frame, catalog))


def _read_validated(path: Path, catalog: Catalog, *, today: dt.date | None = None,
                    progress: Progress | None = None, fmt: str | None = None, columns: dict[str, str] | None = None,
                    grade: str | None = None, keep_unresolved: bool = False, coded: bool = False):
    """Read and validate a file: ``(table read, canonical frame of the valid rows, every problem)``.

    Raises :class:`InvalidSightings` for problems of the header (no row can be trusted then).
    """
    from orbat.formats import read_table

    today = today or dt.date.today()
    table = read_table(path, fmt=fmt, columns=columns, grade=grade, today=today, progress=progress)
    if progress:
        progress("validating", 0, 1)
    frame, problems = validate_frame(table.raw, catalog, source=str(path), first_row=table.first_row, today=today,
                                     row_labels=table.labels, spreadsheet=table.spreadsheet,
                                     keep_unresolved=keep_unresolved or table.keep_unresolved,
                                     extra_problems=table.problems, coded=coded)
    if table.columns:
        problems = [replace(p, column=table.columns.get(p.column, p.column)) if p.column else p for p in problems]
    if progress:
        progress("validating", 1, 1)
    header = [p for p in problems if p.kind == HEADER]
    if header:
        raise InvalidSightings(header, source=str(path))
    return table, frame, problems


def read_sightings_located(path: str | os.PathLike, catalog: Catalog, *, today: dt.date | None = None,
                           ) -> tuple[pd.DataFrame, list[str]]:
    """:func:`read_sightings`, and where each row of the frame is in it (``sightings.csv, row 7``).

    For analyses that report a cell of a valid file (``orbat fleet`` names
    the row of a marking it cannot use). A frame row that several file rows
    added up into (:func:`add_up`) names them all (``sightings.csv, row 7, row 9``).
    """
    from orbat.formats import read_table

    path = Path(path)
    today = today or dt.date.today()
    table = read_table(path, today=today)
    frame, problems = validate_frame(table.raw, catalog, source=str(path), first_row=table.first_row, today=today,
                                     row_labels=table.labels, spreadsheet=table.spreadsheet,
                                     keep_unresolved=table.keep_unresolved, extra_problems=table.problems,
                                     add_up_rows=False)
    if problems:
        raise InvalidSightings([p for p in problems if p.kind != WITH_SIGHTING] or problems, source=str(path))
    kept = np.flatnonzero(~_blank_rows(table.raw))  # before adding up, the frame holds every non-blank row, in order
    rows = [table.labels[i] if table.labels is not None else f"row {table.first_row + i}" for i in kept]
    if frame.empty:
        return frame, []
    # add_up keeps the first row of each key, in order: the groups in order of their first row
    group = frame.groupby(list(ADD_UP_KEY), sort=False, dropna=False).ngroup().to_numpy()
    joined: dict[int, list[str]] = {}
    for number, row in zip(group, rows):
        joined.setdefault(int(number), []).append(row)
    where = [f"{path}, {', '.join(labels)}" for labels in joined.values()]
    return add_up(frame), where


def unresolved_names(frame: pd.DataFrame, catalog: Catalog, *, suggestions: int = 3,
                     suggest_first: int = UNRESOLVED_SUGGESTED) -> list[dict]:
    """The names of a canonical frame the catalog did not resolve, most vehicles first.

    Each: ``name`` (as written), ``rows``, ``vehicles``, ``sightings`` and
    ``suggestions`` (the nearest catalog names), computed for the first
    ``suggest_first`` names only: a fuzzy search per name is the slow part,
    and the import summary shows no more (``orbat catalog unresolved`` gives
    every name its suggestions).
    """
    if frame.empty:
        return []
    # the prefix is looked for once per distinct id, not once per row
    codes, ids = pd.factorize(frame["equipment_id"].to_numpy(dtype=object))
    unresolved = np.array([isinstance(i, str) and i.startswith(UNRESOLVED_PREFIX) for i in ids], dtype=bool)
    if not unresolved.any():
        return []
    kept = (codes >= 0) & unresolved[np.maximum(codes, 0)]
    part = frame.loc[kept, ["equipment_id", "equipment", "count", "sighting_id"]]
    grouped = part.groupby("equipment_id", sort=False).agg(
        name=("equipment", "first"), rows=("count", "size"), vehicles=("count", "sum"),
        sightings=("sighting_id", "nunique"))
    out = [{"name": str(record.name), "rows": int(record.rows), "vehicles": int(record.vehicles),
            "sightings": int(record.sightings), "suggestions": []} for record in grouped.itertuples(index=False)]
    out.sort(key=lambda r: (-r["vehicles"], r["name"]))
    for item in out[:suggest_first]:
        item["suggestions"] = list(catalog.suggest(item["name"]))[:suggestions]
    return out


def names_by_steps(frame: pd.DataFrame, catalog: Catalog) -> list[dict]:
    """The names of a canonical frame that resolved by pipeline steps, not as written, most rows first.

    Each: ``name`` (as written), ``id`` (the entry), ``how`` (the steps) and
    ``rows``. Resolutions are cached by the catalog, so this costs a dict
    look-up per distinct name.
    """
    if frame.empty:
        return []
    codes, names = pd.factorize(frame["equipment"].to_numpy(dtype=object))
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    out = []
    for name, rows in zip(names, counts.tolist()):
        found = catalog.explain(name, suggest=False)
        if found.by_steps:
            out.append({"name": str(name), "id": found.entry.id, "how": list(found.how), "rows": int(rows)})
    out.sort(key=lambda r: (-r["rows"], r["name"]))
    return out


# ---------------------------------------------------------------- validation
#
# Columns are handled as object arrays, and every per-cell check runs once per
# distinct value (pd.factorize), then is spread back over the rows: sightings
# files repeat the same dates, names, grades and counts on many rows, and
# pandas' per-element string methods would be far slower on a million rows.


_header_key = header_key


def _codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct values)`` of a column; a missing cell is the empty string."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.array.codes  # the categorical's own codes, read-only (``.cat.codes`` makes a Series of them)
        uniques = series.cat.categories.to_numpy(dtype=object)
    else:
        codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
    if (codes < 0).any():  # NaN: a short CSV row or a missing key
        uniques = np.append(uniques, "")
        codes = np.where(codes < 0, len(uniques) - 1, codes)
    return codes, uniques


class _Coded:
    """A column as codes into its distinct values, so per-cell work runs once per distinct value."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray, index: pd.Index, distinct: bool = False):
        self.codes, self.uniques, self.index = codes, uniques, index
        self.distinct = distinct  #: known to have one code per distinct value (made by :meth:`compact`)

    @classmethod
    def of(cls, series: pd.Series) -> _Coded:
        codes, uniques = _codes(series)
        return cls(codes, uniques, series.index)

    def map(self, func: Callable[[Any], Any], dtype: Any = object) -> _Coded:
        mapped = np.empty(len(self.uniques), dtype=dtype)
        mapped[:] = [func(value) for value in self.uniques]
        return _Coded(self.codes, mapped, self.index)

    def compact(self) -> _Coded:
        """The same column with one code per distinct value (``map`` can make two codes equal)."""
        if len(self.uniques) == 0 or self.distinct:
            return self
        remap, uniques = pd.factorize(self.uniques, use_na_sentinel=False)
        return _Coded(remap[self.codes], np.asarray(uniques, dtype=object), self.index, distinct=True)

    def is_empty(self) -> np.ndarray:
        """Row mask: the cell is the empty string (computed once per distinct value)."""
        if len(self.uniques) == 0:
            return np.zeros(len(self.codes), dtype=bool)
        return (self.uniques == "")[self.codes]

    def at(self, where: np.ndarray) -> np.ndarray:
        """The values at these row positions (not index labels)."""
        return self.uniques[self.codes[where]]

    def series(self) -> pd.Series:
        values = self.uniques[self.codes] if len(self.uniques) else np.empty(0, dtype=self.uniques.dtype)
        # dtype given: pandas 3 would otherwise infer its (slower, stricter) str dtype; the array is new: no copy
        return pd.Series(values, index=self.index, dtype=values.dtype, copy=False)

    def array(self) -> np.ndarray:
        return self.uniques[self.codes] if len(self.uniques) else np.empty(0, dtype=self.uniques.dtype)

    def subset(self, keep: np.ndarray) -> _Coded:
        if keep.all():  # the usual case (no blank rows): no copy of the codes
            return self
        return _Coded(self.codes[keep], self.uniques, self.index[keep])


def _per_value(coded: _Coded, func: Callable[[Any], tuple], width: int) -> list[_Coded]:
    """``func`` applied once per distinct value; its ``width`` results, coded like the input."""
    columns = [np.empty(len(coded.uniques), dtype=object) for _ in range(width)]
    for i, value in enumerate(coded.uniques):
        result = func(value)
        for k in range(width):
            columns[k][i] = result[k]
    return [_Coded(coded.codes, col, coded.index) for col in columns]


def _blank_rows(raw: pd.DataFrame, coded: list[_Coded] | None = None) -> np.ndarray:
    """Row mask: every cell of the row is empty or spaces.

    Columns are looked at one by one, and only while some row may still be
    blank: in the usual file the first column (the sighting id) already rules
    out every row, and the other columns are never coded nor scanned.
    """
    blank = np.ones(len(raw), dtype=bool)
    for i in range(raw.shape[1]):
        if not blank.any():
            break
        column = coded[i] if coded is not None else _Coded.of(raw.iloc[:, i])
        blank &= _blank_values(column.uniques)[column.codes] if len(column.uniques) else True
    return blank


def _blank_values(values: np.ndarray) -> np.ndarray:
    """Per value: empty or spaces (one C-level map when all are text, as from a CSV)."""
    try:
        stripped = np.fromiter(map(str.strip, values), dtype=object, count=len(values))
    except TypeError:  # a number from JSON or a workbook
        return np.array([not str(v).strip() for v in values], dtype=bool)
    return stripped == ""


def _longest(values: np.ndarray) -> int:
    """The length of the longest value as text."""
    try:
        return max(map(len, values), default=0)
    except TypeError:  # not all text
        return max(map(len, map(str, values)), default=0)


def _clean(value: Any) -> str:
    """Cell text as the format reads it: trimmed, and a spreadsheet's formula escape undone."""
    return unescape_formula_text(str(value).strip()).strip()


def _cleaned(values: np.ndarray, spreadsheet: bool) -> np.ndarray:
    """:func:`_clean` (``spreadsheet``) or :func:`_trim` of each value, as an object array.

    The usual cell, text not starting with a quote, only needs its spaces
    stripped: that is done inline, without a function call per distinct value
    (a 200,000-row file has over 100,000 of them).
    """
    out = np.empty(len(values), dtype=object)
    if not spreadsheet:
        out[:] = [_trim(value) for value in values]
        return out
    try:
        stripped = list(map(str.strip, values))
    except TypeError:  # not all text
        stripped = None
    if stripped is not None and "'" not in "".join(stripped):  # no formula escape to undo: the spaces were all
        out[:] = stripped
        return out
    out[:] = [stripped if type(value) is str and (stripped := value.strip())[:1] != "'" else _clean(value)
              for value in values]
    return out


def _trim(value: Any) -> str:
    """Text from JSON or the command line: trimmed only (no formula escape to undo)."""
    return str(value).strip()


def _empty_canonical() -> pd.DataFrame:
    return _canonical({c: pd.Series([], dtype=object) for c in CANONICAL_COLUMNS})


def _text_series(values: pd.Series) -> pd.Series:
    array = values.to_numpy(dtype=object, copy=True)
    array[pd.isna(array) | (array == "")] = np.nan
    return pd.Series(array, dtype="str")


def _canonical(columns: dict[str, pd.Series]) -> pd.DataFrame:
    out = {}
    for name in CANONICAL_COLUMNS:
        values = columns[name]
        if name in ("lat", "lon"):
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64").reset_index(drop=True)
        elif name == "count":
            out[name] = pd.to_numeric(values, errors="coerce").astype("int64").reset_index(drop=True)
        elif name in ("count_max", "credibility"):
            out[name] = pd.to_numeric(values, errors="coerce").astype("Int64").reset_index(drop=True)
        else:
            out[name] = _text_series(values)
    return pd.DataFrame(out)


class _EmptyCells(dict):
    """Per column, the row mask of its empty cells, made when first asked for (most columns never are)."""

    def __init__(self, columns: dict[str, _Coded]):
        super().__init__()
        self._columns = columns

    def __missing__(self, name: str) -> np.ndarray:
        mask = self[name] = self._columns[name].is_empty()
        return mask


class _Collector:
    """Gathers problems from row masks; messages are built only for the bad rows."""

    def __init__(self, source: str, rows: pd.Series, labels: Sequence[str] | None):
        self.source = source
        self.rows = rows  # file row number, indexed by position in the raw frame
        self.labels = labels
        self.problems: list[Problem] = []
        self.bad = pd.Series(False, index=rows.index)
        self.bad_columns: dict[str, pd.Series] = {}  # column -> rows whose cell there is invalid
        self.ids: pd.Series | None = None

    def bad_in(self, column: str) -> pd.Series:
        """Rows whose cell in ``column`` was already found invalid."""
        found = self.bad_columns.get(column)
        return found if found is not None else pd.Series(False, index=self.rows.index)

    def flag(self, mask, column: str, message: str | pd.Series | _Coded, values: pd.Series | _Coded | None,
             hint: Callable[[Any], str | None] | None = None) -> None:
        """One problem per row of ``mask``; ``message`` is a text, or per-row texts (Series or coded)."""
        mask = pd.Series(np.asarray(mask, dtype=bool), index=self.rows.index)
        if not mask.any():
            return
        self.bad |= mask
        self.bad_columns[column] = self.bad_in(column) | mask
        positions = mask[mask].index
        if isinstance(values, _Coded):
            shown = values.at(np.flatnonzero(mask.to_numpy()))
        else:
            shown = values.loc[positions] if values is not None else [None] * len(positions)
        if isinstance(message, _Coded):
            texts = message.at(np.flatnonzero(mask.to_numpy()))
        else:
            texts = message.loc[positions] if isinstance(message, pd.Series) else [message] * len(positions)
        for pos, value, text in zip(positions, shown, texts):
            self.add(pos, column, text, value, hint(value) if hint else None, mark=False)

    def add(self, pos: int, column: str | None, message: str, value: Any = None, hint: str | None = None,
            kind: str = INVALID, mark: bool = True) -> None:
        row = int(self.rows.loc[pos])
        where = self.labels[pos] if self.labels is not None else None
        sighting = (self.ids.loc[pos] or None) if self.ids is not None else None
        self.problems.append(Problem(self.source, row, column, message, value, hint, where, kind, sighting))
        if kind == INVALID and mark:
            self.bad.loc[pos] = True
            if column:
                marked = self.bad_in(column).copy()
                marked.loc[pos] = True
                self.bad_columns[column] = marked


def validate_frame(raw: pd.DataFrame, catalog: Catalog, *, source: str, first_row: int = 2,
                   today: dt.date | None = None, row_labels: Sequence[str] | None = None,
                   spreadsheet: bool = True, keep_unresolved: bool = False,
                   extra_problems: Sequence[tuple[int, str, str, Any]] = (),
                   add_up_rows: bool = True, coded: bool = False) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate raw text rows; return the valid rows as the canonical frame, and every problem.

    ``raw`` holds the file's cells as text (``""`` for empty) under the
    file's own header; its row ``i`` is row ``first_row + i`` of the file.
    Blank rows are skipped. A sighting with any invalid row is refused whole:
    its other rows get a problem of kind ``rejected-with-sighting``.
    ``row_labels`` (one per row) name rows where numbers would not help (JSON).
    ``spreadsheet`` (CSV and XLSX cells) undoes the formula escape of
    :func:`escape_formula_text`; JSON and typed-in values are taken as they are.
    ``keep_unresolved`` keeps a name the catalog does not know under the id
    ``?NAME`` instead of refusing it; ``extra_problems`` are problems a
    reader found, ``(row position, column, message, value)``, refused like the others.
    Rows of one sighting with the same type, mode, event and actor add up
    into one row (:func:`add_up`), unless ``add_up_rows`` is false (one frame
    row per valid file row, to say where each came from). ``coded``: a frame needing no adding up
    is given as its :class:`orbat.coded_frame.CodedFrame` (its rows made when taken).
    """
    today = today or dt.date.today()
    raw = raw.reset_index(drop=True)
    by_column = [_Coded.of(raw.iloc[:, i]) for i in range(raw.shape[1])]
    header_problems = _check_header(list(raw.columns), by_column, source, first_row)
    if header_problems:
        return _empty_canonical(), header_problems
    keep = ~_blank_rows(raw, by_column)
    rows = pd.Series(np.arange(first_row, first_row + len(raw)), index=raw.index)[keep]
    originals: dict[str, _Coded] = {}
    for column, codes in zip(raw.columns, by_column):
        key = _header_key(column)
        if key:
            originals[key] = codes.subset(keep)
    cleaned: dict[str, _Coded] = {}
    for name in (*COLUMNS, "equipment_id"):
        if name in originals:
            column = originals[name]
            cleaned[name] = _Coded(column.codes, _cleaned(column.uniques, spreadsheet), column.index)
        else:
            cleaned[name] = _Coded(np.zeros(len(rows), dtype=np.intp), np.array([""], dtype=object), rows.index)
    # one code per distinct sighting_id, so that rows of one sighting share a code
    cleaned["sighting_id"] = cleaned["sighting_id"].compact()
    empty = _EmptyCells(cleaned)
    found = _Collector(source, rows, list(row_labels) if row_labels is not None else None)
    found.ids = cleaned["sighting_id"].series()

    for name, column in originals.items():
        # the length check runs per distinct value only where some value could be too long
        if _longest(column.uniques) <= MAX_CELL_CHARS:
            continue
        too_long = column.map(lambda v: len(str(v)) > MAX_CELL_CHARS, bool).array()
        if too_long.any():
            found.flag(too_long, name, f"more than {MAX_CELL_CHARS:,} characters (Excel's cell limit)",
                       column.map(lambda v: str(v)[:40] + "..."))
    for name in REQUIRED:
        found.flag(empty[name], name, "a value is required", None)

    for pos, column, message, value in extra_problems:
        if pos in rows.index:
            found.add(pos, column, message, value)
    out: dict[str, _Coded] = {name: cleaned[name] for name in
                              ("sighting_id", "convoy", "place", "actor", "source", "notes", "equipment", "captor",
                               "unit")}
    out["tags"] = cleaned["tags"].map(normalize_tags)
    out["observed_at"] = _check(cleaned, "observed_at", lambda v: parse_observed_at(v, today), found,
                                lambda texts: dates_at_once(texts, today))
    out["equipment_id"] = _check_equipment(cleaned["equipment"], cleaned["equipment_id"], catalog, found,
                                           keep_unresolved=keep_unresolved)
    out["count"] = _check(cleaned, "count", parse_count, found)
    out["count_max"] = _check(cleaned, "count_max", parse_count, found)
    count = _numbers(out["count"])
    count_max = _numbers(out["count_max"])
    below = ~np.isnan(count) & ~np.isnan(count_max)
    below[below] = count_max[below] < count[below]
    for at in np.flatnonzero(below):
        found.add(rows.index[at], "count_max", f"expected a number >= count ({int(count[at])})",
                  cleaned["count_max"].at(at))
    out["lat"] = _check(cleaned, "lat", lambda v: parse_number(v, -90, 90), found,
                        lambda texts: numbers_at_once(texts, -90, 90))
    out["lon"] = _check(cleaned, "lon", lambda v: parse_number(v, -180, 180), found,
                        lambda texts: numbers_at_once(texts, -180, 180))
    found.flag(_present(out["lat"]) & empty["lon"], "lon", "required when lat is given", None)
    found.flag(_present(out["lon"]) & empty["lat"], "lat", "required when lon is given", None)
    out["mode"] = _check(cleaned, "mode", lambda v: parse_choice(v, MODES, "driven"), found)
    out["event"] = _check(cleaned, "event", lambda v: parse_choice(v, EVENTS, "sighting"), found)
    grades = _grade_pairs(cleaned["reliability"], cleaned["credibility"])
    out["reliability"], out["credibility"] = _check_grades(grades, cleaned["reliability"], cleaned["credibility"],
                                                           found)
    out["markings"] = _check(cleaned, "markings", parse_markings, found)
    _check_marking_count(out["markings"], count, count_max, cleaned["markings"], found)
    not_captured = out["event"].map(lambda v: v is not None and v != "captured", bool).array()
    found.flag(~empty["captor"] & not_captured, "captor", "only meaningful with event 'captured'", cleaned["captor"])

    keys = {name: cleaned[name] for name in _CONSISTENT}
    keys["reliability"] = keys["credibility"] = grades
    _check_consistency(out, cleaned, empty, keys, found)

    bad = found.bad.to_numpy()
    sid = cleaned["sighting_id"]
    bad_codes = np.unique(sid.codes[bad & ~empty["sighting_id"]])
    collateral = ~bad & np.isin(sid.codes, bad_codes)
    if collateral.any():
        ids = found.ids
        bad_rows: dict[str, set[int]] = {}
        for one, row in zip(ids[bad], rows[bad]):
            bad_rows.setdefault(one, set()).add(int(row))
        for pos in rows.index[collateral]:
            one = ids.loc[pos]
            listed = ", ".join(str(r) for r in sorted(bad_rows[one])[:10])
            found.add(pos, "sighting_id",
                      f"not imported: sighting {one!r} has invalid rows ({listed}), and a sighting is "
                      "imported whole or not at all", kind=WITH_SIGHTING)
    good = ~(bad | collateral)
    found.ids = None
    del empty, keys
    made = coded_canonical(CANONICAL_COLUMNS, {name: (c.codes, c.uniques) for name, c in out.items()}, good)
    if add_up_rows and _repeats_a_key(out, good):
        frame = add_up(made.frame())
    else:
        frame = made if coded else made.frame()
    problems = sorted(found.problems, key=lambda p: (p.row if p.row is not None else 0, p.kind != INVALID))
    return frame, problems


def _repeats_a_key(out: dict[str, _Coded], good: np.ndarray) -> bool:
    """Whether two good rows share the :data:`ADD_UP_KEY` (on the columns' codes: no frame work when none do)."""
    if good.sum() < 2:
        return False
    every = bool(good.all())
    key = np.zeros(int(good.sum()), dtype=np.int64)
    span = 1  # key < span
    for name in ADD_UP_KEY:
        codes = out[name].compact().codes  # compact: equal values, one code
        codes = (codes if every else codes[good]).astype(np.int64)
        width = int(codes.max()) + 1
        if span * width >= 2**62:  # renumber densely first, so the key never outgrows int64
            key, _ = pd.factorize(key)
            span = int(key.max()) + 1
        key = key * width + codes
        span *= width
    return bool(pd.Series(key).duplicated().any())


def _numbers(column: _Coded) -> np.ndarray:
    """A parsed numeric column as float64 per row, NaN where it has no value."""
    values = column.uniques.astype("float64")  # None (no value) -> NaN
    return values[column.codes] if len(values) else np.empty(len(column.codes), dtype="float64")


def _present(column: _Coded) -> np.ndarray:
    """Row mask: the parsed value is there (not None)."""
    if not len(column.uniques):
        return np.zeros(len(column.codes), dtype=bool)
    return np.not_equal(column.uniques, None)[column.codes]  # element-wise, once per distinct value


def _check(cleaned: dict[str, _Coded], column: str, parse: Callable[[str], tuple[Any, str | None]],
           found: _Collector, at_once: Callable[[np.ndarray], np.ndarray | None] | None = None) -> _Coded:
    """Parse a column once per distinct value; flag the cells ``parse`` rejects; return the parsed values.

    ``at_once`` parses all the distinct values in one go, giving what ``parse``
    would, or None when some value may be refused: then ``parse`` runs on each,
    for its message. The usual file has no bad value, and its 30,000 distinct
    coordinates cost a regular expression and a call each in the loop.
    """
    if at_once is not None:
        coded = cleaned[column]
        # only the values some row has: a CSV column also keeps its header's text among its values
        used = np.zeros(len(coded.uniques), dtype=bool)
        used[coded.codes] = True
        parsed = at_once(coded.uniques[used])
        if parsed is not None:
            values = np.full(len(coded.uniques), None, dtype=object)
            values[used] = parsed
            return _Coded(coded.codes, values, coded.index)
    values, errors = _per_value(cleaned[column], parse, 2)
    failed_value = np.array([e is not None for e in errors.uniques], dtype=bool)
    if failed_value.any():
        failed = failed_value[errors.codes]
        if failed.any():
            found.flag(failed, column, errors, cleaned[column])
        values.uniques[failed_value] = None
    return values


def _check_header(header: list[str], coded: list[_Coded], source: str, first_row: int) -> list[Problem]:
    header_row = first_row - 1 if first_row > 1 else None
    problems: list[Problem] = []
    known = set(COLUMNS) | set(EXTRA_COLUMNS)
    seen: dict[str, int] = {}

    def name_of(i: int) -> str:
        return f"{_column_letter(i)}" if header_row else f"#{i + 1}"

    for i, name in enumerate(header):
        key = _header_key(name)
        if not key:
            if any(str(v).strip() for v in coded[i].uniques):
                problems.append(Problem(source, header_row, name_of(i),
                                        "values in a column that has no name in the header", kind=HEADER))
            continue
        if key in seen:
            problems.append(Problem(source, header_row, str(name).strip(),
                                    f"duplicated column (also column {name_of(seen[key])})", kind=HEADER))
            continue
        seen[key] = i
        if key not in known:
            close = difflib.get_close_matches(key, list(COLUMNS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "known columns: " + ", ".join(COLUMNS)
            problems.append(Problem(source, header_row, str(name).strip(), "unknown column", hint=hint, kind=HEADER))
    for name in REQUIRED:
        if name not in seen:
            problems.append(Problem(source, header_row, name, "missing required column", kind=HEADER))
    return problems


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _check_marking_count(markings: _Coded, count: np.ndarray, count_max: np.ndarray, text: _Coded,
                         found: _Collector) -> None:
    """A row cannot show more distinct identifiers than it has vehicles (``count_max``, else ``count``)."""
    per_value = np.array([len(split_markings(v)) for v in markings.uniques], dtype="float64")
    if not len(per_value) or not per_value.any():
        return
    identifiers = per_value[markings.codes]
    most = np.where(np.isnan(count_max), count, count_max)
    over = ~np.isnan(most) & (identifiers > most)
    for at in np.flatnonzero(over):
        found.add(found.rows.index[at], "markings",
                  f"expected at most {int(most[at])} identifiers (the row's vehicles), found {int(identifiers[at])}",
                  text.at(at))


def _grade_pairs(reliability: _Coded, credibility: _Coded) -> _Coded:
    """``reliability + "\x1f" + credibility`` per row, coded: built once per distinct pair."""
    width = max(len(credibility.uniques), 1)
    pair_codes = reliability.codes.astype(np.int64) * width + credibility.codes
    codes, distinct = pd.factorize(pair_codes)
    pairs = np.array([reliability.uniques[c // width] + "\x1f" + credibility.uniques[c % width] for c in distinct],
                     dtype=object)
    return _Coded(codes, pairs, reliability.index)


def _check_grades(pairs: _Coded, reliability: _Coded, credibility: _Coded,
                  found: _Collector) -> tuple[_Coded, _Coded]:
    letter, number, letter_problem, number_problem = _per_value(pairs, parse_grades, 4)
    for name, values, problem in (("reliability", reliability, letter_problem),
                                  ("credibility", credibility, number_problem)):
        mask = problem.map(lambda v: v is not None, bool).array()
        if mask.any():
            found.flag(mask, name, problem, values)
    return letter, number


def _same(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Element-wise equality where two missing values are equal."""
    left_na, right_na = pd.isna(left), pd.isna(right)
    equal = np.zeros(len(left), dtype=bool)
    both = ~left_na & ~right_na
    equal[both] = left[both] == right[both]
    return (left_na & right_na) | equal


def _check_consistency(out: dict[str, _Coded], text: dict[str, _Coded], empty: dict[str, np.ndarray],
                       keys: dict[str, _Coded], found: _Collector) -> None:
    """Flag rows whose sighting-level values differ from the first row of their sighting.

    Rows are compared by codes first (``keys[column]``: equal codes mean equal
    text, hence equal parsed values); values are compared only where the codes differ.
    """
    sid = out["sighting_id"]
    with_id = ~empty["sighting_id"]
    first = with_id & ~pd.Series(sid.codes).duplicated().to_numpy()
    repeated = with_id & ~first
    if not repeated.any():
        return
    first_at = np.zeros(len(sid.uniques), dtype=np.intp)
    first_at[sid.codes[first]] = np.flatnonzero(first)
    mine = np.flatnonzero(repeated)
    ref = first_at[sid.codes[mine]]
    index = found.rows.index
    for column in _CONSISTENT:
        codes = keys[column].codes
        unsure = codes[mine] != codes[ref]
        if not unsure.any():
            continue
        mine_u, ref_u = mine[unsure], ref[unsure]
        already = found.bad_in(column).to_numpy()
        skip = already[mine_u] | already[ref_u]
        values = out[column]
        left = np.where(empty[column][mine_u], None, values.at(mine_u))
        right = np.where(empty[column][ref_u], None, values.at(ref_u))
        differs = ~_same(left, right) & ~skip
        for at, at_ref in zip(mine_u[differs], ref_u[differs]):
            found.add(index[at], column,
                      f"differs from row {int(found.rows.iloc[at_ref])} of the same sighting {sid.at(at)!r}, "
                      f"which has {text[column].at(at_ref)!r} (it must be the same on every row of a sighting)",
                      text[column].at(at))


def normalize_tags(text: str) -> str:
    """Comma-separated tags as stored: each trimmed, empty ones dropped, each once, in order given."""
    if not text:
        return ""
    tags = [tag.strip() for tag in text.split(",")]
    return ", ".join(dict.fromkeys(tag for tag in tags if tag))


def _distinct_join(values: pd.Series, sep: str) -> Any:
    texts = [v for v in dict.fromkeys(values.dropna().tolist()) if v != ""]
    return sep.join(texts) if texts else None


def add_up(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of one sighting with the same type, mode, event and actor as one row, their counts summed.

    One row per vehicle is how many people tally a video, and how Oryx lists
    a photo of three burnt T-72s. ``count_max`` sums too (a row without one
    adds its ``count``); notes and units keep each distinct text, tags and
    markings are the union (each identifier once); the first row's name
    and captor are kept, another captor goes to the notes. The row stays
    where the first of them was.
    """
    key = list(ADD_UP_KEY)
    repeated = frame.duplicated(key, keep=False).to_numpy()
    if not repeated.any():
        return frame
    part = frame.loc[repeated]
    group = part.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    first = ~pd.Series(group).duplicated().to_numpy()
    keep_at = part.index[first]
    order = group[first]  # group number of each kept row, in row order
    count = part["count"].to_numpy(dtype=np.int64)
    summed = np.bincount(group, weights=count).astype(np.int64)
    has_max = part["count_max"].notna().to_numpy()
    upper = np.where(has_max, part["count_max"].to_numpy(dtype="float64", na_value=np.nan), count)
    summed_max = np.bincount(group, weights=upper).astype(np.int64)
    any_max = np.bincount(group, weights=has_max.astype(np.int64)) > 0
    out = frame.drop(index=part.index[~first])
    out.loc[keep_at, "count"] = summed[order]
    out.loc[keep_at, "count_max"] = pd.array(np.where(any_max, summed_max, 0)[order], dtype="Int64")
    out.loc[keep_at[~any_max[order]], "count_max"] = pd.NA
    by = pd.Series(group, index=part.index)
    for column, sep in (("notes", "; "), ("unit", "; ")):
        joined = part[column].groupby(by, sort=False).agg(lambda v: _distinct_join(v, sep))
        out.loc[keep_at, column] = joined.reindex(order).to_numpy(dtype=object)
    tags = part["tags"].groupby(by, sort=False).agg(lambda v: normalize_tags(", ".join(v.dropna())) or None)
    out.loc[keep_at, "tags"] = tags.reindex(order).to_numpy(dtype=object)
    markings = part["markings"].groupby(by, sort=False).agg(
        lambda v: MARKING_SEPARATOR.join(split_markings(MARKING_SEPARATOR.join(v.dropna()))) or None)
    out.loc[keep_at, "markings"] = markings.reindex(order).to_numpy(dtype=object)
    captors = part["captor"].groupby(by, sort=False).agg(lambda v: list(dict.fromkeys(v.dropna())))
    others = [c[1:] for c in captors.reindex(order)]
    for at, rest in zip(keep_at, others):
        if rest:
            note = "also captured by: " + ", ".join(rest)
            before = out.at[at, "notes"]
            out.at[at, "notes"] = note if pd.isna(before) else f"{before}; {note}"
    for column in ("notes", "unit", "tags", "markings", "captor", "equipment"):
        out[column] = out[column].astype("str")
    return out.reset_index(drop=True)


def _check_equipment(names: _Coded, given_ids: _Coded, catalog: Catalog, found: _Collector, *,
                     keep_unresolved: bool = False) -> _Coded:
    def resolve(name: str) -> tuple[str | None, str | None]:
        if name == "":
            return None, None
        entry = catalog.lookup(name)
        if entry is not None:
            return entry.id, None
        if keep_unresolved:
            return UNRESOLVED_PREFIX + name, None
        return None, "not in the equipment catalog"

    # Only the names some row has: a CSV column keeps its header's text among its values, and resolving
    # the word "equipment" would load the resolution pipeline (a file's names are usually all exact).
    used = np.zeros(len(names.uniques), dtype=bool)
    used[names.codes] = True
    given_names = _Coded(names.codes, np.where(used, names.uniques, "").astype(object), names.index)
    resolved, errors = _per_value(given_names, resolve, 2)
    unknown = errors.map(lambda v: v is not None, bool).array()
    if unknown.any():
        shown = names.at(np.flatnonzero(unknown))
        hints: dict[str, str] = {}
        for name in pd.unique(shown):
            near = catalog.suggest(name)
            hints[name] = ("did you mean " + ", ".join(near) + "?") if near else "see `orbat catalog list`"
        found.flag(unknown, "equipment", "not in the equipment catalog", names, hint=hints.get)
    # equipment_id is written by exports; when present it must agree with the name.
    given = ~given_ids.is_empty()
    if given.any():
        where = np.flatnonzero(given)
        theirs, ours = given_ids.at(where), resolved.at(where)
        clash = np.zeros(len(given), dtype=bool)
        clash[where] = np.array([o is not None and t != o for t, o in zip(theirs, ours)], dtype=bool)
        if clash.any():
            found.flag(clash, "equipment_id", "does not match the equipment name", given_ids,
                       hint=lambda v: "the name resolves to another catalog id")
    return resolved


# ---------------------------------------------------------------- rejects and output


def rejects_frame(raw: pd.DataFrame, problems: Sequence[Problem], first_row: int = 2,
                  labels: Sequence[str] | None = None) -> pd.DataFrame:
    """The refused rows as they were in the file, plus ``row`` and ``reason`` columns.

    With ``labels`` (one per row: where a row of a continued workbook or a
    JSON file is), a ``where`` column after ``row`` says where each row was.
    """
    reasons: dict[int, list[str]] = {}
    for p in problems:
        if p.kind == HEADER or p.row is None:
            continue
        reason = (f"{p.column}: " if p.column else "") + p.message
        if p.value is not None:
            reason += f", got {_short(p.value)}"
        if p.hint:
            reason += f" ({p.hint})"
        reasons.setdefault(p.row, []).append(reason)
    positions = [r - first_row for r in sorted(reasons) if 0 <= r - first_row < len(raw)]
    out = raw.iloc[positions].copy()
    columns = [str(c) if str(c).strip() else f"column_{i + 1}" for i, c in enumerate(out.columns)]
    out.columns = columns
    out = out.loc[:, [c for c in out.columns if _header_key(c) not in ("row", "where", "reason")]]
    out.insert(0, "row", [first_row + p for p in positions])
    if labels is not None:
        out.insert(1, "where", [labels[p] for p in positions])
    out["reason"] = ["; ".join(reasons[first_row + p]) for p in positions]
    return out.reset_index(drop=True)


def rejects_path(path: str | os.PathLike) -> Path:
    """Where ``--skip-invalid`` writes the refused rows: ``NAME.rejects.csv`` beside the input."""
    path = Path(path)
    return path.with_name(path.stem + ".rejects.csv")


def write_rejects(path: str | os.PathLike, rejects: pd.DataFrame) -> Path:
    """Write refused rows (see :func:`rejects_frame`) as CSV UTF-8 that Excel opens safely.

    Cells that would start a formula are escaped (:func:`escape_formula_text`);
    the importer undoes that, so a corrected rejects file imports as it is.
    Returns the path written.
    """
    from orbat.outfiles import replaced_when_done

    path = Path(path)
    safe = rejects.astype(str).map(escape_formula_text)
    # Whole or not at all: a failed write leaves no temporary file and no half a rejects file.
    with replaced_when_done(path) as tmp:
        safe.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def _plain(value: Any) -> Any:
    """A frame cell as a JSON value (NA -> None, numpy scalars -> Python)."""
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def frame_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The canonical frame as a list of plain dicts (one per row, JSON-ready)."""
    columns = [c for c in CANONICAL_COLUMNS if c in frame.columns]
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in frame[columns].itertuples(index=False)]


_NESTED_SIGHTING = ("sighting_id", "convoy", "observed_at", "place", "lat", "lon",
                    "source", "reliability", "credibility")
_NESTED_ENTRY = ("actor", "equipment", "equipment_id", "count", "count_max", "mode", "notes", "event", "captor",
                 "unit", "tags", "markings")


def frame_to_nested(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The canonical frame as sightings, each with its fields and ``entries``; read back by :func:`read_sightings`.

    Each entry has its ``actor``; the sighting's ``actor`` lists them (joined
    by ``, ``) for display, and reading the form back takes the entries' own.
    """
    out: dict[str, dict[str, Any]] = {}
    for record in frame_to_records(frame):
        sid = record["sighting_id"]
        if sid not in out:
            out[sid] = {k: record.get(k) for k in _NESTED_SIGHTING}
            out[sid]["entries"] = []
        out[sid]["entries"].append({k: record.get(k) for k in _NESTED_ENTRY})
    for item in out.values():
        # the sighting's actors, for display: each entry has its own (a mixed column has several)
        actors = list(dict.fromkeys(e["actor"] for e in item["entries"] if e["actor"] is not None))
        item["actor"] = ", ".join(actors) if actors else None
    return list(out.values())


def raw_from_records(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows given as dicts (column -> value) as a raw text frame for :func:`validate_frame`."""
    header: list[str] = []
    for record in records:
        header.extend(k for k in record if k not in header)
    rows = [[json_scalar(r.get(k))[0] for k in header] for r in records]
    return frame_from_rows(header, rows)


def build_sighting(fields: dict[str, Any], entries: Sequence[dict[str, Any]], catalog: Catalog, *,
                   today: dt.date | None = None, source: str = "orbat add",
                   labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One sighting from its fields and entries (as ``orbat add`` takes them), validated like a file.

    Raises :class:`InvalidSightings` naming the entry (``labels[i]``, default
    ``entry 2``) and the column of each problem.
    """
    if not entries:
        raise InvalidSightings([Problem(source, None, "equipment", "at least one equipment entry is required")],
                               source=source)
    records = [{**fields, **entry} for entry in entries]
    if labels is None or len(labels) != len(entries):
        labels = [f"entry {i}" for i in range(1, len(entries) + 1)]
    frame, problems = validate_frame(raw_from_records(records), catalog, source=source, first_row=1,
                                     today=today, row_labels=labels, spreadsheet=False)
    problems = [p for p in problems if p.kind != WITH_SIGHTING]
    if problems:
        raise InvalidSightings(problems, source=source)
    return frame
