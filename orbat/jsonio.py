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

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import orjson

#: Lines of ``--jsonl`` gathered before one write (the first line is written at once).
JSONL_BATCH = 256

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
#: Keys that are not text (ints, dates, enums) are written as text: with this option, tried only when needed
#: (it makes orjson check every key, a fifth of the time of 20,000 convoys' estimates, whose keys are all text).
_ANY_KEYS = orjson.OPT_NON_STR_KEYS


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
    options = _OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        return orjson.dumps(data, default=_default, option=options)
    except orjson.JSONEncodeError:  # a key that is not text, most likely: the same bytes as with the option on
        return orjson.dumps(data, default=_default, option=options | _ANY_KEYS)


def loads(text: str | bytes) -> Any:
    """Parse JSON text (the inverse of :func:`dumps`)."""
    return orjson.loads(text)


def write_json(items: Iterable[Any], out: BinaryIO, *, indent: bool = False) -> int:
    """Write ``items`` to ``out`` as one JSON array, one encoded item at a time; returns how many.

    The array is written item by item, so the whole output never exists as
    one string: memory holds one item's JSON at a time (and what the caller
    keeps of the items).
    """
    counted = _Counted(items)
    write_json_pieces(json_pieces(counted, indent=indent), out, indent=indent)
    return counted.n


def json_pieces(items: Iterable[Any], *, indent: bool = False) -> Iterator[bytes]:
    """Each item as a piece of a JSON array: its separator, then its JSON (see :func:`write_json_pieces`).

    Every piece starts with the separator, the first too: pieces made
    apart (a block of convoys in a worker process) join into the same bytes
    as one run's.
    """
    sep = b",\n  " if indent else b","
    for item in items:
        encoded = dumps(item, indent=indent)
        yield sep + (encoded.replace(b"\n", b"\n  ") if indent else encoded)


def write_json_pieces(pieces: Iterable[bytes], out: BinaryIO, *, indent: bool = False) -> None:
    """Write the JSON array of :func:`json_pieces`' pieces (in any chunks of their bytes) to ``out``.

    The brackets around them, and the first piece's separator dropped.
    """
    opening, sep = (b"[\n  ", b",\n  ") if indent else (b"[", b",")
    strip = len(sep)  # bytes of the first separator still to drop
    for chunk in pieces:
        if strip:
            dropped = chunk[:strip]
            strip -= len(dropped)
            chunk = chunk[len(dropped):]
            if strip:  # a chunk shorter than a separator (or empty): the rest of it is in the next
                continue
            out.write(opening)
        if chunk:
            out.write(chunk)
    out.write(b"[]\n" if strip == len(sep) else b"\n]\n" if indent else b"]\n")


def write_jsonl(items: Iterable[Any], out: BinaryIO, *, batch: int = JSONL_BATCH) -> int:
    """Write each item as one compact JSON line to ``out``, as it comes; returns how many.

    The first line is written and flushed at once (a pipe sees the first
    result straight away), then lines go out ``batch`` at a time.
    """
    counted = _Counted(items)
    write_chunks(jsonl_pieces(counted), out, batch=batch)
    return counted.n


def jsonl_pieces(items: Iterable[Any]) -> Iterator[bytes]:
    """Each item as one line of JSON Lines (its compact JSON and a newline)."""
    for item in items:
        yield dumps(item) + b"\n"


def write_chunks(pieces: Iterable[bytes], out: BinaryIO, *, batch: int = JSONL_BATCH) -> None:
    """Write ``pieces`` to ``out`` as they come: the first at once (flushed), then ``batch`` at a time.

    (Or sooner once a megabyte waits: pieces copied from a worker's file are big.)
    """
    pending: list[bytes] = []
    size = 0
    first = True
    for piece in pieces:
        pending.append(piece)
        size += len(piece)
        if first or len(pending) >= batch or size >= 1 << 20:
            out.write(b"".join(pending))
            out.flush()
            pending.clear()
            size, first = 0, False
    if pending:
        out.write(b"".join(pending))
        out.flush()


class _Counted:
    """An iterable that counts the items taken from it (``n``)."""

    def __init__(self, items: Iterable[Any]):
        self._items, self.n = items, 0

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self.n += 1
            yield item
