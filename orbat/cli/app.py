"""The root Typer app, and the one place where orbat's errors become messages.

Command modules import ``app`` from here and register on it; this module
imports nothing heavy so that ``orbat --help`` stays quick. (For the same
reason the cli modules do not use ``from __future__ import annotations``:
typer would then evaluate every annotation string at start-up.)
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from orbat.errors import OrbatError

try:  # typer's coercion layer (private API): if it moves, typer's own coercion is used unchanged
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer._typing import get_args, get_origin
except ImportError:  # pragma: no cover - another typer
    RuntimeParam = None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainValue(RuntimeParam):
        """Coerces a ``str``, ``Path`` or ``bool`` parameter (or a list of them) in plain Python.

        typer builds a pydantic ``TypeAdapter`` for every parameter it coerces,
        so any command with an argument imported pydantic and built adapters
        (~0.1 s) before it ran: more than the whole of ``orbat catalog show``
        once its catalog is cached. For text from the command line the result
        is what typer's adapter gives (the text itself; a ``Path`` checked by
        typer's own ``coerce_cli_path`` with the parameter's flags); any other
        value (a flag's text from an environment variable, bytes) goes to
        typer's adapter.
        """

        kind: type = str
        many: bool = False
        descriptor: Any = None

        def _one(self, value: Any, param, ctx) -> Any:
            if self.kind is bool and type(value) is bool:
                return value
            # A NUL in a path is an error in typer's adapter ("embedded null
            # byte"); leave that rare value to it so the message is typer's.
            if type(value) is not str or self.kind is bool or (self.kind is not str and "\x00" in value):
                return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)
            if self.kind is str:
                return value
            return coerce_cli_path(Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx)

        def _coerce_value(self, value: Any, param, ctx) -> Any:
            if not self.many:
                return self._one(value, param, ctx)
            if type(value) not in (list, tuple) or any(type(v) is not str for v in value):
                return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)
            return [self._one(v, param, ctx) for v in value]


def plain_runtime_param(descriptor: Any) -> Any:
    """A pydantic-free coercion for a parameter typed ``str``, ``Path``, ``bool`` or a list of one, else None.

    Parameters with a parser, an enum or choice, a ``path_type`` or a file
    type keep typer's own coercion.
    """
    if RuntimeParam is None:
        return None
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None or getattr(info, "path_type", None):
        return None
    annotation, many = descriptor.annotation, False
    if get_origin(annotation) is list:
        args = get_args(annotation)
        if len(args) != 1:
            return None
        annotation, many = args[0], True
    if annotation not in (str, Path, bool):
        return None
    return _PlainValue(parameter_info=info, annotation=descriptor.annotation, kind=annotation, many=many,
                       descriptor=descriptor)


def _use_plain_coercion(command: Any, ctx: typer.Context) -> None:
    """Give the parameters of a command plain coercion where they allow it (before they are parsed).

    ``get_params`` includes the help option, which is a flag like any other.
    """
    for param in command.get_params(ctx):
        if getattr(param, "_runtime_param", False) is None:  # typer's lazy slot, not built yet
            plain = plain_runtime_param(param.type_descriptor)
            if plain is not None:
                param._runtime_param = plain


class PlainGroup(TyperGroup):
    """A command group whose sub-commands coerce their text and path parameters without pydantic."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        _use_plain_coercion(self, ctx)  # the group's own options (--version)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            _use_plain_coercion(command, ctx)
        return name, command, rest


class OrbatGroup(PlainGroup):
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
    return typer.Typer(cls=PlainGroup, help=help, no_args_is_help=True, rich_markup_mode=None)


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
