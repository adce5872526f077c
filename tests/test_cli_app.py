"""The root app: which modules a command needs, and typer's parameters coerced without pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.main import get_command

from orbat.__main__ import COMMAND_MODULES
from orbat.cli import app
from orbat.cli.app import plain_runtime_param

ROOT = Path(__file__).resolve().parent.parent


def walk(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, path + (name,))


def shape(command) -> dict:
    """Every command path below ``command`` with its parameter names."""
    return {" ".join(p): sorted(x.name for x in c.params) for p, c in walk(command)}


TREE = get_command(app)

_SHAPE_OF = (
    "import json, sys\n"
    "import orbat\n"
    "orbat._cli_modules = tuple(sys.argv[2:])\n"
    "from orbat.cli import app\n"
    "from typer.main import get_command\n"
    "def walk(c, p=()):\n"
    "    yield p, c\n"
    "    for n, s in getattr(c, 'commands', {}).items():\n"
    "        yield from walk(s, p + (n,))\n"
    "root = get_command(app)\n"
    "print(json.dumps({' '.join(p): sorted(x.name for x in c.params) for p, c in walk(root.commands[sys.argv[1]])}))\n"
)


def test_every_top_level_command_has_its_modules():
    assert set(TREE.commands) == set(COMMAND_MODULES)


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_a_command_alone_is_the_same_command(name):
    """The console script loads only COMMAND_MODULES[name]: the command must be whole without the rest."""
    done = subprocess.run([sys.executable, "-c", _SHAPE_OF, name, *COMMAND_MODULES[name]],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(done.stdout) == shape(TREE.commands[name])


def test_console_script_runs_one_command_without_the_others():
    code = ("import sys\nsys.argv = ['orbat', 'catalog', 'show', 'T-72']\nfrom orbat.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('orbat.cli.')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "T-72" in done.stdout
    loaded = eval(done.stderr.strip().splitlines()[-1])  # a list of module names printed above
    assert "orbat.cli.estimate" not in loaded and "orbat.cli.catalog" in loaded


def test_an_unknown_first_word_loads_every_command():
    code = "import sys\nsys.argv = ['orbat', 'catalg']\nfrom orbat.__main__ import main\nmain()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "Did you mean 'catalog'" in done.stderr


# --------------------------------------------------------------------------- plain coercion

PARAMS = [(" ".join(p), param) for p, c in walk(TREE) for param in c.params
          if plain_runtime_param(param.type_descriptor) is not None]


def test_text_path_and_flag_parameters_get_plain_coercion():
    kinds = {repr(param.type_descriptor.annotation) for _, param in PARAMS}
    assert {"<class 'str'>", "<class 'pathlib.Path'>", "<class 'bool'>", "list[pathlib.Path]"} <= kinds


def test_other_parameters_keep_typers_coercion():
    others = [param for _, c in walk(TREE) for param in c.params
              if plain_runtime_param(param.type_descriptor) is None]
    assert others and all(p.type_descriptor.annotation not in (str, Path) for p in others)


def _typer_coerce(param, value):
    from typer._coercion import build_runtime_param

    return build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=None)


def _plain_coerce(param, value):
    return plain_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=None)


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_plain_coercion_gives_what_typer_gives(data):
    """For the values a command line gives (text, lists of text, flags), the result is typer's own."""
    _, param = data.draw(st.sampled_from(PARAMS))
    annotation = param.type_descriptor.annotation
    if annotation is bool:
        value = data.draw(st.booleans())
    elif param.multiple or param.nargs == -1:
        value = tuple(data.draw(st.lists(texts, max_size=3)))
    else:
        value = data.draw(texts | st.none())
    try:
        expected = _typer_coerce(param, value)
    except typer.BadParameter as error:  # e.g. a NUL in a path: the same error both ways
        with pytest.raises(typer.BadParameter) as plain:
            _plain_coerce(param, value)
        assert str(plain.value) == str(error)
        return
    assert _plain_coerce(param, value) == expected
    assert type(_plain_coerce(param, value)) is type(expected)


def test_plain_coercion_leaves_other_values_to_typer():
    _, param = next((n, p) for n, p in PARAMS if p.type_descriptor.annotation is bool)
    assert _plain_coerce(param, "yes") is True and _plain_coerce(param, "off") is False


def test_a_nul_in_a_path_is_typers_own_error():
    """A path with an embedded NUL (possible from CliRunner, not from a shell) gets typer's message."""
    _, param = next((n, p) for n, p in PARAMS if p.type_descriptor.annotation is Path and not p.multiple)
    with pytest.raises(typer.BadParameter, match="null byte"):
        _typer_coerce(param, "a\x00b")
    with pytest.raises(typer.BadParameter, match="null byte"):
        _plain_coerce(param, "a\x00b")


# --- the program's quick end (orbat.__main__.run) ------------------------------------------


@pytest.mark.parametrize("args, status, where, text", [
    (["--version"], 0, "stdout", "orbat "),
    (["estimate", "no-such-file.csv"], 1, "stderr", "no-such-file.csv: file not found"),
    (["estimate", "--no-such-option"], 2, "stderr", "No such option"),
])
def test_the_program_ends_with_the_commands_status_and_all_its_output(tmp_path, args, status, where, text):
    done = subprocess.run([sys.executable, "-m", "orbat", *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == status
    assert text in getattr(done, where)


def test_a_quick_end_still_writes_everything_and_runs_the_exit_handlers(tmp_path):
    """Output still in stdout's buffer, and atexit handlers, are not lost by the quick end."""
    code = ("import atexit, sys\natexit.register(lambda: print('handler ran', file=sys.stderr))\n"
            "sys.argv = ['orbat', 'estimate', sys.argv[1], '--jsonl']\nfrom orbat.__main__ import run\nrun()")
    mali = ROOT / "estimates" / "mali-2025-01-17" / "sightings.csv"
    done = subprocess.run([sys.executable, "-c", code, str(mali)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("handler ran")
    lines = done.stdout.splitlines()
    assert lines and all(json.loads(line)["convoy"] for line in lines)


@pytest.mark.parametrize("exit_with, status", [("None", 0), ("3", 3), ("True", 1), ("'a message'", 1)])
def test_the_statuses_are_what_python_gives_for_them(tmp_path, exit_with, status):
    """Ints, None and booleans end quickly with their status; text takes Python's way (printed, status 1)."""
    code = (f"import orbat.__main__ as m\nm.main = lambda: (_ for _ in ()).throw(SystemExit({exit_with}))\nm.run()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == status
    assert ("a message" in done.stderr) is (exit_with == "'a message'")


def test_a_running_thread_is_waited_for_as_python_does(tmp_path):
    code = ("import threading, time, sys\nimport orbat.__main__ as m\n"
            "def work():\n    time.sleep(0.3)\n    print('thread done', flush=True)\n"
            "def main():\n    threading.Thread(target=work).start()\n    raise SystemExit(0)\n"
            "m.main = main\nm.run()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "thread done" in done.stdout
