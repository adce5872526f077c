"""Helpers every tabular reader shares: ragged rows as a raw text frame, JSON scalars as cell text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: ``progress(stage, done, total)``: how a reader reports how far it got.
Progress = Callable[[str, int, int], None]


def frame_from_rows(header: list[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A raw text frame from ragged rows (missing cells are empty; cells past the header get no name)."""
    width = max([len(header), *(len(r) for r in rows)]) if rows else len(header)
    columns = [np.full(len(rows), "", dtype=object) for _ in range(width)]
    for i, cells in enumerate(rows):
        for j, value in enumerate(cells):
            if value is not None:
                columns[j][i] = value
    names = list(header) + [""] * (width - len(header))
    data = pd.DataFrame({j: pd.Series(col, dtype=object) for j, col in enumerate(columns)})
    data.columns = names
    return data



def json_scalar(value: Any) -> tuple[str, bool]:
    """JSON value as cell text, and whether it was a scalar."""
    if value is None:
        return "", True
    if isinstance(value, bool):
        return ("true" if value else "false"), True
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)), True
    if isinstance(value, str):
        return value, True
    return json.dumps(value, ensure_ascii=False)[:200], False


def header_key(name: str) -> str:
    """A column name as the formats match it: case, surrounding spaces, and spaces or hyphens for ``_`` ignored."""
    return re.sub(r"[\s\-]+", "_", str(name).replace("\ufeff", "").strip().lower())
