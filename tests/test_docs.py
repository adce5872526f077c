"""Every command and every option documents itself (its docstring is its --help)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.main import get_command

from orbat.cli import app


def walk(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, path + (name,))


COMMANDS = list(walk(get_command(app)))


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "orbat" for p, _ in COMMANDS])
def test_command_has_help(path, command):
    assert (command.help or "").strip(), f"orbat {' '.join(path)} has no help text"


@pytest.mark.parametrize(
    "path, command",
    [(p, c) for p, c in COMMANDS if not getattr(c, "commands", None)],
    ids=[" ".join(p) for p, c in COMMANDS if not getattr(c, "commands", None)],
)
def test_leaf_command_ends_with_an_example(path, command):
    """The last paragraph of the help is an example of the command itself, kept unwrapped."""
    last = (command.help or "").strip().split("\n\n")[-1]
    lines = [line.strip() for line in last.splitlines()]
    assert lines[:2] == ["\b", "Example:"], f"orbat {' '.join(path)}: help does not end with an example"
    assert lines[2].startswith("orbat " + " ".join(path)), f"orbat {' '.join(path)}: example runs {lines[2]!r}"


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "orbat" for p, _ in COMMANDS])
def test_every_option_has_help(path, command):
    missing = [
        param.name
        for param in command.params
        if getattr(param, "param_type_name", "") == "option" and not (param.help or "").strip()
    ]
    assert missing == [], f"orbat {' '.join(path)}: options without help: {missing}"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from orbat.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('pandas', 'sqlalchemy', 'openpyxl', 'alembic', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version(cli):
    from orbat import __version__

    result = cli("--version")
    assert result.exit_code == 0, result.output
    assert __version__ in result.stdout


def test_no_typer_in_library():
    """The library never imports typer; the CLI is the only place that does."""
    from pathlib import Path

    import orbat

    root = Path(orbat.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "cli" not in p.relative_to(root).parts and "import typer" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
