"""orbat's command-line interface: thin commands over the library.

Each module registers its commands on :data:`orbat.cli.app.app`; importing
them here builds the whole tree. Heavy libraries are imported inside the
commands that need them.
"""

# Import order is help order: entering sightings, then analysis, then reference and admin.
from orbat.cli import importing, sightings, estimate, inventory, fleet, units, export, catalog, unresolved, doctrine, db  # noqa: F401,I001  (registration)
from orbat.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app(prog_name="orbat")
