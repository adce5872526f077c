"""An analyst's own column names mapped onto the interchange format (``--columns``).

Given as text, ``"system=equipment,date_recorded=observed_at"`` (the file's
column, ``=``, the interchange column), or as a YAML file holding the same
mapping (``columns: {system: equipment, ...}``, or the mapping alone). An
interchange column of ``-`` drops the file's column. Columns not named keep
their names and are checked as usual, so a typo still stops the import.
"""

from __future__ import annotations

from pathlib import Path

from orbat.errors import UsageError
from orbat.formats.table import header_key

#: What a file's column may be mapped to: an interchange column, or ``-`` to leave it out.
DROP = "-"


def parse_columns(spec: str) -> dict[str, str]:
    """``--columns`` as a mapping: ``"a=b,c=d"``, or the path of a YAML file (``.yaml``/``.yml``)."""
    from orbat.sightings import COLUMNS

    text = spec.strip()
    if text.lower().endswith((".yaml", ".yml")) and "=" not in text:
        pairs = _read_mapping_file(Path(text))
        where = text
    else:
        pairs = []
        for part in text.split(","):
            if not part.strip():
                continue
            left, sep, right = part.partition("=")
            if not sep or not left.strip() or not right.strip():
                raise UsageError(f"--columns {spec!r}: expected FILE_COLUMN=ORBAT_COLUMN pairs separated "
                                 f"by commas, like 'system=equipment,date_recorded=observed_at'; got {part.strip()!r}")
            pairs.append((left.strip(), right.strip()))
        where = "--columns"
    if not pairs:
        raise UsageError(f"{where}: the column mapping is empty")
    mapping: dict[str, str] = {}
    targets: dict[str, str] = {}
    for theirs, ours in pairs:
        target = header_key(ours) if ours != DROP else DROP
        if target != DROP and target not in COLUMNS:
            import difflib

            close = difflib.get_close_matches(target, list(COLUMNS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "the columns are " + ", ".join(COLUMNS)
            raise UsageError(f"{where}: {theirs}={ours}: {ours!r} is not an interchange column ({hint}; "
                             f"'{DROP}' leaves the column out)")
        if header_key(theirs) in {header_key(k) for k in mapping}:
            raise UsageError(f"{where}: the column {theirs!r} is mapped twice")
        if target != DROP and target in targets:
            raise UsageError(f"{where}: both {targets[target]!r} and {theirs!r} are mapped to {target}")
        mapping[theirs] = target
        if target != DROP:
            targets[target] = theirs
    return mapping


def _read_mapping_file(path: Path) -> list[tuple[str, str]]:
    from orbat.datafiles import read_yaml

    if not path.is_file():
        raise UsageError(f"{path}: column mapping file not found")
    data = read_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise UsageError(f"{path}: expected a mapping of the file's columns to interchange columns, like\n"
                         "columns:\n  system: equipment\n  date_recorded: observed_at")
    return [(k.strip(), v.strip()) for k, v in data.items()]


def apply_mapping(table, mapping: dict[str, str], *, source: str) -> None:
    """Rename (or drop) the mapped columns of a :class:`orbat.formats.RawTable`, in place.

    Every mapped column must be in the file; problems then name the file's
    own column. Names the catalog does not know are kept (an analyst's
    spreadsheet is field data, not hand entry).
    """
    header = [str(c) for c in table.raw.columns]
    keys = {header_key(c): i for i, c in enumerate(header)}
    missing = [theirs for theirs in mapping if header_key(theirs) not in keys]
    if missing:
        raise UsageError(f"{source}: --columns names {', '.join(map(repr, missing))}, which the file does not have "
                         f"(its columns: {', '.join(h for h in header if h.strip())})")
    renamed = list(header)
    drop: list[int] = []
    for theirs, ours in mapping.items():
        at = keys[header_key(theirs)]
        if ours == DROP:
            drop.append(at)
            continue
        renamed[at] = ours
        table.columns[ours] = header[at]
    raw = table.raw.copy()
    raw.columns = renamed
    if drop:
        raw = raw.iloc[:, [i for i in range(len(renamed)) if i not in set(drop)]]
    table.raw = raw
    table.keep_unresolved = True
