"""`orbat sightings`: list, show, archive, restore and trace the stored sightings."""

from typing import Annotated, Optional

import typer

from orbat.cli.app import app, command_group
from orbat.cli.common import DbOption, JsonOption, console, db_url, print_json

sightings_app = command_group("List, show, archive, restore and trace the stored sightings.")
app.add_typer(sightings_app, name="sightings")

IdArgument = Annotated[str, typer.Argument(help="The sighting_id, as in the imported file.", show_default=False)]


def _open(db: str | None, *, must_exist: bool = True):
    from orbat.store import open_store

    return open_store(db_url(db), must_exist=must_exist)


def _vehicles(item: dict) -> str:
    low = sum(e["count"] for e in item["entries"])
    high = sum(e["count_max"] if e["count_max"] is not None else e["count"] for e in item["entries"])
    return str(low) if high == low else f"{low}-{high}"


def _text(value) -> str:
    return "" if value is None else str(value)


@sightings_app.command("list")
def list_(
    convoy: Annotated[Optional[str], typer.Option("--convoy", help="Only this convoy.")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Only this actor (case-insensitive).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Observed on or after (YYYY-MM-DD[THH:MM:SS]).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Observed on or before; a date includes that whole day.")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived (deleted) sightings.")] = False,
    json_: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List the stored sightings, oldest first.

    --json prints them in the nested JSON form (fields once, then entries),
    which `orbat import` reads back.

    \b
    Example:
      orbat sightings list --convoy bamako-2025-01-17 --since 2025-01-01
    """
    with _open(db) as store:
        items = store.list_sightings(convoy=convoy, actor=actor, since=since, until=until,
                                     include_archived=archived)
    if json_:
        print_json(items)
        return
    from rich.table import Table

    out = console()
    table = Table(title=f"{len(items)} sightings")
    # ids, dates and numbers stay whole; free text is cut to share what is left of the
    # terminal's width (`orbat sightings show` has it in full)
    fixed = ["sighting_id", "observed_at", "vehicles"] + (["archived_at"] if archived else [])
    free = ["convoy", "place", "actor"]
    rows = [{"sighting_id": i["sighting_id"], "observed_at": i["observed_at"], "vehicles": _vehicles(i),
             "archived_at": _text(i["archived_at"]), "convoy": _text(i["convoy"]),
             "place": _text(i["place"]), "actor": _text(i["actor"])} for i in items]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in fixed + free}
    left = out.width - sum(widths[c] for c in fixed) - 3 * (len(fixed) + len(free)) - 1
    share = max(6, left // len(free))
    for column in fixed:
        table.add_column(column, no_wrap=True, min_width=widths[column])
    for column in free:
        table.add_column(column, no_wrap=True, max_width=max(share, len(column)))
    for row in rows:
        table.add_row(*(row[c] if c in fixed or len(row[c]) <= share else row[c][:share - 1] + "…"
                        for c in fixed + free))
    out.print(table)


@sightings_app.command("show")
def show(sighting_id: IdArgument, json_: JsonOption = False, db: DbOption = None) -> None:
    """Show one sighting (archived ones too): its fields and its equipment.

    \b
    Example:
      orbat sightings show capmali-video-01
    """
    with _open(db) as store:
        item = store.get_sighting(sighting_id)
    if json_:
        print_json(item)
        return
    from rich.table import Table

    fields = Table(show_header=False, title=f"sighting {item['sighting_id']}")
    fields.add_column("field", style="bold")
    fields.add_column("value", overflow="fold")
    for key, value in item.items():
        if key != "entries" and value is not None:
            fields.add_row(key, str(value))
    entries = Table(title=f"{len(item['entries'])} equipment types, {_vehicles(item)} vehicles")
    columns = ["equipment", "equipment_id", "count", "count_max", "mode", "event", "captor", "markings", "notes",
               "unit", "tags"]
    for optional in ("captor", "markings", "unit", "tags"):
        if all(e.get(optional) is None for e in item["entries"]):
            columns.remove(optional)
    if len({e.get("actor") for e in item["entries"]}) > 1:  # a mixed column: say whose each entry is
        columns.insert(0, "actor")
    for column in columns:
        whole = column in ("equipment_id", "count", "count_max", "mode", "event")
        width = max([len(column), *(len(_text(e[column])) for e in item["entries"])]) if whole else None
        entries.add_column(column, overflow="fold", no_wrap=whole, min_width=width)
    for e in item["entries"]:
        entries.add_row(*(_text(e.get(c)) for c in columns))
    out = console()
    out.print(fields)
    out.print(entries)


@sightings_app.command("delete")
def delete(sighting_id: IdArgument, db: DbOption = None) -> None:
    """Archive a sighting: hidden from lists, estimates and reports, but kept and restorable.

    \b
    Example:
      orbat sightings delete social-photo-02
    """
    with _open(db) as store:
        archived_at = store.delete_sighting(sighting_id)
    typer.echo(f"Archived sighting {sighting_id} ({archived_at}); "
               f"restore it with: orbat sightings restore {sighting_id}")


@sightings_app.command("restore")
def restore(sighting_id: IdArgument, db: DbOption = None) -> None:
    """Bring back an archived sighting.

    \b
    Example:
      orbat sightings restore social-photo-02
    """
    with _open(db) as store:
        restored = store.restore_sighting(sighting_id)
    if restored:
        typer.echo(f"Restored sighting {sighting_id}.")
    else:
        typer.echo(f"Sighting {sighting_id} was not archived; nothing to restore.")


@sightings_app.command("history")
def history(sighting_id: IdArgument, json_: JsonOption = False, db: DbOption = None) -> None:
    """Show the earlier versions of a sighting that re-imports replaced, oldest first.

    Each version says when and from which file it was imported, when and by
    which file it was replaced, and what changed.

    \b
    Example:
      orbat sightings history capmali-video-01
    """
    with _open(db) as store:
        versions = store.history(sighting_id)
        current = store.get_sighting(sighting_id)
    if json_:
        print_json({"sighting_id": sighting_id, "versions": versions, "current": current})
        return
    if not versions:
        typer.echo(f"Sighting {sighting_id} has not changed since it was first imported "
                   f"({current['created_at']}, from {current['imported_from'] or 'unknown source'}).")
        return
    plural = "version" if len(versions) == 1 else "versions"
    lines = [f"{sighting_id}: {len(versions)} earlier {plural}"]
    for v in versions:
        lines.append(f"version {v['version']}: imported {v['valid_from']} from "
                     f"{v['imported_from'] or 'unknown source'}; replaced {v['replaced_at']} by "
                     f"{v['replaced_by'] or 'unknown source'}")
        lines.extend(f"  {change}" for change in v["changes"] or ["(no field changed)"])
    lines.append(f"current: since {current['updated_at']}, from "
                 f"{current['imported_from'] or 'unknown source'}")
    typer.echo("\n".join(lines))
