"""orbat's command-line interface: thin commands over the library.

Each module registers its commands on :data:`orbat.cli.app.app`; importing
this package imports them all, which builds the whole tree. The console
script (:func:`orbat.__main__.main`) may ask for only the modules of the
command it runs (``orbat._cli_modules``), so ``orbat catalog show`` does not
pay for the other ten. Heavy libraries are imported inside the commands
that need them.
"""

import importlib

import orbat

#: The command modules. Import order is help order: entering sightings, then analysis,
#: then reference and admin.
MODULES = ("importing", "sightings", "estimate", "inventory", "fleet", "units", "export", "catalog",
           "unresolved", "doctrine", "db")


def load_commands(modules: tuple[str, ...] = MODULES) -> None:
    """Import command modules (registering their commands on the app); each is imported once."""
    for name in modules:
        importlib.import_module(f"orbat.cli.{name}")


load_commands(getattr(orbat, "_cli_modules", None) or MODULES)

from orbat.cli.app import app  # noqa: E402 (after the registrations, as it always was)

__all__ = ["app", "main", "load_commands"]


def main() -> None:
    """Run the whole command tree (the console script is :func:`orbat.__main__.main`)."""
    load_commands()
    app(prog_name="orbat")
