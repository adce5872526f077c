"""orbat's command-line interface: thin commands over the library.

Each module registers its commands on :data:`orbat.cli.app.app`; importing
them here builds the whole tree. Heavy libraries are imported inside the
commands that need them.
"""

from __future__ import annotations

from orbat.cli import catalog, db, estimate, export, importing, inventory, sightings  # noqa: F401  (registration)
from orbat.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app(prog_name="orbat")
