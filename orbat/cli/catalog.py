"""`orbat catalog`: browse the equipment catalog."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app, command_group
from orbat.cli.common import CatalogOption, DbOption, JsonOption, console, load_catalog_for, print_json

catalog_app = command_group("Browse the equipment catalog.")
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("list")
def list_(
    category: Annotated[Optional[str], typer.Option("--category", "-c", help="Only this category (e.g. tank, ifv, mrap).")] = None,
    json_: JsonOption = False,
    catalog: CatalogOption = None,
    db: DbOption = None,
) -> None:
    """List equipment types, optionally of one category.

    \b
    Example:
      orbat catalog list --category tank
    """
    from orbat.catalog import CATEGORIES
    from orbat.errors import UsageError

    cat = load_catalog_for(catalog, db)
    entries = list(cat)
    if category is not None:
        if category not in CATEGORIES:
            raise UsageError(f"unknown category {category!r}; expected one of: {', '.join(CATEGORIES)}")
        entries = cat.by_category(category)
    if json_:
        print_json([e.as_record() for e in entries])
        return
    from rich.table import Table

    table = Table(title=f"{len(entries)} equipment types", show_lines=False)
    for column in ("id", "name", "category", "role", "family", "crew", "dismounts", "aliases"):
        table.add_column(column, overflow="fold")
    for e in entries:
        aliases = ", ".join(e.aliases[:4]) + (" ..." if len(e.aliases) > 4 else "")
        table.add_row(e.id, e.name, e.category, e.role, e.family, str(e.crew), str(e.passengers), aliases)
    console().print(table)


@catalog_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Any name or alias, Latin or Cyrillic.")],
    json_: JsonOption = False,
    catalog: CatalogOption = None,
    db: DbOption = None,
) -> None:
    """Show the entry a name or alias resolves to.

    \b
    Example:
      orbat catalog show "Т-72Б3"
    """
    entry = load_catalog_for(catalog, db).resolve(name)
    if json_:
        print_json(entry.as_record())
        return
    from orbat.cli.tables import plain_fields

    # Plain aligned text (no rich): `catalog show` is the quick look-up, and rich's
    # import alone was a third of its start-up.
    for line in plain_fields(entry.name, _shown_fields(entry.as_record())):
        typer.echo(line)


def _shown_fields(record: dict) -> list[tuple[str, str]]:
    """The fields of an entry as text, empty ones left out (lists joined, the serial as its pattern)."""
    shown = []
    for key, value in record.items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ", ".join(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        shown.append((key, str(value)))
    return shown


@catalog_app.command("resolve")
def resolve(
    names: Annotated[Optional[list[str]], typer.Argument(help="Names as a loss list writes them.", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="A text file with one name a line.")] = None,
    json_: JsonOption = False,
    catalog: CatalogOption = None,
    db: DbOption = None,
) -> None:
    """Show how names resolve: the entry, its category and the pipeline steps taken.

    Names that do not resolve get suggestions (never a resolution) and make the
    exit code 1. See docs/catalog.md for every step.

    \b
    Example:
      orbat catalog resolve "152mm 2A65 'Msta-B' howitzer" "BMP-1 or -2"
      orbat catalog resolve --file names.txt --json
    """
    from orbat.errors import UsageError
    from orbat.resolution import explain_names

    if not names and file is None:
        raise UsageError("give one or more names, or --file with one name a line")
    results = explain_names(load_catalog_for(catalog, db), names or (), file)
    if json_:
        print_json([r.as_dict() for r in results])
    else:
        from rich.table import Table

        resolved = sum(r.resolved for r in results)
        table = Table(title=f"{resolved} of {len(results)} names resolve")
        for column in ("name", "id", "category", "how"):
            table.add_column(column, overflow="fold")
        for r in results:
            if r.entry is not None:
                table.add_row(r.name, r.entry.id, r.entry.category, " > ".join(r.how))
            else:
                hint = ("did you mean " + ", ".join(r.suggestions) + "?") if r.suggestions else "not in the catalog"
                table.add_row(r.name, "-", "-", hint)
        console().print(table)
    if not all(r.resolved for r in results):
        raise typer.Exit(1)
