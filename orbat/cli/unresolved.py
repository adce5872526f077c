"""`orbat catalog unresolved` and `orbat catalog reresolve`: names kept as written, resolved later."""

from typing import Annotated

import typer

from orbat.cli.catalog import catalog_app
from orbat.cli.common import CatalogOption, DbOption, JsonOption, db_url, load_catalog_for, print_json

#: How many suggestions a name gets in the table.
SUGGESTIONS = 3


@catalog_app.command("unresolved")
def unresolved(
    json_: JsonOption = False,
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """List the stored equipment names the catalog did not know, with the nearest catalog names.

    Loss lists and mapped spreadsheets keep such names as written (counted
    in totals and the inventory under that name). Teach the catalog a name
    (a --catalog YAML file, or a catalogs/ folder beside the database), then
    run `orbat catalog reresolve`.

    \b
    Example:
      orbat catalog unresolved --db losses.db
    """
    from orbat.store import open_store

    cat = load_catalog_for(catalog, db)
    with open_store(db_url(db), must_exist=True) as store:
        items = store.unresolved(suggest=lambda name: cat.suggest(name)[:SUGGESTIONS])
    if json_:
        print_json(items)
        return
    if not items:
        typer.echo("every stored equipment name resolves to the catalog")
        return
    from rich.table import Table

    from orbat.cli.common import console

    table = Table("name as written", "vehicles", "entries", "sightings", "did you mean")
    for item in items:
        table.add_row(item["name"], str(item["vehicles"]), str(item["entries"]), str(item["sightings"]),
                      ", ".join(item["suggestions"]))
    console().print(table)
    typer.echo(f"{len(items)} names not in the catalog ({sum(i['vehicles'] for i in items)} vehicles)")


@catalog_app.command("reresolve")
def reresolve(
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Resolve the stored names kept as written again, after the catalog learned some of them.

    Each name is looked up once; entries that now resolve take the catalog
    id (and add into an entry of the same type, mode, event and actor in
    their sighting). Changed sightings keep their old version in the history.

    \b
    Example:
      orbat catalog reresolve --catalog my-names.yaml --db losses.db
    """
    from orbat.store import open_store

    cat = load_catalog_for(catalog, db)

    def lookup(name: str):
        entry = cat.lookup(name)
        return entry.id if entry is not None else None

    with open_store(db_url(db), must_exist=True) as store:
        result = store.reresolve(lookup)
    for name, eid in sorted(result["resolved"].items()):
        typer.echo(f"  {name!r} -> {eid}")
    typer.echo(f"resolved {len(result['resolved'])} names: {result['entries']} entries in {result['sightings']} "
               f"sightings updated; {len(result['unresolved'])} names still not in the catalog")
