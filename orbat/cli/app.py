"""The root Typer app, and the one place where orbat's errors become messages.

Command modules import ``app`` from here and register on it; this module
imports nothing heavy so that ``orbat --help`` stays quick. (For the same
reason the cli modules do not use ``from __future__ import annotations``:
typer would then evaluate every annotation string at start-up.)
"""

import typer
from typer.core import TyperGroup

from orbat.errors import OrbatError


class OrbatGroup(TyperGroup):
    """Renders :class:`OrbatError` once: message on stderr, exit code, no traceback."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except OrbatError as exc:
            typer.echo(f"Error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=OrbatGroup,
    name="orbat",
    help=(
        "Turn OSINT equipment sightings into order-of-battle estimates, "
        "inventories and Excel reports."
    ),
    no_args_is_help=True,
    add_completion=False,
    # Plain (click-style) help: typer's rich help imports ~100 ms of rich modules,
    # which would make `orbat --help` several times slower than `import typer`.
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def command_group(help: str) -> typer.Typer:
    """A sub-command group (``orbat catalog``, ``orbat db``...) with the root's help style."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def version_callback(value: bool) -> None:
    if value:
        from orbat import __version__

        typer.echo(f"orbat {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Turn OSINT equipment sightings into order-of-battle estimates, inventories and Excel reports.

    Start with `orbat import sightings.csv`, then `orbat estimate` and `orbat export report.xlsx`.
    """
