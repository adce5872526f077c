"""`orbat fleet`: how many vehicles an actor has, from serials and re-sighted markings."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app
from orbat.cli.common import (
    ActorFilterOption, CatalogOption, DbOption, JsonOption, SightingsFileArgument, console, db_url, print_json,
)


def fleet_frame(file: Path | None, catalog, db: str | None):
    """The canonical frame and, from FILE, where each row is (the database names sightings by id)."""
    if file is not None:
        from orbat.sightings import read_sightings_located

        return read_sightings_located(file, catalog)
    from orbat.store import open_store

    with open_store(db_url(db), must_exist=True) as store:
        return store.sightings_frame(), None


@app.command("fleet")
def fleet(
    file: SightingsFileArgument = None,
    actor: ActorFilterOption = None,
    equipment: Annotated[Optional[str], typer.Option(
        "--equipment", "-e", help="Only this equipment type (any catalog name or alias).")] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="Only sightings on or before this date, YYYY-MM-DD.")] = None,
    serials: Annotated[bool, typer.Option(
        "--serials", help="Read every type's markings as serial numbers (the catalog's pattern, else a plain number).",
    )] = False,
    serial_pattern: Annotated[Optional[str], typer.Option(
        "--serial-pattern",
        help="How serials read, a regex whose one group is the number, e.g. 'TZ-(\\d+)D' (implies --serials).",
        show_default=False)] = None,
    split: Annotated[Optional[str], typer.Option(
        "--split", help="Capture-recapture: period 2 starts on this date (default: the median sighting date).",
        show_default=False)] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level of the intervals.")] = 0.9,
    json_: JsonOption = False,
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Estimate fleet sizes from the identifiers in the markings column, with intervals and the arithmetic.

    Types whose catalog entry declares a serial pattern (or all, with
    --serials / --serial-pattern) use the German-tank estimate from serials
    (N = m + m/k - 1, exact interval). Other markings (tactical numbers,
    codes) give Chapman's capture-recapture estimate between two periods,
    split at --split or the median sighting date; it assumes a closed fleet
    and marks that are not lost, and has no interval with fewer than 3
    re-sighted. A marking that does not read as the serial pattern is
    reported with its row and not used. --json prints [{actor, equipment,
    method, estimate, low, high, distinct, evidence, ...}].

    \b
    Example:
      orbat fleet estimates/mali-ledger/sightings.csv --equipment TB2
    """
    from orbat.actors import load_actors
    from orbat.catalog import load_catalog
    from orbat.fleet import fleet_estimates

    url = db_url(db)
    types = load_catalog(catalog or (), db_url=url)
    actor_list = load_actors((), db_url=url)
    frame, where = fleet_frame(file, types, db)
    found = fleet_estimates(frame, types, actor_list, actor=actor, equipment=equipment, as_of=as_of,
                            serials=serials or serial_pattern is not None, serial_pattern=serial_pattern,
                            split=split, level=level, row_labels=where)
    for rejected in found.rejected:
        typer.echo(f"Note: {rejected}", err=True)
    if json_:
        print_json([e.to_dict() for e in found.estimates])
        return
    print_fleet(found.estimates)


def print_fleet(estimates) -> None:
    """The estimates as a table, then each one's arithmetic, warnings and the assumptions behind them."""
    from rich.table import Table

    from orbat.fleet import ASSUMPTIONS

    if not estimates:
        typer.echo("No fleet estimates: no sightings with usable markings match (see the markings column).")
        return
    table = Table()
    for column in ("actor", "equipment", "method", "estimate", "interval", "distinct", "evid."):
        table.add_column(column, justify="right" if column in ("estimate", "distinct", "evid.") else "left",
                         overflow="fold")
    for e in estimates:
        estimate = "-" if e.estimate is None else _figure(e.estimate)
        interval = e.interval_text if e.low is None else f"{e.interval_text} ({e.level * 100:g}%)"
        table.add_row(e.actor, e.name, e.method, estimate, interval, str(e.distinct), str(len(e.evidence)))
    console().print(table)
    for e in estimates:
        typer.echo(f"{e.actor}, {e.name}: {e.arithmetic}")
        for warning in e.warnings:
            typer.echo(f"  warning: {warning}")
        for note in e.notes:
            typer.echo(f"  note: {note}")
    for method in dict.fromkeys(e.method for e in estimates):
        typer.echo(f"Assumes ({method}): {ASSUMPTIONS[method]}.")


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
