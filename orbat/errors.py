"""Typed errors. Each class's docstring is its generic message.

Everything a user can cause derives from :class:`OrbatError`; the CLI renders
these once, at its edge, as a message on stderr and an exit code, never a
traceback. Anything else is a bug in orbat and keeps its traceback.
"""

from __future__ import annotations


class OrbatError(Exception):
    """orbat could not do what was asked."""

    exit_code = 1

    def __init__(self, message: str | None = None):
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(OrbatError):
    """The command was given arguments that do not fit together."""

    exit_code = 2


class DataFileError(OrbatError):
    """A data file (YAML catalog, doctrine or actor list) is malformed."""


class InvalidCatalog(DataFileError):
    """An equipment catalog file does not validate."""


class InvalidDoctrine(DataFileError):
    """A doctrine file does not validate."""


class UnknownEquipment(OrbatError):
    """No catalog entry has that name or alias."""

    def __init__(self, name: str, suggestions: list[str] | None = None):
        self.name = name
        self.suggestions = list(suggestions or [])
        hint = ""
        if self.suggestions:
            hint = " (did you mean " + ", ".join(self.suggestions) + "?)"
        super().__init__(f"unknown equipment {name!r}{hint}")


class UnknownActor(OrbatError):
    """No actor has that name or alias."""


class InputFileError(OrbatError):
    """An input file cannot be read at all (encoding, format, size)."""


class InvalidSightings(OrbatError):
    """Some rows of a sightings file are invalid; nothing was imported.

    ``problems`` holds one :class:`orbat.sightings.Problem` per invalid cell
    or row, each naming file, row (as Excel numbers it), column and what was
    expected.
    """

    def __init__(self, problems: list, source: str | None = None):
        self.problems = list(problems)
        self.source = source
        shown = [str(p) for p in self.problems[:50]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problems")
        head = f"{len(self.problems)} invalid " + ("entry" if len(self.problems) == 1 else "entries")
        if source:
            head += f" in {source}"
        super().__init__(head + "; nothing was imported:\n" + "\n".join(shown))


class SightingNotFound(OrbatError):
    """No sighting has that id."""


class DatabaseError(OrbatError):
    """The database cannot be used."""


class SchemaTooNew(DatabaseError):
    """The database was written by a newer orbat; upgrade orbat to use it."""


class WorkerFailed(OrbatError):
    """A worker process of ``--jobs`` failed; nothing more was written."""
