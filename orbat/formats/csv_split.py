"""A large UTF-8 CSV parsed in two processes: the first half here, the second in a forked child.

pandas' C parser holds the GIL (threads gave no gain), so the second CPU
takes half of the file in a process of its own. The file is cut at a record
end near the middle: a ``\\n`` with an even count of ``"`` before it (RFC
4180 escapes a quote inside a quoted field as ``""``, so the parity says
whether a line end is inside quotes). The parity is only a guess when a
quote stands inside an unquoted field (the parser keeps it as text); the
first half then ends inside a quoted field, its parse fails, and the file
is read the usual way: a cut is only ever used where the parser itself
ended a record.

Each process codes its columns as :func:`orbat.formats.csv._read_coded`
does; the child's pieces are joined after the parent's, which gives the
very frame of the usual read (categories in order of first appearance).
On anything unexpected (a parser or decoding error in either half, the
child dying) both halves are dropped and :func:`read_split` returns None:
the caller reads the whole file the usual way, whose errors name the file's
own rows.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from orbat import workers
from orbat.formats import csv as csv_format
from orbat.formats.table import Progress

#: Smallest file parsed in two processes. The fork, the child's start, the copy-on-write faults of both
#: processes and the pieces' way back cost about 30 ms on a tiny file. Measured on 2 CPUs (median of 9, load
#: about 2, benchmarks.generate files): 4 MB 49.5 ms split against 45.4 ms not, 8 MB 74.8 against 83.0,
#: 16 MB 134.5 against 162.1; 42 MB 284 against 340 (docs/performance.md, "Reading on both CPUs").
MIN_SPLIT_BYTES = 8 * 1024**2

#: How far past the middle a safe cut is looked for; none found there (a long quoted field, no line end),
#: the file is read the usual way.
CUT_WINDOW = 1 << 20


def read_split(path: Path, size: int, options: dict, progress: Progress | None) -> pd.DataFrame | None:
    """The frame :func:`orbat.formats.csv._read_text` reads, parsed in two processes; None when not worth it or
    when anything went wrong (then read the usual way).

    ``options`` are the ``pandas.read_csv`` arguments of the usual read.
    """
    if not _worth_splitting(size):
        return None
    cut = find_cut(path, size)
    if cut is None:
        return None
    try:
        with workers.Child(lambda: _second_part(path, cut, options)) as child:
            with path.open("rb") as raw_handle:
                source = io.BufferedReader(_FirstPart(raw_handle, cut, size, progress))
                header, parts = csv_format._coded_pieces(pd.read_csv(
                    source, **options, chunksize=csv_format.CHUNK_ROWS), header=True)
            theirs = child.result()
    except Exception:  # noqa: BLE001 - any failure: the usual read says what it is
        return None
    if header is None or set(theirs) != set(parts):
        return None
    for name, pieces in theirs.items():
        parts[name].extend(pieces)
    if progress:
        progress("reading", size, size)
    data = csv_format._joined_frame(parts)
    data.columns = header
    return data


def _worth_splitting(size: int) -> bool:
    """Whether a file of ``size`` bytes is large enough, and a second CPU is free here for a child process
    (forked safely: this process has no other thread)."""
    return (
        size >= MIN_SPLIT_BYTES
        and workers.can_fork()
        # A fork copies only the calling thread: a lock another thread holds (an import's) would stay held
        # in the child for ever. A library caller with threads reads the usual way.
        and threading.active_count() == 1
        and not workers.in_worker()
        and not workers.on_one_thread()
        and workers.free_cpus(2, spare=workers.PROCESS_SPARE) > 1
    )


def find_cut(path: Path, size: int) -> int | None:
    """The offset just past a ``\\n`` near the middle with an even count of ``"`` before it; None if none is near.

    The second part starts there: not empty, and never the first record (the header).
    """
    middle = size // 2
    quotes = 0
    # One buffer read into again and numpy's count: half the time of bytes.count on new chunks (5.5-13 ms
    # against 13-27 ms for the first 21 MB of a 42 MB file), and this runs before the child starts.
    buffer = bytearray(1 << 20)
    with path.open("rb", buffering=0) as handle:
        left = middle
        while left > 0 and (count := handle.readinto(memoryview(buffer)[:min(len(buffer), left)])):
            quotes += int(np.count_nonzero(np.frombuffer(buffer, np.uint8, count) == ord('"')))
            left -= count
        window = handle.read(CUT_WINDOW)
    at = 0
    while (end := window.find(b"\n", at)) >= 0:
        quotes += window.count(b'"', at, end)
        if quotes % 2 == 0:
            cut = middle + end + 1
            return cut if cut < size else None
        at = end + 1
    return None


def _second_part(path: Path, cut: int, options: dict) -> dict[object, list[tuple[np.ndarray, np.ndarray]]]:
    """The child's work: the columns of the file's records from ``cut`` on, each as one coded piece."""
    with warnings.catch_warnings():
        # A first record longer than the header would lose its last cells (pandas only warns): an error here,
        # which the usual read reports as the row it is.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        columns = len(pd.read_csv(path, nrows=1, **options).columns)
        with path.open("rb") as handle:
            handle.seek(cut)
            _, parts = csv_format._coded_pieces(pd.read_csv(
                io.BufferedReader(handle), **options, names=range(columns), index_col=False,
                chunksize=csv_format.CHUNK_ROWS), header=False)
    # One piece a column: its chunks joined here, on the child's CPU (fewer objects to send and to hash again).
    pieces = {}
    for name, chunks in parts.items():
        joined = csv_format._joined_codes(chunks)
        pieces[name] = [(joined.codes, np.asarray(joined.categories, dtype=object))]
    return pieces


class _FirstPart(io.RawIOBase):
    """The file's first ``end`` bytes, as a binary file; its read position (scaled to the whole file: both
    halves go at about one pace) feeds the progress bar."""

    def __init__(self, handle, end: int, total: int, progress: Progress | None):
        super().__init__()
        self._handle, self._end, self._total, self._progress = handle, end, total, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._end - self._handle.tell()
        if left <= 0:
            return 0
        view = memoryview(buffer)
        count = self._handle.readinto(view[:min(len(view), left)])
        if self._progress:
            self._progress("reading", min(self._handle.tell() * self._total // self._end, self._total), self._total)
        return count
