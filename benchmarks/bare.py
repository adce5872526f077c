"""The bare baselines of the end-to-end cases, each a whole process: ``python -m benchmarks.bare KIND ...``.

What a user could write in a few lines with the same libraries, run the
same way orbat runs (a fresh interpreter, the file in, the output written):

- ``json FILE``: ``pandas.read_csv`` + ``json.dumps`` of one small dict per
  convoy to stdout (the floor of ``orbat estimate FILE --json``);
- ``import FILE DB``: ``pandas.read_csv`` + ``sqlite3`` ``executemany`` into
  one keyed table (WAL, ``synchronous=NORMAL``, one transaction);

and :func:`workbook_values`, what the bare export dump writes (that one
runs in the measuring process itself: ``e2e.bare_export``).
"""

from __future__ import annotations

import sys


def bare_json(path: str) -> int:
    import json

    import pandas as pd

    frame = pd.read_csv(path)
    vehicles = frame.groupby("convoy")["count"].sum()
    sys.stdout.write(json.dumps([{"convoy": c, "vehicles": int(n)} for c, n in vehicles.items()]))
    return len(vehicles)


def bare_import(path: str, db: str) -> int:
    import pandas as pd

    from benchmarks.steps import BARE_SCHEMA, _bare_load

    frame = pd.read_csv(path, dtype={"count_max": "Int64", "credibility": "Int64"})
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    _bare_load(db, BARE_SCHEMA, "sightings", rows, frame.shape[1])
    return len(frame)


def workbook_values(path: str) -> list[tuple[str, list[tuple]]]:
    """Every sheet's cell values, read back (openpyxl read-only): what the bare dump writes."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return [(ws.title, [tuple(row) for row in ws.iter_rows(values_only=True)]) for ws in wb.worksheets]
    finally:
        wb.close()


def main(argv: list[str]) -> int:
    kind, *args = argv
    run = {"json": bare_json, "import": bare_import}[kind]
    run(*args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
