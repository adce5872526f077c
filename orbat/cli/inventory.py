"""`orbat inventory`: what each actor holds, as of any date (the holdings ledger)."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app
from orbat.cli.common import (
    ActorFilterOption, CatalogOption, DbOption, JsonOption, SightingsFileArgument, console, db_url, print_json,
)

ActorsOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--actors",
        help="Extra actor list YAML (repeatable); extends the bundled catalogs/actors.yaml.",
        show_default=False,
    ),
]


def _frame(file: Path | None, catalog, db: str | None):
    """The canonical sightings frame: from FILE (nothing stored), else from the database."""
    if file is not None:
        from orbat.sightings import read_sightings

        return read_sightings(file, catalog)
    from orbat.store import open_store

    with open_store(db_url(db), must_exist=True) as store:
        return store.sightings_frame()


@app.command("inventory")
def inventory(
    file: SightingsFileArgument = None,
    actor: ActorFilterOption = None,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="Holdings as of this date, YYYY-MM-DD (default: every row).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Group holdings per type, family, category or unit.")] = "type",
    timeline_: Annotated[
        bool, typer.Option("--timeline", help="Holdings of --actor per month instead of one date.")
    ] = False,
    json_: JsonOption = False,
    db: DbOption = None,
    catalog: CatalogOption = None,
    actors: ActorsOption = None,
) -> None:
    """Show what each actor holds: arrivals and the largest sighting, minus losses.

    Holdings of an actor and type as of a date are max(arrived, largest single
    sighting) minus destroyed, abandoned and captured, floored at 0; damaged is
    reported, not subtracted. Captured vehicles join the captor. A succession
    (Wagner -> Africa Corps, 6 June 2025) moves holdings to the successor.
    `holdings_max` uses the upper counts of ranges. --json prints the holdings
    as a JSON array (with --timeline: [{month, equipment, holdings}]); `evid.`
    in the table is the number of sightings behind a figure (their ids are in
    --json).

    \b
    Example:
      orbat inventory estimates/mali-ledger/sightings.csv --actor "Africa Corps" --as-of 2025-06-30
    """
    from orbat.actors import load_actors
    from orbat.catalog import load_catalog
    from orbat.errors import UsageError
    from orbat.inventory import holdings, timeline, unlisted_actors

    if timeline_ and actor is None:
        raise UsageError("--timeline needs --actor: the timeline is one actor's holdings per month")
    if timeline_ and as_of is not None:
        raise UsageError("--timeline and --as-of do not go together: the timeline covers every month")
    url = db_url(db)
    equipment = load_catalog(catalog or (), db_url=url)
    actor_list = load_actors(actors or (), db_url=url)
    if by == "unit":
        if timeline_:
            raise UsageError("--timeline and --by unit do not go together")
        _unit_holdings(file, equipment, actor_list, url, actor, as_of, json_)
        return
    frame = _frame(file, equipment, db)

    if timeline_:
        table = timeline(frame, equipment, actor_list, actor=actor, by=by)
        if json_:
            print_json([
                {"month": month.date().isoformat(), "equipment": str(column), "holdings": int(value)}
                for month, row in table.iterrows()
                for column, value in row.items()
            ])
            return
        _print_timeline(table, actor_list.resolve(actor).name if actor_list.resolve(actor) else actor, by)
        return

    found = holdings(frame, equipment, actor_list, as_of=as_of, by=by, actor=actor)
    fleets = _fleets(frame, equipment, actor_list, actor, as_of) if by == "type" else {}
    if json_:
        print_json([_with_fleet(h.to_dict(), fleets.get((h.actor, h.equipment))) for h in found])
        return
    unlisted = unlisted_actors(frame, actor_list)
    if unlisted:
        typer.echo("Note: actors not in the actor list, kept as written: " + ", ".join(unlisted), err=True)
    _print_holdings(found, actor_list, actor, as_of, by, fleets)


def _unit_holdings(file, catalog, actor_list, url: str, actor: str | None, as_of: str | None, json_: bool) -> None:
    """`--by unit`: per named unit and type, count (the most it had), lost and on hand."""
    from orbat.inventory import parse_date
    from orbat.units import holdings_by_unit, load_orbat

    when = parse_date(as_of)
    if file is not None:
        from orbat.sightings import read_sightings

        orbat = load_orbat(None, frame=read_sightings(file, catalog), db_url=url, actors=actor_list)
    else:
        from orbat.store import open_store

        with open_store(url, must_exist=True) as store:
            orbat = load_orbat(store, db_url=url, actors=actor_list)
    found = holdings_by_unit(orbat, catalog, as_of=when.isoformat() if when else None, actor=actor)
    if json_:
        print_json(found)
        return
    if not found:
        typer.echo("No unit holdings: no sighting names a unit or is attached to one.")
        return
    from rich.table import Table

    out = console()
    per_unit: dict[str, list] = {}
    for h in found:
        per_unit.setdefault(h["unit"], []).append(h)
    for name, items in per_unit.items():
        count, lost = sum(h["count"] for h in items), sum(h["lost"] for h in items)
        typer.echo(f"{name}: {count} known, {lost} lost, {count - lost} on hand")
        table = Table()
        for column in ("type", "count", "seen", "arrived", "destr.", "damaged", "aband.", "capt.", "on hand", "evid."):
            table.add_column(column, justify="left" if column == "type" else "right", overflow="fold")
        for h in items:
            table.add_row(h["label"], str(h["count"]), str(h["seen_max"]), str(h["arrived"]), str(h["destroyed"]),
                          str(h["damaged"]), str(h["abandoned"]), str(h["captured"]), str(h["on_hand"]),
                          str(h["evidence"]))
        out.print(table)


def _fleets(frame, equipment, actor_list, actor: str | None, as_of: str | None) -> dict:
    """Fleet estimates from markings (`orbat fleet`) by (actor, type), to show beside the lower bound."""
    from orbat.fleet import fleet_estimates

    found = fleet_estimates(frame, equipment, actor_list, actor=actor, as_of=as_of)
    return {(e.actor, e.equipment): e for e in found.estimates if e.estimate is not None}


def _with_fleet(data: dict, estimate) -> dict:
    if estimate is not None:
        data["fleet"] = {k: estimate.to_dict()[k] for k in ("method", "estimate", "low", "high", "level", "distinct")}
    return data


def _print_holdings(found, actor_list, actor: str | None, as_of: str | None, by: str, fleets=None) -> None:
    from rich.table import Table

    out = console()
    when = f"as of {as_of}" if as_of else "from every row"
    if not found:
        message = f"No holdings {when}"
        listed = actor_list.resolve(actor) if actor else None
        if listed is not None and listed.successor is not None:
            message += (
                f" for {listed.name}; its holdings pass to "
                f"{actor_list.get(listed.successor).name} from {listed.succession_date.isoformat()}"
            )
        elif actor:
            message += f" for {actor}"
        typer.echo(message + ".")
        return
    per_actor: dict[str, list] = {}
    for h in found:
        per_actor.setdefault(h.actor, []).append(h)
    for name, items in per_actor.items():
        total, total_max = sum(h.holdings for h in items), sum(h.holdings_max for h in items)
        span = str(total) if total == total_max else f"{total}-{total_max}"
        typer.echo(f"{name}: {span} {when}")  # echoed, not a table title: rich would wrap it
        table = Table()
        # Short headers so the table fits 80 columns; --json has the full names and evidence.
        for column in (by, "arrived", "seen", "destr.", "damaged", "aband.", "capt.", "holdings", "evid."):
            table.add_column(column, justify="left" if column == by else "right", overflow="fold")
        for h in sorted(items, key=lambda h: h.label.casefold()):
            figure = str(h.holdings) if h.holdings == h.holdings_max else f"{h.holdings}-{h.holdings_max}"
            table.add_row(h.label, str(h.arrived), str(h.seen_max), str(h.destroyed), str(h.damaged),
                          str(h.abandoned), str(h.captured), figure, str(len(h.evidence)))
        out.print(table)
        for h in sorted(items, key=lambda h: h.label.casefold()):
            estimate = (fleets or {}).get((h.actor, h.equipment))
            if estimate is not None:
                figure = str(h.holdings) if h.holdings == h.holdings_max else f"{h.holdings}-{h.holdings_max}"
                typer.echo(f"  {h.label}: holdings {figure} are a lower bound; fleet estimate "
                           f"{estimate.summary} ({estimate.method}, `orbat fleet`)")


def _print_timeline(table, name: str, by: str) -> None:
    from rich.table import Table

    out = console()
    if table.empty:
        typer.echo(f"No holdings for {name}.")
        return
    typer.echo(f"{name}: holdings per month (as of each month's end)")
    view = Table()
    view.add_column("month")
    for column in table.columns:
        view.add_column(str(column), justify="right")
    for month, row in table.iterrows():
        view.add_row(month.strftime("%Y-%m"), *(str(int(v)) for v in row))
    out.print(view)
