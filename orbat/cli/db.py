"""`orbat db`: the database schema (migrations) and what the database holds."""

import typer

from orbat.cli.app import app, command_group
from orbat.cli.common import DbOption, JsonOption, console, db_url, print_json

db_app = command_group("Upgrade the database schema and see what the database holds.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """Bring the database to the latest schema, by migration (data is kept).

    orbat upgrades a database when it opens it; this command does it
    explicitly, e.g. for a shared PostgreSQL database before several analysts
    use it. A database created by a newer orbat is refused.

    \b
    Example:
      orbat db upgrade --db postgresql+psycopg://analyst@127.0.0.1:5432/orbat
    """
    from orbat.store import open_store

    with open_store(db_url(db), upgrade=False) as store:
        before, after = store.upgrade()
        where = store.where
    if before == after:
        typer.echo(f"{where} is already at the latest revision {after}.")
    elif before is None:
        typer.echo(f"{where}: created the schema at revision {after}.")
    else:
        typer.echo(f"{where}: upgraded from revision {before} to {after}.")


@db_app.command("status")
def status(json_: JsonOption = False, db: DbOption = None) -> None:
    """Say which schema revision the database is at, the latest this orbat knows, and row counts.

    \b
    Example:
      orbat db status --json
    """
    from orbat.store import open_store

    with open_store(db_url(db), upgrade=False, must_exist=True) as store:
        info = {
            "database": store.where,
            "engine": store.dialect,
            "revision": store.revision(),
            "latest": store.latest_revision(),
            "up_to_date": store.revision() == store.latest_revision(),
            "counts": store.counts(),
        }
    if json_:
        print_json(info)
        return
    out = console()
    out.print(f"database: {info['database']} ({info['engine']})")
    revision = info["revision"] or "none (empty database)"
    note = "up to date" if info["up_to_date"] else "run `orbat db upgrade`"
    out.print(f"schema revision: {revision}; latest known: {info['latest']} ({note})")
    for name, count in info["counts"].items():
        out.print(f"{name}: {count}")
