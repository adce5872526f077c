"""Options and output helpers shared by the command modules (light imports only)."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

DEFAULT_DB = "orbat.db"

DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        envvar="ORBAT_DB",
        help="Database URL or SQLite file (default: orbat.db in the working directory; env ORBAT_DB).",
        show_default=False,
    ),
]

CatalogOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--catalog",
        help="Extra catalog YAML file or folder (repeatable); extends the bundled catalogs.",
        show_default=False,
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

SightingsFileArgument = Annotated[
    Optional[Path],
    typer.Argument(help="A sightings file (CSV, XLSX or JSON) to read instead of the database; nothing is stored.",
                   show_default=False),
]

ActorFilterOption = Annotated[Optional[str], typer.Option("--actor", "-a", help="Only this actor (any name or alias).")]


def db_url(db: str | None) -> str:
    """A SQLAlchemy URL from --db / ORBAT_DB: a plain path means a SQLite file."""
    value = db or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{value}"


def load_catalog_for(catalog: list | None, db: str | None):
    """The catalog a command sees: bundled, beside the database, then --catalog files."""
    from orbat.catalog import load_catalog

    return load_catalog(catalog or (), db_url=db_url(db))


def print_json(data: Any) -> None:
    """JSON on stdout, UTF-8 kept readable."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def console():
    """A rich console for tables (imported lazily: rich is not needed for --help)."""
    import os
    import sys

    from rich.console import Console

    # Piped or captured output (make demo, a log file) has no terminal width; rich would
    # then assume 80 columns and fold names mid-word, so give tables room.
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120
    # markup=False: names, places and notes come from the internet, and "[/x]" in them must
    # print as text, not be parsed as rich markup (or crash it). Style with rich.text.Text.
    return Console(highlight=False, soft_wrap=False, width=width, markup=False)


def err_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False)
