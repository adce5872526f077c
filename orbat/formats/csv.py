"""The interchange format as CSV text: encoding and separator detection, Excel's quirks, bounded reading.

Every cell is read as text (the validation in :mod:`orbat.sightings` parses it).
"""

from __future__ import annotations

import codecs
import ctypes
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from orbat.errors import InputFileError
from orbat.formats.table import Progress

#: Largest CSV accepted. It is read whole into memory (about 10x its size).
MAX_CSV_BYTES = 2 * 1024**3
#: Rows parsed as text at a time, each chunk's columns then kept as codes into their distinct values.
CHUNK_ROWS = 100_000


def _read_coded(chunks) -> tuple[list[str] | None, pd.DataFrame]:
    """The chunks of a text read as ``(header, frame of the other rows' cells as categorical columns)``.

    ``header`` is the first row's cells (``""`` for a missing one), None when
    the read gave no rows at all.

    Each column is kept as codes into its distinct values, in order of first
    appearance (what ``pd.factorize`` gives): the validation works once per
    distinct value. Parsing as plain text and coding each chunk is about twice
    as fast as pandas' own ``dtype="category"`` parse, and as small in memory:
    only one chunk's cells exist as separate strings at a time. A missing cell
    (a short row) stays missing (code -1).
    """
    header, parts = _coded_pieces(chunks, header=True)
    return header, _joined_frame(parts)


def _coded_pieces(chunks, *, header: bool) -> tuple[list[str] | None, dict[object, list[tuple[np.ndarray, np.ndarray]]]]:
    """The chunks' columns, each as a list of :func:`_code_objects` pieces (one a chunk), and the header's cells.

    With ``header`` the first row is the header: its cells are returned (None
    when there are no rows) and its codes left out; without, every row is data.
    """
    parts: dict[object, list[tuple[np.ndarray, np.ndarray]]] = {}
    cells: list[str] | None = None
    first = header
    for chunk in chunks:
        if first:
            cells = ["" if pd.isna(h) else str(h) for h in chunk.iloc[0].tolist()] if len(chunk) else None
        for name in chunk.columns:
            # The header row is coded too (its text stays a category, as it always was), then left out.
            codes, distinct = _code_objects(chunk[name].to_numpy(dtype=object))
            parts.setdefault(name, []).append((codes[1:] if first else codes, distinct))
        first = False
    return cells, parts


def _joined_frame(parts: dict[object, list[tuple[np.ndarray, np.ndarray]]]) -> pd.DataFrame:
    """The columns of :func:`_coded_pieces`, each joined into one categorical (:func:`_joined_codes`)."""
    # copy=False: the categoricals are new (pandas 3 copies the arrays of a dict unless told not to)
    return pd.DataFrame({name: _joined_codes(pieces) for name, pieces in parts.items()}, copy=False)


def _joined_codes(pieces: list[tuple[np.ndarray, np.ndarray]]) -> pd.Categorical:
    """One column's chunks, each ``(codes, objects)`` of :func:`_code_objects`, as one categorical.

    The chunks' objects, one after the other, are factorised by value once:
    each gets its code among all the column's distinct values, in order of
    first appearance (what ``pd.factorize`` of the whole column gives, and
    ``union_categoricals`` of the chunks), and a chunk's codes are recoded in
    one take. This is the only pass that hashes text: two objects of one
    value, in one chunk or two, get one code here.
    The codes are made in the categorical's own integer type (int8 for fewer
    than 127 values) and written in place: no pass converts them after.
    """
    objects = pieces[0][1] if len(pieces) == 1 else np.concatenate([distinct for _, distinct in pieces])
    joined, values = pd.factorize(objects)  # a missing cell's object (NaN) gets -1
    small = _code_type(len(values))
    codes = np.empty(sum(len(part) for part, _ in pieces), dtype=small)
    start = at = 0
    for part, distinct in pieces:
        remap = np.append(joined[start:start + len(distinct)], -1).astype(small)  # code -1 (missing) stays -1
        np.take(remap, part, out=codes[at:at + len(part)])
        start += len(distinct)
        at += len(part)
    categories = pd.Index(values, dtype=object)
    # The values are distinct (factorize made them): the dtype need not hash them all again to check.
    fastpath = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    dtype = fastpath(categories, False) if fastpath is not None else pd.CategoricalDtype(categories)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _code_type(count: int) -> type:
    """The integer type pandas keeps the codes of ``count`` categories in (its ``coerce_indexer_dtype``)."""
    for kind in (np.int8, np.int16, np.int32):
        if count < np.iinfo(kind).max:
            return kind
    return np.int64


def _code_objects(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's column as ``(codes, objects)``: ``objects[codes]`` is its cells (a code -1 is a missing cell).

    pandas' C parser boxes each distinct text of a chunk as one str object and
    hands the same object back for every cell with that text, so a column of
    100,000 cells holds a few thousand objects. The cells are coded by object
    address (integers: several times faster than hashing and comparing
    strings), in order of first appearance; the objects are not compared by
    value here. Two objects may hold one value (a parser need not share
    them): :func:`_joined_codes` gives them one code, whatever the objects are.
    """
    if cells.dtype != object or not cells.flags.c_contiguous or len(cells) == 0:
        return pd.factorize(cells)
    # The array's own pointers, read in place (numpy will not view an object array as integers).
    addresses = np.frombuffer((ctypes.c_char * cells.nbytes).from_address(cells.ctypes.data), dtype=np.intp)
    # One object below the first cell: an empty column (the last cell tells the usual column at once).
    if len(cells) > 1 and addresses[-1] == addresses[1] and (addresses[1:] == addresses[1]).all():
        codes = np.ones(len(cells), dtype=np.intp)
        codes[0] = 0
        return codes, cells[[0, 1]]
    by_object, objects = pd.factorize(addresses)
    # Codes are numbered in order of first appearance, each one above the largest before it: the first
    # cell of object k is where the running maximum reaches k (a binary search per object, not a pass per cell).
    first = np.searchsorted(np.maximum.accumulate(by_object), np.arange(len(objects)))
    return by_object, cells[first]


def _check_encoding(path: Path, size: int) -> tuple[str, str | None]:
    """The encoding to read a CSV with, and a note for the user when it is not UTF-8.

    Streams the file once (bounded memory). Also refuses binary files. Lines are
    counted only to say where a bad byte is.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated.
            encoding = "utf-16"
        else:
            encoding = "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError as exc:
                    bad_at = max(offset - len(exc.object) + exc.start if exc.object else offset, 0)
                    return _cp1252_or_error(path, bad_at, _newlines_before(path, bad_at))
                break
            if encoding != "utf-16" and b"\x00" in chunk:
                at = offset + chunk.index(b"\x00")
                raise InputFileError(f"{path}: a binary file, not CSV text (NUL byte at offset {at:,})")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the decoder's pending bytes plus this chunk.
                pending = len(exc.object) - len(chunk)
                bad_at = offset - pending + exc.start
                return _cp1252_or_error(path, bad_at, _newlines_before(path, bad_at))
            offset += len(chunk)
    return encoding, None


def _newlines_before(path: Path, offset: int) -> int:
    """How many line ends the file has before byte ``offset``: counted only for a message, not on every read."""
    count = 0
    with path.open("rb") as handle:
        while offset > 0 and (chunk := handle.read(min(1 << 20, offset))):
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def _cp1252_or_error(path: Path, bad_at: int, newlines_before: int) -> tuple[str, str | None]:
    with path.open("rb") as handle:
        handle.seek(bad_at)
        bad_byte = handle.read(1)
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            byte = f"0x{bad_byte[0]:02x}" if bad_byte else "?"
            raise InputFileError(
                f"{path}: not UTF-8 text: byte {byte} at offset {bad_at:,} (line {newlines_before + 1}) "
                "cannot be decoded, and the file is not Windows-1252 either; in Excel use "
                "Save As > 'CSV UTF-8', or convert it with `iconv -f <its encoding> -t UTF-8 "
                f"{path.name} > {path.stem}-utf8{path.suffix}`"
            ) from None
    return "cp1252", (
        f"{path}: not UTF-8 (byte 0x{bad_byte[0]:02x} at offset {bad_at:,}, line {newlines_before + 1}); "
        "read it as Windows-1252. If accents look wrong, save it from Excel as 'CSV UTF-8'."
    )


def _sniff_delimiter(path: Path, encoding: str, suffix: str) -> str:
    with path.open("r", encoding=encoding, newline="") as handle:
        first = handle.readline(1 << 16)
    counts = {d: _count_outside_quotes(first, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ("\t" if suffix == ".tsv" else ",")))
    if counts[best] == 0:
        return "\t" if suffix == ".tsv" else ","
    return best


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


class _CountingReader(io.RawIOBase):
    """A binary file whose read position feeds the progress bar."""

    def __init__(self, handle, progress: Progress, total: int):
        super().__init__()
        self._handle, self._progress, self._total = handle, progress, total

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._handle.readinto(buffer)
        self._progress("reading", self._handle.tell(), self._total)
        return count


def read_csv(path: Path, notes: list[str], progress: Progress | None) -> pd.DataFrame:
    """A CSV file's cells as a raw text frame (see :mod:`orbat.formats`), its encoding noted when not UTF-8.

    The usual file (no UTF-16 byte-order mark, no NUL byte) is parsed as UTF-8
    straight away: the C parser decodes every cell strictly, so a file it reads
    without an error is UTF-8, and the separate decoding pass of
    :func:`_check_encoding` (a tenth of the read) is not needed. On any error
    the file is read again the checked way, which gives the user the message
    the checks give (the bad byte and its line, or Windows-1252).
    """
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputFileError(f"{path}: {size:,} bytes is larger than the {MAX_CSV_BYTES:,}-byte limit for CSV files")
    if _plain_bytes(path):
        try:
            return _read_text(path, "utf-8-sig", size, progress, split=True)
        except (UnicodeDecodeError, InputFileError):
            pass
    encoding, note = _check_encoding(path, size)
    if note:
        notes.append(note)
    return _read_text(path, encoding, size, progress)


def _plain_bytes(path: Path) -> bool:
    """Whether a file has neither a UTF-16 byte-order mark nor a NUL byte (one pass, no decoding)."""
    with path.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return False
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            if b"\x00" in chunk:
                return False
    return True


def parse_options(delimiter: str, encoding: str) -> dict:
    """The arguments of ``pandas.read_csv`` for a file's cells as text: every read of one file uses the same."""
    import csv

    return dict(
        sep=delimiter, header=None, dtype=object, keep_default_na=False, na_filter=False,
        skip_blank_lines=False, encoding="utf-8" if encoding == "utf-8-sig" else encoding,
        quoting=csv.QUOTE_MINIMAL, engine="c",
    )


def _read_text(path: Path, encoding: str, size: int, progress: Progress | None, split: bool = False) -> pd.DataFrame:
    """The cells of a CSV file in ``encoding`` (UTF-8 text is parsed as bytes), separator sniffed.

    With ``split`` a large UTF-8 file may be parsed in two processes
    (:mod:`orbat.formats.csv_split`); whatever goes wrong there, it is read
    here the usual way, which gives the usual errors.
    """
    with path.open("rb") as probe:
        text = probe.read(4096).decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty")
    delimiter = _sniff_delimiter(path, encoding, path.suffix.lower())
    options = parse_options(delimiter, encoding)
    if split and encoding == "utf-8-sig":
        from orbat.formats import csv_split

        data = csv_split.read_split(path, size, options, progress)
        if data is not None:
            return data
    try:
        with path.open("rb") as raw_handle:
            # Buffered like open(). UTF-8 is parsed as bytes (the parser decodes each cell): for any other
            # encoding pandas decodes the text, and its C parser encodes it back to UTF-8. The
            # parser skips a UTF-8 byte-order mark itself.
            source = io.BufferedReader(_CountingReader(raw_handle, progress, size)) if progress else raw_handle
            header, data = _read_coded(pd.read_csv(source, **options, chunksize=CHUNK_ROWS))
    except pd.errors.ParserError as exc:
        message = str(exc).strip()
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if found:
            expected, line, saw = found.groups()
            raise InputFileError(
                f"{path}: row {line} has {saw} fields but the header has {expected} "
                f"(an unquoted {'comma' if delimiter == ',' else repr(delimiter)} or a missing quote?)"
            ) from None
        raise InputFileError(f"{path}: not a readable CSV file ({message})") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{path}: the file is empty") from None
    except UnicodeDecodeError as exc:  # not UTF-8 after all: read_csv then reads it the checked way
        raise InputFileError(f"{path}: cannot decode as {encoding} ({exc.reason})") from None
    if header is None:
        raise InputFileError(f"{path}: the file is empty")
    data.columns = header
    return data
