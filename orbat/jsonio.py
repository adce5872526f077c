"""JSON out: the one module that serializes orbat's results (``--json``, ``--jsonl``).

orjson does the encoding (measured against msgspec and the standard library on
20,000 convoys' estimates: ``docs/performance.md``). Everything that prints or
writes JSON goes through :func:`dumps`, :func:`write_json` or
:func:`write_jsonl`, so the choice of encoder lives here alone.

The encoding is generic: any dict, list, str, number, bool or None passes
through as it is, whatever fields a result gains; numpy scalars and arrays,
dates and datetimes are written as JSON numbers, lists and ISO 8601 text, and
anything else as its ``str()``. Text is written as UTF-8, not ``\\u`` escapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

import orjson

#: Lines of ``--jsonl`` gathered before one write (the first line is written at once).
JSONL_BATCH = 256

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    """What orjson cannot encode by itself: numpy and pandas scalars as Python values, the rest as text."""
    item = getattr(value, "item", None)
    if item is not None:
        try:
            return item()
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return isoformat()
    return str(value)


def dumps(data: Any, *, indent: bool = False) -> bytes:
    """``data`` as UTF-8 JSON: compact, or indented by two spaces."""
    return orjson.dumps(data, default=_default, option=_OPTIONS | (orjson.OPT_INDENT_2 if indent else 0))


def loads(text: str | bytes) -> Any:
    """Parse JSON text (the inverse of :func:`dumps`)."""
    return orjson.loads(text)


def write_json(items: Iterable[Any], out: BinaryIO, *, indent: bool = False) -> int:
    """Write ``items`` to ``out`` as one JSON array, one encoded item at a time; returns how many.

    The array is written item by item, so the whole output never exists as
    one string: memory holds one item's JSON at a time (and what the caller
    keeps of the items).
    """
    n = 0
    sep = b",\n  " if indent else b","
    for item in items:
        encoded = dumps(item, indent=indent)
        if indent:
            encoded = encoded.replace(b"\n", b"\n  ")
        out.write((sep if n else (b"[\n  " if indent else b"[")) + encoded)
        n += 1
    out.write((b"\n]\n" if indent else b"]\n") if n else b"[]\n")
    return n


def write_jsonl(items: Iterable[Any], out: BinaryIO, *, batch: int = JSONL_BATCH) -> int:
    """Write each item as one compact JSON line to ``out``, as it comes; returns how many.

    The first line is written and flushed at once (a pipe sees the first
    result straight away), then lines go out ``batch`` at a time.
    """
    n = 0
    pending: list[bytes] = []
    for item in items:
        pending.append(dumps(item))
        n += 1
        if n == 1 or len(pending) >= batch:
            out.write(b"\n".join(pending) + b"\n")
            out.flush()
            pending.clear()
    if pending:
        out.write(b"\n".join(pending) + b"\n")
        out.flush()
    return n
