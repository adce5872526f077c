"""``python -m orbat`` and the ``orbat`` console script.

Only the command modules of the command asked for are imported (importing
all eleven, and building every command's parameters, was a quarter of
``orbat catalog show``); a first word that is not a known command (an
option such as ``--help``, a typo) loads them all.

Run as a program (:func:`run`), the process ends as soon as the command is
done (:func:`_end`), without freeing its objects one by one first;
:func:`main` itself returns or raises ``SystemExit`` as any typer app does.
"""

import atexit
import os
import sys
import threading

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


def run() -> None:
    """The ``orbat`` console script and ``python -m orbat``: :func:`main`, then the process ends at once (:func:`_end`)."""
    try:
        main()
    except SystemExit as done:
        _end(done)
    raise SystemExit(0)  # (typer always exits; a plain return is a success)


def _end(done: SystemExit) -> None:
    """Exit with ``done``'s status, skipping the interpreter's teardown of every object when that is safe.

    Python frees each object of the heap before a process ends: after an
    estimate of 20,000 convoys, 0.1-0.3 s of the caller's wall time (the
    frame, the blocks' results, their strings), all on the user's clock.
    What must happen before exit still does: the atexit handlers (logging,
    weakref finalizers, temporary folders) run, then stdout and stderr are
    flushed. Files and databases are closed by the commands themselves (``with``
    blocks, ``open_store``). Anything unusual takes Python's own way out: a
    thread still running (it would not be waited for), a status that is text
    (Python prints it), a flush that fails (Python reports it as it always has).
    """
    code = done.code
    if code is None:
        code = 0
    if type(code) is bool:
        code = int(code)
    if type(code) is not int or threading.active_count() > 1:
        raise done
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise done from None
    os._exit(code & 0xFF)  # (the status the OS keeps of what sys.exit(code) gives)


if __name__ == "__main__":
    run()
