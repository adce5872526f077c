"""``python -m orbat`` and the ``orbat`` console script.

Only the command modules of the command asked for are imported (importing
all eleven, and building every command's parameters, was a quarter of
``orbat catalog show``); a first word that is not a known command (an
option such as ``--help``, a typo) loads them all.
"""

import sys

import orbat

#: The modules that register each top-level command or group (tests/test_cli_app.py checks this
#: against the whole tree). A command missing here still works: its first word loads every module.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "import": ("importing",), "add": ("importing",), "template": ("importing",),
    "sightings": ("sightings",), "estimate": ("estimate",), "inventory": ("inventory",), "fleet": ("fleet",),
    "units": ("units",), "export": ("export",), "report": ("export",), "catalog": ("catalog", "unresolved"),
    "doctrine": ("doctrine",), "db": ("db",),
}


def main() -> None:
    """Console-script entry point: the modules of the command asked for, then the app."""
    from orbat.heap import keep_freed_memory

    keep_freed_memory()  # before the command allocates (see orbat.heap)
    first = sys.argv[1] if len(sys.argv) > 1 else None
    orbat._cli_modules = COMMAND_MODULES.get(first)
    from orbat.cli import app

    app(prog_name="orbat")


if __name__ == "__main__":
    main()
