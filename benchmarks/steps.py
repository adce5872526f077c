"""The measured paths: each orbat step and the bare library path under it.

A measurement is a registered :class:`Case`: ``setup(spec)`` prepares what
the step starts from (not timed: the catalog, a frame already read, ...),
``run(state)`` is the timed part and returns how many rows it handled.
Each repetition runs in a fresh process (:mod:`benchmarks._worker`), so
caches, imports and memory peaks of one run never help or hurt another.

A case whose orbat function does not exist (yet) raises :class:`Missing`
from its setup; the suite reports it as "missing" instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Missing(Exception):
    """The orbat function or command this case measures is not there."""


@dataclass(frozen=True)
class Case:
    """One measured path."""

    id: str
    step: str
    role: str  # "orbat", "bare" or "info" (informative, no target)
    what: str  # one line: what exactly is timed
    setup: Callable[[dict], Any]
    run: Callable[[Any], dict]


CASES: dict[str, Case] = {}


def case(id: str, step: str, role: str, what: str, setup: Callable[[dict], Any], run: Callable[[Any], dict]) -> None:
    """Register a :class:`Case`."""
    CASES[id] = Case(id, step, role, what, setup, run)


def _need(module: str, name: str):
    """``module.name``, or :class:`Missing` when either is not there."""
    import importlib

    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        raise Missing(f"{module}: cannot import ({exc})") from None
    if not hasattr(found, name):
        raise Missing(f"{module}.{name} does not exist")
    return getattr(found, name)


def _catalog():
    return _need("orbat.catalog", "load_catalog")()


def orbat_command() -> list[str]:
    """The ``orbat`` console script of this Python environment."""
    script = Path(sys.executable).with_name("orbat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "orbat"]


def command_exists(*words: str) -> bool:
    """Whether ``orbat WORDS --help`` succeeds (the command is registered)."""
    done = subprocess.run([*orbat_command(), *words, "--help"], capture_output=True, text=True)
    return done.returncode == 0


def _fresh_db(spec: dict) -> Path:
    path = Path(spec["work"]) / f"{spec['case']}-{os.getpid()}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def _timed_command(argv: list[str], rows: int, env: dict | None = None) -> dict:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {done.returncode}: "
                           + (done.stderr or done.stdout).strip()[-400:])
    return {"seconds": seconds, "rows": rows}


# --------------------------------------------------------------------------- import


def _import_orbat(spec):
    read = _need("orbat.sightings", "read_sightings")
    open_store = _need("orbat.store", "open_store")
    return {"catalog": _catalog(), "read": read, "open_store": open_store,
            "file": spec["file"], "db": _fresh_db(spec)}


def _import_orbat_run(state):
    frame = state["read"](state["file"], state["catalog"], **state.get("read_options", {}))
    store = state["open_store"](f"sqlite:///{state['db']}")
    try:
        store.import_frame(frame, source=str(state["file"]))
    finally:
        store.close()
    return {"rows": len(frame), "vehicles": int(frame["count"].sum())}


case("import.orbat", "import", "orbat",
     "read_sightings(file) + open_store(sqlite).import_frame(frame): the library path of `orbat import`",
     _import_orbat, _import_orbat_run)


def warm_caches(spec) -> None:
    """Run orbat once, untimed, so that its cache of the parsed catalogs is filled (as after a user's first command).

    ``catalog resolve`` of a name the pipeline rewrites loads both the
    equipment catalog and the resolution rules. The first command after a
    catalog file changes pays the parse (about 0.3 s more; docs/performance.md).
    """
    subprocess.run([*orbat_command(), "catalog", "resolve", "152mm 2A65 'Msta-B' howitzer",
                    "--db", str(Path(spec["work"]) / "none.db")], capture_output=True, text=True)


def _import_cli(spec):
    if not command_exists("import"):
        raise Missing("`orbat import` is not registered")
    warm_caches(spec)
    return {"argv": [*orbat_command(), "import", spec["file"], "--db", f"sqlite:///{_fresh_db(spec)}"],
            "rows": spec["rows"]}


case("import.cli", "import", "info", "`orbat import FILE --db sqlite:///...` as a subprocess (start-up included)",
     _import_cli, lambda state: _timed_command(state["argv"], state["rows"]))


def _import_read(spec):
    return {"catalog": _catalog(), "read": _need("orbat.sightings", "read_sightings"), "file": spec["file"]}


case("import.read", "import", "info", "read_sightings(file) alone: CSV parse + validation",
     _import_read, lambda state: {"rows": len(state["read"](state["file"], state["catalog"]))})


def _import_store(spec):
    state = _import_orbat(spec)
    state["frame"] = state["read"](state["file"], state["catalog"])
    return state


def _import_store_run(state):
    store = state["open_store"](f"sqlite:///{state['db']}")
    try:
        store.import_frame(state["frame"], source=str(state["file"]))
    finally:
        store.close()
    return {"rows": len(state["frame"])}


case("import.store", "import", "info", "open_store(sqlite).import_frame(frame) alone, frame already read",
     _import_store, _import_store_run)

#: The bare table: the interchange columns, keyed like orbat's entries.
BARE_SCHEMA = """
CREATE TABLE sightings (
    sighting_id TEXT NOT NULL, convoy TEXT, observed_at TEXT NOT NULL, place TEXT,
    lat REAL, lon REAL, actor TEXT, equipment TEXT NOT NULL, count INTEGER NOT NULL,
    count_max INTEGER, mode TEXT, source TEXT, reliability TEXT, credibility INTEGER,
    notes TEXT, event TEXT, captor TEXT, unit TEXT, tags TEXT, markings TEXT,
    PRIMARY KEY (sighting_id, equipment)
)
"""


def _import_bare(spec):
    import pandas  # noqa: F401  (the import is not what is timed)

    return {"file": spec["file"], "db": _fresh_db(spec)}


def _import_bare_run(state):
    from benchmarks.bare import bare_import

    return {"rows": bare_import(state["file"], state["db"])}


case("import.bare", "import", "bare",
     "pandas.read_csv(file) + sqlite3 executemany of the same rows (WAL, synchronous=NORMAL, one transaction)",
     _import_bare, _import_bare_run)


# --------------------------------------------------------------------------- oryx

#: Oryx's list as published (tests/data/real, CC BY 4.0): the four status files, joined by the runner.
ORYX_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "real" / "oryx-2024-07-31"


def oryx_file(work: Path) -> tuple[Path, int]:
    """The whole Oryx training list as one CSV (the header once) in ``work``; its path and row count."""
    path = Path(work) / "oryx-2024-07-31.csv"
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        for i, part in enumerate(sorted(ORYX_DIR.glob("event_*.csv"))):
            lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])
            rows += len(lines) - 1
    return path, rows


def _oryx_orbat(spec):
    return {**_import_orbat(spec), "read_options": {"fmt": "oryx"}}


case("oryx.orbat", "oryx", "orbat",
     "read_sightings(oryx list, fmt='oryx') + open_store(sqlite).import_frame: the library path of "
     "`orbat import --from oryx` (names kept as written, rows added up, one sighting per url)",
     _oryx_orbat, _import_orbat_run)

#: The bare table: Oryx's columns as they are, one row per vehicle.
ORYX_BARE_SCHEMA = """
CREATE TABLE losses (
    country TEXT, origin TEXT, system TEXT, status TEXT, url TEXT, date_recorded TEXT,
    sysID INTEGER, imageID INTEGER, statusID INTEGER, matID TEXT
)
"""


def _bare_load(db: Path, schema: str, table: str, rows, width: int) -> None:
    """sqlite3 executemany of ``rows`` into a fresh ``table`` (WAL, synchronous=NORMAL, one transaction)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(schema)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", rows)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _oryx_bare_run(state):
    import pandas as pd

    frame = pd.read_csv(state["file"], dtype=str, keep_default_na=False)
    _bare_load(state["db"], ORYX_BARE_SCHEMA, "losses", frame.itertuples(index=False, name=None), frame.shape[1])
    return {"rows": len(frame)}


case("oryx.bare", "oryx", "bare",
     "pandas.read_csv(oryx list) + sqlite3 executemany of its rows as they are (no names, no sightings)",
     _import_bare, _oryx_bare_run)


def _oryx_cli(spec):
    state = _import_cli(spec)
    at = len(orbat_command()) + 2  # after `orbat import FILE`
    state["argv"][at:at] = ["--from", "oryx"]
    return state


case("oryx.cli", "oryx", "info", "`orbat import ORYX.csv --from oryx --db sqlite:///...` as a subprocess",
     _oryx_cli, lambda state: _timed_command(state["argv"], state["rows"]))


# --------------------------------------------------------------------------- validate


def _raw(spec):
    read_raw = _need("orbat.sightings", "read_raw")
    raw, first_row, _labels = read_raw(Path(spec["file"]))
    return raw, first_row


def _validate_orbat(spec):
    raw, first_row = _raw(spec)
    return {"raw": raw, "first_row": first_row, "catalog": _catalog(),
            "validate": _need("orbat.sightings", "validate_frame"), "file": spec["file"]}


def _validate_orbat_run(state):
    frame, problems = state["validate"](state["raw"], state["catalog"], source=state["file"],
                                        first_row=state["first_row"])
    if problems:
        raise RuntimeError(f"{len(problems)} problems in generated data, first: {problems[0]}")
    return {"rows": len(frame)}


case("validate.orbat", "validate", "orbat", "validate_frame(raw text frame, catalog): every check, canonical frame out",
     _validate_orbat, _validate_orbat_run)


def _validate_bare(spec):
    raw, _ = _raw(spec)
    catalog = _catalog()
    normalize = _need("orbat.names", "normalize_name")
    return {"raw": raw, "catalog": catalog, "normalize": normalize}


def _validate_bare_run(state):
    import numpy as np
    import pandas as pd

    raw, catalog, normalize = state["raw"], state["catalog"], state["normalize"]
    bad = np.zeros(len(raw), dtype=bool)
    for column in ("sighting_id", "observed_at", "equipment", "count"):
        bad |= (raw[column] == "").to_numpy()
    count = pd.to_numeric(raw["count"], errors="coerce")
    bad |= (count.isna() | (count < 0) | (count > 10_000)).to_numpy()
    count_max = pd.to_numeric(raw["count_max"].replace("", None), errors="coerce")
    bad |= ((raw["count_max"] != "") & (count_max.isna() | (count_max < count))).to_numpy()
    for column, limit in (("lat", 90), ("lon", 180)):
        value = pd.to_numeric(raw[column].replace("", None), errors="coerce")
        bad |= ((raw[column] != "") & (value.isna() | (value.abs() > limit))).to_numpy()
    when = pd.to_datetime(raw["observed_at"], format="ISO8601", errors="coerce", utc=True)
    bad |= (when.isna() | (when > pd.Timestamp.now(tz="UTC"))).to_numpy()
    bad |= ~raw["mode"].isin(["", "driven", "carried"]).to_numpy()
    bad |= ~raw["event"].isin(["", "sighting", "arrival", "destroyed", "damaged", "abandoned", "captured"]).to_numpy()
    bad |= ~raw["reliability"].isin(["", *"ABCDEF"]).to_numpy()
    bad |= ~raw["credibility"].isin(["", *"123456"]).to_numpy()
    # names: resolve each distinct name once, then map (as any sane implementation would)
    names = raw["equipment"].astype("category")
    ids = {name: getattr(catalog.lookup(name), "id", None) for name in names.cat.categories}
    equipment_id = names.map(ids)
    bad |= equipment_id.isna().to_numpy()
    if bad.any():
        raise RuntimeError(f"{int(bad.sum())} rows flagged in generated data")
    return {"rows": len(raw)}


case("validate.bare", "validate", "bare",
     "the same checks as pandas masks: required, counts, ranges, dates, choices, grades, names via a dict",
     _validate_bare, _validate_bare_run)


def _validate_pydantic(spec):
    raw, _ = _raw(spec)
    catalog = _catalog()
    records = raw.to_dict("records")
    return {"records": records, "adapter": _row_adapter(catalog)}


def _row_adapter(catalog):
    import datetime as dt
    from typing import Annotated, Literal

    from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, TypeAdapter

    def none_if_empty(value):
        return None if value == "" else value

    def known(name: str) -> str:
        entry = catalog.lookup(name)
        if entry is None:
            raise ValueError("unknown equipment")
        return entry.id

    def observed(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text)  # dates, date-times, with or without a zone

    Opt = lambda t: Annotated[t | None, BeforeValidator(none_if_empty)]  # noqa: E731

    class Row(BaseModel):
        sighting_id: str = Field(min_length=1)
        convoy: str
        observed_at: Annotated[dt.datetime, BeforeValidator(observed)]
        place: str
        lat: Opt(Annotated[float, Field(ge=-90, le=90)])
        lon: Opt(Annotated[float, Field(ge=-180, le=180)])
        actor: str
        equipment: Annotated[str, AfterValidator(known)]
        count: Annotated[int, Field(ge=0, le=10_000)]
        count_max: Opt(Annotated[int, Field(ge=0, le=10_000)])
        mode: Literal["", "driven", "carried"]
        source: str
        reliability: Literal["", "A", "B", "C", "D", "E", "F"]
        credibility: Opt(Annotated[int, Field(ge=1, le=6)])
        notes: str
        event: Literal["", "sighting", "arrival", "destroyed", "damaged", "abandoned", "captured"]
        captor: str

    return TypeAdapter(list[Row])


case("validate.pydantic", "validate", "info",
     "pydantic TypeAdapter(list[Row]).validate_python(records): a typed row model, names via a dict",
     _validate_pydantic, lambda state: {"rows": len(state["adapter"].validate_python(state["records"]))})


# --------------------------------------------------------------------------- estimate


def _frame(spec):
    return _need("orbat.sightings", "read_sightings")(spec["file"], _catalog())


def _estimate_orbat(spec):
    estimate = _need("orbat.estimate", "estimate_convoys")
    doctrine = _need("orbat.doctrine", "load_doctrine")()
    frame = _frame(spec)
    return {"frame": frame, "catalog": _catalog(), "doctrine": doctrine, "estimate": estimate}


def _estimate_orbat_run(state):
    results = state["estimate"](state["frame"], state["catalog"], state["doctrine"])
    return {"rows": len(state["frame"]), "convoys": len(results)}


case("estimate.orbat", "estimate", "orbat",
     "estimate_convoys(frame, catalog, doctrine): every convoy scored (frame and doctrine already loaded)",
     _estimate_orbat, _estimate_orbat_run)


def _estimate_dicts(spec):
    return {**_estimate_orbat(spec), "to_dicts": _need("orbat.estimate", "to_dicts")}


def _estimate_dicts_run(state):
    results = state["estimate"](state["frame"], state["catalog"], state["doctrine"])
    state["to_dicts"](results)
    return {"rows": len(state["frame"]), "convoys": len(results)}


case("estimate.dicts", "estimate", "info",
     "estimate_convoys(...) then to_dicts(): every convoy's JSON (what `orbat estimate --json` prints)",
     _estimate_dicts, _estimate_dicts_run)


def _estimate_calibrate(spec):
    return {"calibrate": _need("orbat.calibration", "calibrate"), "doctrine": _need("orbat.doctrine", "load_doctrine")(),
            "catalog": _catalog()}


def _estimate_calibrate_run(state):
    # The calibration figures of issue #15 (accuracy, ECE, Brier, answers at confidence >= 0.9), recorded with the
    # time; the cases do not depend on the benchmark file (200 perturbed cases per bundled template, seed 0).
    result = state["calibrate"](state["doctrine"], state["catalog"], cases=200, seed=0)
    return {"rows": result.cases, "convoys": result.cases, "accuracy": round(result.accuracy, 4),
            "ece": round(result.ece, 4), "brier": round(result.brier, 4), "sure_accuracy": round(result.sure_accuracy, 4)}


case("estimate.calibrate", "estimate", "info",
     "calibrate(doctrine, catalog, cases=200): draw, estimate and score perturbed cases of every template",
     _estimate_calibrate, _estimate_calibrate_run)


def _estimate_bare(spec):
    frame = _frame(spec)
    catalog = _catalog()
    category = {entry.id: entry.category for entry in catalog}
    return {"frame": frame, "category": category}


def _estimate_bare_run(state):
    frame = state["frame"]
    present = frame[frame["event"].isin(["sighting", "arrival"])]
    key = present["convoy"].fillna(present["sighting_id"])
    merged = (present.assign(key=key).groupby(["key", "equipment_id"], sort=False)["count"].max()
              .reset_index())
    merged["category"] = merged["equipment_id"].map(state["category"])
    matrix = merged.pivot_table(index="key", columns="category", values="count", aggfunc="sum", fill_value=0)
    return {"rows": len(frame), "convoys": len(matrix)}


case("estimate.bare", "estimate", "bare",
     "pandas groupby(convoy, type).max() + pivot to a convoy x category matrix: the floor",
     _estimate_bare, _estimate_bare_run)


# --------------------------------------------------------------------------- export


def _sightings_only_report(frame):
    """A report whose only data is the Sightings table: the other sheets have their columns but no rows."""
    import datetime as dt

    build = _need("orbat.report", "build_report")
    sightings_table = _need("orbat.report", "sightings_table")
    report = build(frame.iloc[:0], _catalog(), estimates=[], inventory=False, title="benchmark",
                   generated_at=dt.datetime(2025, 1, 1))
    report.tables["sightings"] = sightings_table(frame)
    return report


def _export_orbat(spec):
    write = _need("orbat.excel.report", "write_workbook")
    frame = _frame(spec)
    return {"report": _sightings_only_report(frame), "write": write,
            "out": Path(spec["work"]) / f"{spec['case']}-{os.getpid()}.xlsx", "rows": len(frame)}


def _export_orbat_run(state):
    state["write"](state["report"], state["out"])
    return {"rows": state["rows"], "bytes": state["out"].stat().st_size}


case("export.orbat", "export", "orbat",
     "orbat.excel.report.write_workbook(report) where the report holds only the Sightings table",
     _export_orbat, _export_orbat_run)


def _export_bare(spec):
    import openpyxl  # noqa: F401  (the import is not what is timed)

    frame = _frame(spec)
    table = _need("orbat.report", "sightings_table")(frame)
    return {"table": table, "out": Path(spec["work"]) / f"{spec['case']}-{os.getpid()}.xlsx"}


def _export_bare_run(state):
    from openpyxl import Workbook

    table = state["table"]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sightings")
    ws.append(list(table.columns))
    for row in table.astype(object).where(table.notna(), None).itertuples(index=False, name=None):
        ws.append(row)
    wb.save(state["out"])
    return {"rows": len(table), "bytes": state["out"].stat().st_size}


case("export.bare", "export", "bare",
     "openpyxl write-only: one sheet, header + ws.append of the same interchange columns (NaN as empty), save",
     _export_bare, _export_bare_run)


def _export_report(spec):
    build = _need("orbat.report", "build_report")
    write = _need("orbat.report", "write_report")
    frame = _frame(spec)
    return {"frame": frame, "catalog": _catalog(), "build": build, "write": write,
            "out": Path(spec["work"]) / f"{spec['case']}-{os.getpid()}.xlsx"}


def _export_report_run(state):
    report = state["build"](state["frame"], state["catalog"])
    state["write"](report, state["out"])
    return {"rows": len(state["frame"]), "bytes": state["out"].stat().st_size}


case("export.report", "export", "info",
     "build_report(frame, catalog) + write_report(.xlsx): every sheet, estimates and inventory included",
     _export_report, _export_report_run)


# --------------------------------------------------------------------------- start-up


def _python_command(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _startup_help(spec):
    return {"argv": [*orbat_command(), "--help"]}


case("startup.help", "startup", "orbat", "`orbat --help` (a subprocess of the venv's console script)",
     _startup_help, lambda state: _timed_command(state["argv"], 0))


def _startup_typer(spec):
    return {"argv": _python_command("import typer")}


case("startup.typer", "startup", "bare", "`python -c 'import typer'`",
     _startup_typer, lambda state: _timed_command(state["argv"], 0))

HEAVY = ("pandas", "sqlalchemy", "openpyxl", "pydantic", "typer")


def _startup_catalog(spec):
    if not command_exists("catalog", "show"):
        raise Missing("`orbat catalog show` is not registered")
    warm_caches(spec)
    return {"argv": [*orbat_command(), "catalog", "show", "T-72", "--db", str(Path(spec["work"]) / "none.db")]}


case("startup.catalog", "startup", "orbat", "`orbat catalog show T-72` (loads the catalog from its cache)",
     _startup_catalog, lambda state: _timed_command(state["argv"], 0))


def _startup_heavy(spec):
    return {"argv": _python_command("import " + ", ".join(HEAVY))}


case("startup.heavy", "startup", "bare", "`python -c 'import pandas, sqlalchemy, openpyxl, pydantic, typer'`",
     _startup_heavy, lambda state: _timed_command(state["argv"], 0))

#: Which modules `orbat --help` may not load.
HEAVY_FOR_HELP = ("pandas", "sqlalchemy", "openpyxl", "alembic", "numpy", "pydantic", "rapidfuzz", "matplotlib")


def heavy_modules_loaded_by_help() -> list[str]:
    """The heavy libraries loaded by ``orbat --help`` (should be none)."""
    code = (
        "import sys\n"
        "from orbat.cli import main\n"
        "sys.argv = ['orbat', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(','.join(m for m in {HEAVY_FOR_HELP!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(_python_command(code), capture_output=True, text=True)
    line = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    return [m for m in line.split(",") if m]


# --------------------------------------------------------------------------- end to end (whole processes)
#
# What a user waits for: `orbat ...` as a process, from the file in to the output written, beside a
# bare process doing the least the same libraries can (benchmarks/bare.py), alternating in one run.


def _bare_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bare", *args]


def _to_devnull(argv: list[str], rows: int) -> dict:
    """Time ``argv`` with its stdout written to a file (as `> out.json` would), like a user's pipe."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "COLUMNS": "200"})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return {"seconds": seconds, "rows": rows}


def _e2e_estimate(*flags: str):
    def setup(spec):
        if not command_exists("estimate"):
            raise Missing("`orbat estimate` is not registered")
        return {"argv": [*orbat_command(), "estimate", spec["file"], *flags], "rows": spec["rows"]}

    return setup


for _flags, _what in ((("--json",), "`orbat estimate FILE --json > out` (compact: not a terminal)"),
                      (("--jsonl",), "`orbat estimate FILE --jsonl > out`: one convoy per line, streamed"),
                      ((), "`orbat estimate FILE > out`: the human view (one table of all convoys)")):
    case("e2e.estimate" + (_flags[0].replace("--", ".") if _flags else ".human"), "e2e", "orbat", _what,
         _e2e_estimate(*_flags), lambda state: _to_devnull(state["argv"], state["rows"]))

# The same --json with the processes fixed (informative; the orbat case above lets orbat choose, by load).
for _jobs in (1, 2):
    case(f"e2e.estimate.json.jobs{_jobs}", "e2e", "orbat",
         f"`orbat estimate FILE --json --jobs {_jobs} > out`: {'one process' if _jobs == 1 else 'two processes'}"
         ", whatever the load", _e2e_estimate("--json", "--jobs", str(_jobs)),
         lambda state: _to_devnull(state["argv"], state["rows"]))

case("e2e.bare_json", "e2e", "bare",
     "`python -m benchmarks.bare json FILE > out`: pandas.read_csv + json.dumps of one small dict per convoy",
     lambda spec: {"argv": _bare_command("json", spec["file"]), "rows": spec["rows"]},
     lambda state: _to_devnull(state["argv"], state["rows"]))


case("e2e.import", "e2e-import", "orbat", "`orbat import FILE --db sqlite:///...`: a fresh database",
     _import_cli, lambda state: _to_devnull(state["argv"], state["rows"]))
case("e2e.bare_import", "e2e-import", "bare",
     "`python -m benchmarks.bare import FILE DB`: pandas.read_csv + sqlite3 executemany, one keyed table",
     lambda spec: {"argv": _bare_command("import", spec["file"], str(_fresh_db(spec))), "rows": spec["rows"]},
     lambda state: _to_devnull(state["argv"], state["rows"]))


def _export_db(spec) -> Path:
    """The file imported once per run into ``work`` (shared by the export repetitions; not timed)."""
    db = Path(spec["work"]) / f"export-{Path(spec['file']).stem}.db"
    if not db.exists():
        part = db.with_suffix(".part.db")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{part}{suffix}").unlink(missing_ok=True)
        _timed_command([*orbat_command(), "import", spec["file"], "--db", f"sqlite:///{part}"], 0)
        subprocess.run([sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                        "c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()", str(part)], check=True)
        part.rename(db)
    return db


def _export_workbook(spec) -> Path:
    return Path(spec["work"]) / f"export-{Path(spec['file']).stem}.xlsx"


def _e2e_export(spec):
    if not command_exists("export"):
        raise Missing("`orbat export` is not registered")
    db = _export_db(spec)
    return {"argv": [*orbat_command(), "export", str(_export_workbook(spec)), "--db", f"sqlite:///{db}"],
            "rows": spec["rows"]}


case("e2e.export", "e2e", "orbat", "`orbat export report.xlsx --db ...`: the whole workbook of every convoy",
     _e2e_export, lambda state: _to_devnull(state["argv"], state["rows"]))


def _bare_export(spec):
    """The cell values of the workbook `orbat export` wrote, read back once per run (not timed)."""
    import pickle

    from benchmarks.bare import workbook_values

    book = _export_workbook(spec)
    values = book.with_suffix(".values.pickle")
    if not values.exists():
        if not book.exists():
            _timed_command(_e2e_export(spec)["argv"], 0)
        with open(values, "wb") as f:
            pickle.dump(workbook_values(str(book)), f, protocol=pickle.HIGHEST_PROTOCOL)
    import openpyxl  # noqa: F401  (the import is not what is timed)

    with open(values, "rb") as f:
        sheets = pickle.load(f)
    return {"sheets": sheets, "out": Path(spec["work"]) / f"bare-{os.getpid()}.xlsx", "rows": spec["rows"]}


def _bare_export_run(state):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    cells = 0
    for title, rows in state["sheets"]:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
            cells += len(row)
    wb.save(state["out"])
    return {"rows": state["rows"], "cells": cells}


case("e2e.bare_export", "e2e", "bare",
     "openpyxl write-only dump of the same cell values (read back from orbat's workbook), in-process: "
     "no start-up, no styles",
     _bare_export, _bare_export_run)


# --------------------------------------------------------------------------- name resolution

#: The Oryx list (both sides, 2024-07-31) copied into the tests, one row per vehicle.
ORYX_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "real" / "oryx-2024-07-31"


def _oryx_systems() -> list[str]:
    import csv

    names: list[str] = []
    for path in sorted(ORYX_DIR.glob("event_*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            names += [row["system"] for row in csv.DictReader(handle)]
    return names


def _resolve_oryx(spec):
    _need("orbat.catalog", "Catalog")
    catalog = _catalog()
    if not hasattr(catalog, "explain"):
        raise Missing("Catalog.explain does not exist (no resolution pipeline)")
    return {"catalog": catalog, "names": _oryx_systems()}


def _resolve_oryx_run(state):
    lookup = state["catalog"].lookup
    resolved = sum(lookup(name) is not None for name in state["names"])
    return {"rows": len(state["names"]), "resolved": resolved}


case("resolve.oryx", "resolve", "orbat",
     "catalog.lookup of every Oryx row's `system` (27,878 rows, 5,784 names) on a fresh catalog: the pipeline, cached per name",
     _resolve_oryx, _resolve_oryx_run)


def _resolve_dict(spec):
    normalize = _need("orbat.names", "normalize_name")
    catalog = _catalog()
    index = {normalize(name): entry.id for entry in catalog for name in entry.names}
    return {"index": index, "normalize": normalize, "names": _oryx_systems()}


def _resolve_dict_run(state):
    index, normalize = state["index"], state["normalize"]
    resolved = sum(index.get(normalize(name)) is not None for name in state["names"])
    return {"rows": len(state["names"]), "resolved": resolved}


case("resolve.dict", "resolve", "bare",
     "the same rows through a bare dict of normalized names and aliases (exact lookups only, no steps)",
     _resolve_dict, _resolve_dict_run)
