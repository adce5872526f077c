"""What the published loss lists (Oryx, WarSpotting) share: size bound, status, captor, the reading itself.

A loss list is read as published, then turned into interchange text cells
(one row per vehicle, which the validation adds up per sighting, type, mode
and event). Names the catalog does not know are kept under the name as
written. The reader never refuses a file for a row; it reports each bad row
(file, row, column) with the rest of the validation's problems.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from orbat.errors import InputFileError, UsageError
from orbat.formats.table import Progress, header_key

#: Largest loss list accepted. Oryx's whole list is under 4 MB and WarSpotting's under 20 MB; a file
#: much larger than that is not a loss list, and is refused before it is read.
MAX_LOSS_LIST_BYTES = 100 * 1024**2
#: What the lists call their events; each is an orbat event of the same name.
STATUSES: tuple[str, ...] = ("destroyed", "damaged", "abandoned", "captured")
#: A Admiralty grade as ``--grade`` takes it: reliability A-F, optionally credibility 1-6.
_GRADE = re.compile(r"^[A-Fa-f][1-6]?$")
#: The sniffing reads no more of a file than this to tell its format.
_PEEK_BYTES = 64 * 1024


def check_grade(grade: str | None, default: str) -> str:
    """The grade given to every row: ``--grade`` when given (checked), else the source's default."""
    if grade is None:
        return default
    text = grade.strip()
    if not _GRADE.match(text):
        raise UsageError(f"--grade {grade!r}: expected an Admiralty grade, reliability A-F and "
                         "credibility 1-6, like B2")
    return text.upper()


def _sniff(path: Path) -> str | None:
    """``oryx`` or ``warspotting`` when the first bytes of a CSV or JSON file say so, else None."""
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in (".csv", ".tsv", ".txt", ".json"):
        return None
    with path.open("rb") as handle:
        head = handle.read(_PEEK_BYTES).decode("utf-8-sig", errors="replace")
    if suffix == ".json":
        # WarSpotting's API answers {"losses": [...]}; orbat's own JSON is an array or {"sightings": ...}.
        return "warspotting" if re.match(r'\s*\{\s*"losses"\s*:', head) else None
    import csv

    from orbat.formats import detect_format

    first = head.splitlines()[0] if head.strip() else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    header = next(csv.reader([first], delimiter=delimiter), [])
    found = detect_format(path, header)
    return None if found == "interchange" else found


def read_loss_list(path: Path, fmt: str | None, *, grade: str | None, today: dt.date | None,
                   progress: Progress | None):
    """A loss list as a :class:`orbat.formats.RawTable`; None when ``fmt`` is None and the file is not one."""
    from orbat.formats import oryx, read_raw, warspotting

    if fmt is None:
        fmt = _sniff(path)
        if fmt is None:
            return None
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a loss list")
    size = path.stat().st_size
    if size > MAX_LOSS_LIST_BYTES:
        raise InputFileError(
            f"{path}: {size:,} bytes is larger than the {MAX_LOSS_LIST_BYTES:,}-byte limit for a loss list "
            f"(--from {fmt}); nothing was imported. Split the file, or check that it is the list you meant")
    today = today or dt.date.today()
    notes: list[str] = []
    if fmt == "warspotting" and path.suffix.lower() == ".json":
        raw, first_row, labels = warspotting.read_api_json(path)
    else:
        raw, first_row, labels = read_raw(path, notes=notes, progress=progress)
    module = oryx if fmt == "oryx" else warspotting
    table = module.convert(raw, source=str(path), first_row=first_row, labels=labels,
                           grade=check_grade(grade, module.DEFAULT_GRADE), today=today)
    table.notes[:0] = notes
    return table


def file_columns(raw: pd.DataFrame, wanted: Sequence[str], required: Sequence[str], *, source: str,
                 fmt: str) -> dict[str, pd.Series]:
    """The columns a reader uses, by their canonical name, as trimmed text; a missing required one is an error."""
    by_key: dict[str, int] = {}
    for i, name in enumerate(raw.columns):
        by_key.setdefault(header_key(name), i)
    missing = [c for c in required if c not in by_key]
    if missing:
        raise InputFileError(
            f"{source}: not a {fmt} list: missing the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (a {fmt} list has {', '.join(wanted)}); nothing was imported")
    out = {}
    for name in wanted:
        if name in by_key:
            column = raw.iloc[:, by_key[name]]
            out[name] = pd.Series(_trimmed(column.to_numpy(dtype=object)), index=raw.index, dtype=object)
        else:
            out[name] = pd.Series("", index=raw.index, dtype=object)
    return out


def _trimmed(values: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    cleaned = np.array(["" if u is None or (isinstance(u, float) and np.isnan(u)) else str(u).strip()
                        for u in uniques], dtype=object)
    return cleaned[codes] if len(cleaned) else np.empty(0, dtype=object)


def per_value(values: pd.Series, func) -> pd.Series:
    """``func`` applied once per distinct value (lists repeat the same names and dates on many rows)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [func(u) for u in uniques]
    return pd.Series(mapped[codes] if len(mapped) else np.empty(0, dtype=object), index=values.index, dtype=object)


def events(status: pd.Series, column: str, problems: list) -> pd.Series:
    """The orbat event of each status (``Destroyed`` is ``destroyed``); an unknown status is a problem."""
    lowered = per_value(status, lambda s: s.lower())
    bad = ~lowered.isin(STATUSES)
    for pos in np.flatnonzero(bad.to_numpy()):
        value = status.iloc[pos]
        problems.append((int(pos), column, "a value is required (one of " + ", ".join(STATUSES) + ")"
                         if value == "" else "expected a loss status: one of " + ", ".join(STATUSES), value or None))
    return lowered.where(~bad, "")


def captors(actor: pd.Series, event: pd.Series, sides: tuple[str, str]) -> tuple[pd.Series, int]:
    """Who captured each captured vehicle: the other side of a two-sided list.

    The sides are the two actors of the file when it names exactly two,
    else the source's own two (``sides``). A vehicle lost by an actor that is
    neither side gets no captor (and is counted, for a note).
    """
    named = [a for a in pd.unique(actor.to_numpy(dtype=object)) if a]
    pair = tuple(named) if len(named) == 2 else sides
    lowered = [p.lower() for p in pair]

    def other(name: str) -> str:
        low = name.lower()
        if low == lowered[0]:
            return pair[1]
        if low == lowered[1]:
            return pair[0]
        return ""

    captured = (event == "captured").to_numpy()
    out = pd.Series("", index=actor.index, dtype=object)
    if captured.any():
        out[captured] = per_value(actor[captured], other).to_numpy()
    return out, int((captured & (out == "").to_numpy()).sum())
