"""`orbat import`, `orbat add`, `orbat template`: sightings into the database."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app
from orbat.cli.common import CatalogOption, DbOption, db_url, err_console, load_catalog_for
from orbat.collector import gc_paused

#: Files larger than this (about 5,000 rows) get a progress bar on a terminal.
PROGRESS_FROM_BYTES = 512 * 1024


def _stdin_is_terminal() -> bool:
    """Whether `orbat add` may prompt (tests replace this)."""
    return sys.stdin.isatty()


class _Bar:
    """A rich progress bar on stderr, only on a terminal and only for big files."""

    def __init__(self, path: Path):
        self.progress = None
        try:
            big = path.stat().st_size > PROGRESS_FROM_BYTES
        except OSError:
            big = False
        # rich (~20 ms to import) only when a bar will be drawn: a big file, stderr a terminal
        console = err_console() if big and sys.stderr.isatty() else None
        if console is not None and console.is_terminal:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                     TimeElapsedColumn(), console=console, transient=True)
            self.task = self.progress.add_task("reading", total=1)

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def stage(self, description: str, done: int, total: int) -> None:
        if self.progress:
            self.progress.update(self.task, description=description, completed=done, total=max(total, 1))

    def writing(self, done: int, total: int) -> None:
        self.stage("importing", done, total)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Sightings file: .csv/.tsv/.txt, .xlsx/.xlsm or .json.",
                                         show_default=False)],
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid",
        help="Import the valid sightings and write the refused rows, with reasons, to FILE.rejects.csv.")] = False,
    from_: Annotated[Optional[str], typer.Option(
        "--from", help="The file's format: interchange, oryx or warspotting (default: told from the header).",
        show_default=False)] = None,
    columns: Annotated[Optional[str], typer.Option(
        "--columns", help="Your column names as interchange columns: 'system=equipment,date_recorded=observed_at' "
                          "(FILE=ORBAT, '-' drops a column), or a YAML file of the same mapping.",
        show_default=False)] = None,
    grade: Annotated[Optional[str], typer.Option(
        "--grade", help="Admiralty grade of a loss list's rows, like B2 (default: the source's own, B2).",
        show_default=False)] = None,
    keep_unresolved: Annotated[bool, typer.Option(
        "--keep-unresolved",
        help="Keep names the catalog does not know, as written (loss lists and --columns always do).")] = False,
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Validate a sightings file or a published loss list and import it into the database.

    Every problem is reported at once (file, row as Excel numbers it, column,
    what was expected) and nothing is imported, unless --skip-invalid is
    given. Importing the same file again changes nothing; a changed row
    updates its sighting and keeps the old version in its history. Rows of
    one sighting, type, mode, event and actor add up (one row per vehicle).

    Oryx and WarSpotting lists import as published (--from, or told from the
    header); an analyst's own spreadsheet imports with --columns. Names the
    catalog does not know are then kept and listed (`orbat catalog
    unresolved`). The formats are described in docs/format.md.

    \b
    Example:
      orbat import estimates/mali-2025-01-17/sightings.csv
      orbat import event_destroyed.csv --from oryx --grade B2
      orbat import mine.xlsx --columns "system=equipment,date_recorded=observed_at"
    """
    with gc_paused():
        _import_file(file, skip_invalid=skip_invalid, fmt=from_, columns=columns, grade=grade,
                     keep_unresolved=keep_unresolved, db=db, catalog=catalog)




def _import_file(file: Path, *, skip_invalid: bool, fmt: str | None, columns: str | None, grade: str | None,
                 keep_unresolved: bool, db: str | None, catalog: list[Path] | None) -> None:
    """What `orbat import` does: read and validate the file, store its sightings, print the summary."""
    from orbat.bulkload import import_frame
    from orbat.errors import InvalidSightings
    from orbat.formats.columns import parse_columns
    from orbat.sightings import read_sightings_lenient, rejects_path, write_rejects

    mapping = parse_columns(columns) if columns is not None else None
    cat = load_catalog_for(catalog, db)
    with _Bar(file) as bar:
        result = read_sightings_lenient(file, cat, progress=bar.stage, fmt=fmt, columns=mapping, grade=grade,
                                        keep_unresolved=keep_unresolved)
        for note in result.notes:
            typer.echo(f"Note: {note}", err=True)
        if result.problems and not skip_invalid:
            raise InvalidSightings(result.invalid, source=str(file))
        written = None
        if result.problems:
            written = write_rejects(rejects_path(file), result.rejects)
        if len(result.frame):
            summary = import_frame(db_url(db), result.frame, source=str(file), progress=bar.writing)
            added, updated, unchanged = summary.added, summary.updated, summary.unchanged
        else:
            from orbat.store import open_store

            with open_store(db_url(db)):  # nothing to write: the database is still made or checked
                pass
            added = updated = unchanged = 0
    if written is not None:
        typer.echo(f"{len(result.invalid)} problems; refused rows written to {written}", err=True)
    what = "" if result.fmt == "interchange" else f" ({result.fmt})"
    typer.echo(
        f"imported {file}{what}: {added} sightings added, {updated} updated, {unchanged} unchanged, "
        f"{result.rejected_sightings} rejected ({result.rejected_rows} rows)"
    )
    if result.added_up:
        typer.echo(f"{result.added_up} rows added up into others of the same sighting, type, mode, event and actor "
                   f"({len(result.frame)} entries from {result.rows - result.rejected_rows} rows)")
    _echo_by_steps(result.by_steps)
    _echo_unresolved(result.unresolved)


#: How many names resolved by steps the import summary shows as examples.
BY_STEPS_SHOWN = 3


def _echo_by_steps(by_steps: list[dict]) -> None:
    if not by_steps:
        return
    rows = sum(item["rows"] for item in by_steps)
    examples = "; ".join(f"{item['name']!r} -> {item['id']} ({', '.join(item['how'])})"
                         for item in by_steps[:BY_STEPS_SHOWN])
    typer.echo(f"{len(by_steps)} names ({rows} rows) resolved by the catalog's steps, not as written, e.g. "
               f"{examples}; `orbat catalog resolve NAME` shows how")


#: How many unresolved names the import summary lists (`orbat catalog unresolved` lists them all).
UNRESOLVED_SHOWN = 10  # == orbat.sightings.UNRESOLVED_SUGGESTED: the names that got suggestions


def _echo_unresolved(unresolved: list[dict]) -> None:
    if not unresolved:
        return
    vehicles = sum(u["vehicles"] for u in unresolved)
    typer.echo(f"{len(unresolved)} names not in the catalog, kept as written ({vehicles} vehicles); "
               "see them all with `orbat catalog unresolved`:")
    for item in unresolved[:UNRESOLVED_SHOWN]:
        near = ", ".join(item["suggestions"])
        typer.echo(f"  {item['name']!r}: {item['vehicles']} vehicles" + (f" (did you mean {near}?)" if near else ""))
    if len(unresolved) > UNRESOLVED_SHOWN:
        typer.echo(f"  ... and {len(unresolved) - UNRESOLVED_SHOWN} more")


def _parse_equipment(spec: str) -> dict[str, str]:
    """``"T-72B3=6"``, ``"T-72B3=6-7"``, ``"motorboat=2:carried"`` as entry fields (validated later)."""
    from orbat.errors import UsageError

    name, sep, rest = spec.rpartition("=")
    if not sep or not name.strip():
        raise UsageError(f"--equipment {spec!r}: expected NAME=COUNT, NAME=MIN-MAX or NAME=COUNT:carried")
    count, _, mode = rest.partition(":")
    low, dash, high = count.partition("-")
    entry = {"equipment": name.strip(), "count": low.strip()}
    if dash:
        entry["count_max"] = high.strip()
    if mode:
        entry["mode"] = mode.strip()
    return entry


def _assign_markings(markings: list[str], entries: list[dict[str, str]], catalog) -> None:
    """Put each ``--marking`` on its entry: ``ID;ID`` with one --equipment, else ``NAME=ID;ID``."""
    from orbat.errors import UsageError

    def type_of(name: str):
        entry = catalog.lookup(name)
        return entry.id if entry is not None else None

    types = [type_of(e["equipment"]) for e in entries]
    for spec in markings:
        name, sep, ids = spec.partition("=")
        if sep:
            wanted = type_of(name.strip())
            targets = [i for i, t in enumerate(types) if t is not None and t == wanted]
            if not targets:
                raise UsageError(f"--marking {spec!r}: {name.strip()!r} is not one of the --equipment types given")
        elif len(entries) == 1:
            targets, ids = [0], spec
        else:
            raise UsageError(f"--marking {spec!r}: with several --equipment, say whose markings they are: "
                             "NAME=ID;ID (e.g. --marking 'T-72B3=231;245')")
        entry = entries[targets[0]]
        entry["markings"] = ";".join(part for part in (entry.get("markings", ""), ids) if part.strip())


def _checked_date(text: str) -> str:
    """A prompted date, or :class:`typer.BadParameter` (the prompt asks again)."""
    import datetime as dt

    from orbat.sightings import parse_observed_at

    value, problem = parse_observed_at(text.strip(), dt.date.today())
    if problem or value is None:
        raise typer.BadParameter(problem or "a date is required")
    return value


def _checked_grade(text: str) -> str:
    """A prompted Admiralty grade (empty, a letter A-F, or a letter and a digit like B2)."""
    import re

    text = text.strip()
    if text and not re.fullmatch(r"[A-Fa-f]\s*[1-6]?", text):
        raise typer.BadParameter("expected an Admiralty grade: reliability A-F and credibility 1-6, like B2")
    return text


def _checked_equipment(text: str, catalog) -> str:
    """A prompted NAME=COUNT whose name the catalog knows (with its suggestions when not)."""
    from orbat.errors import OrbatError

    text = text.strip()
    if not text:
        return text
    try:
        catalog.resolve(_parse_equipment(text)["equipment"])
    except OrbatError as exc:
        raise typer.BadParameter(exc.message) from None
    return text


def _generated_id(date: str) -> str:
    import uuid

    return f"{date[:10] or 'sighting'}-{uuid.uuid4().hex[:8]}"


@app.command("add")
def add(
    id_: Annotated[Optional[str], typer.Option("--id", help="Sighting id (default: DATE-xxxxxxxx).")] = None,
    convoy: Annotated[Optional[str], typer.Option("--convoy", help="Convoy this sighting belongs to.")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="When: YYYY-MM-DD or YYYY-MM-DDTHH:MM.")] = None,
    place: Annotated[Optional[str], typer.Option("--place", help="Where, as text.")] = None,
    lat: Annotated[Optional[str], typer.Option("--lat", help="Latitude, decimal degrees.")] = None,
    lon: Annotated[Optional[str], typer.Option("--lon", help="Longitude, decimal degrees.")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Who operates the vehicles.")] = None,
    equipment: Annotated[Optional[list[str]], typer.Option(
        "--equipment", "-e",
        help="NAME=COUNT, NAME=MIN-MAX or NAME=COUNT:carried (repeatable).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Where it comes from (URL).")] = None,
    grade: Annotated[Optional[str], typer.Option("--grade", help="Admiralty grade like B2.")] = None,
    reliability: Annotated[Optional[str], typer.Option("--reliability", help="Admiralty reliability A-F.")] = None,
    credibility: Annotated[Optional[str], typer.Option("--credibility", help="Admiralty credibility 1-6.")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes for every entry.")] = None,
    event: Annotated[Optional[str], typer.Option(
        "--event", help="sighting (default), arrival, destroyed, damaged, abandoned or captured.")] = None,
    captor: Annotated[Optional[str], typer.Option("--captor", help="Who captured it (with --event captured).")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="The unit or formation, as written.")] = None,
    tags: Annotated[Optional[str], typer.Option("--tags", help="Comma-separated tags, like 'cope cage, Z'.")] = None,
    marking: Annotated[Optional[list[str]], typer.Option(
        "--marking", help="Identifiers seen on the vehicles, ID;ID, or NAME=ID;ID with several --equipment (repeatable).",
    )] = None,
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Add one sighting from flags, or by answering prompts when --date or --equipment is missing.

    Validated exactly like a row of an imported file. Prompts appear only
    when stdin is a terminal; otherwise the missing flags are an error.

    \b
    Example:
      orbat add --date 2025-01-17 --place Bamako --actor "Africa Corps" -e T-72B3=6-7 -e BMP-3=6 --grade B2
      orbat add --date 2024-01-04 --actor FAMa -e TB2=5-6 --marking TZ-17D
    """
    import datetime as dt

    from orbat.bulkload import import_frame
    from orbat.errors import UsageError
    from orbat.sightings import build_sighting

    if grade and (reliability or credibility):
        raise UsageError("give either --grade or --reliability/--credibility, not both")
    specs = list(equipment or [])
    cat = None
    if date is None or not specs:
        if not _stdin_is_terminal():
            missing = [flag for flag, value in (("--date", date), ("--equipment", specs)) if not value]
            raise UsageError("missing " + " and ".join(missing) + " (or run `orbat add` in a terminal to be asked)")
        # Each answer is checked as it is given, so a typo is asked again rather than
        # failing the whole entry at the end.
        cat = load_catalog_for(catalog, db)
        date = date or typer.prompt("Date observed (YYYY-MM-DD)", default=dt.date.today().isoformat(),
                                    value_proc=_checked_date)
        id_ = id_ or typer.prompt("Sighting id", default=_generated_id(date))
        if place is None:
            place = typer.prompt("Place", default="", show_default=False)
        if actor is None:
            actor = typer.prompt("Actor", default="", show_default=False)
        if source is None:
            source = typer.prompt("Source (URL)", default="", show_default=False)
        if grade is None and reliability is None and credibility is None:
            grade = typer.prompt("Admiralty grade (e.g. B2)", default="", show_default=False,
                                 value_proc=_checked_grade)
        if not specs:
            typer.echo("Equipment as NAME=COUNT (NAME=MIN-MAX, NAME=COUNT:carried); empty line to finish.")
            while True:
                spec = typer.prompt("Equipment", default="", show_default=False,
                                    value_proc=lambda text: _checked_equipment(text, cat)).strip()
                if not spec:
                    break
                specs.append(spec)
    fields = {
        "sighting_id": id_ or _generated_id(date),
        "convoy": convoy, "observed_at": date, "place": place, "lat": lat, "lon": lon, "actor": actor,
        "source": source, "reliability": grade or reliability, "credibility": credibility,
        "notes": notes, "event": event, "captor": captor, "unit": unit, "tags": tags,
    }
    entries = [_parse_equipment(s) for s in specs]
    cat = cat or load_catalog_for(catalog, db)
    _assign_markings(list(marking or []), entries, cat)
    frame = build_sighting(fields, entries, cat, labels=[f"--equipment {s!r}" for s in specs])
    summary = import_frame(db_url(db), frame, source="orbat add")
    what = "added" if summary.added else ("updated" if summary.updated else "unchanged")
    typer.echo(f"{what} sighting {fields['sighting_id']} ({len(frame)} "
               f"{'entry' if len(frame) == 1 else 'entries'}, {int(frame['count'].sum())} vehicles)")


def _actor_names(catalog: list | None, db: str | None) -> list[str]:
    try:
        from orbat.actors import load_actors
    except ImportError:
        return []
    return list(load_actors(catalog or (), db_url=db_url(db)).names())


@app.command("template")
def template(
    out: Annotated[Path, typer.Argument(help="The .xlsx workbook to write.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Write an Excel workbook for entering sightings, with dropdowns for equipment, actor, mode, event and grades.

    Fill in the Sightings sheet (one row per sighting and equipment type),
    then import it with `orbat import`. The Instructions sheet explains every
    column.

    \b
    Example:
      orbat template sightings.xlsx
    """
    from orbat.errors import UsageError
    from orbat.excel.template import write_template

    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"{out}: the template is an Excel workbook; give a name ending in .xlsx")
    if out.exists() and not force:
        raise UsageError(f"{out} already exists; use --force to overwrite it")
    cat = load_catalog_for(catalog, db)
    written = write_template(out, cat, actors=_actor_names(catalog, db))
    typer.echo(f"wrote {written}: {len(cat)} equipment types in the dropdown")
