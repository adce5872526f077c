"""Where orbat's data files live, and how YAML is read (safely).

Catalog data (equipment, doctrine, actors) comes from a search path of
folders: the bundled ``catalogs/`` first, then a ``catalogs/`` folder beside
the user's SQLite database, then any file or folder given with ``--catalog``.
Later folders extend earlier ones.

Parsed files can be cached as plain JSON (:func:`cached_records`) in the
user's cache folder, so that a command does not parse and validate the same
YAML on every run. The cache is keyed by the file's path, size and mtime; a
file changed in any way is parsed again, and a cache that cannot be read or
written is simply not used.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from orbat.errors import DataFileError

#: Largest YAML file we agree to parse. Catalogs are small; anything bigger is a mistake.
MAX_YAML_BYTES = 20 * 1024 * 1024
#: Environment variable naming the cache folder; empty, ``0`` or ``off`` turns the cache off.
CACHE_ENV = "ORBAT_CACHE_DIR"
#: Bumped when the layout of a cache file changes.
CACHE_FORMAT = 1
#: A file modified less than this many seconds before it is parsed is not cached: an edit
#: within the file system's timestamp granularity could otherwise keep the same size and mtime.
RACY_SECONDS = 2.0


def bundled_catalog_dir() -> Path:
    """The catalogs shipped with orbat: inside the wheel, or beside a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "catalogs", here.parent / "catalogs"):
        if (candidate / "equipment").is_dir():
            return candidate
    raise DataFileError(f"orbat's bundled catalogs are missing (looked in {here / 'catalogs'})")


def sqlite_path_of(db_url: str | None) -> Path | None:
    """The file behind a SQLite URL or plain path, or None for a server database."""
    if not db_url:
        return None
    if "://" not in db_url:
        return Path(db_url)
    if db_url.startswith("sqlite") and ":///" in db_url:
        rest = db_url.split(":///", 1)[1].split("?", 1)[0]
        return Path(rest) if rest and rest != ":memory:" else None
    return None


#: The words and patterns of the resolution steps, in a catalog folder (ours, or a user's that adds words).
RESOLUTION_FILE = "resolution.yaml"


def beside_database(db_url: str | None, name: str) -> Path | None:
    """``catalogs/NAME`` beside a SQLite database, if that file exists (None for a server or no file)."""
    db_file = sqlite_path_of(db_url)
    if db_file is None:
        return None
    path = db_file.resolve().parent / "catalogs" / name
    return path if path.is_file() else None


def named_files(extra: Iterable[str | os.PathLike], name: str, what: str) -> list[Path]:
    """The files a user passed (a folder means its ``name``); a missing one is a :class:`DataFileError`."""
    found: list[Path] = []
    for item in extra:
        path = Path(item)
        if path.is_dir():
            path = path / name
        if not path.is_file():
            raise DataFileError(f"{path}: {what} file not found")
        found.append(path)
    return found


def catalog_dirs(db_url: str | None = None, extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The search path of catalog folders or files, bundled first, duplicates removed."""
    found: list[Path] = [bundled_catalog_dir()]
    db_file = sqlite_path_of(db_url)
    if db_file is not None:
        beside = db_file.resolve().parent / "catalogs"
        if beside.is_dir():
            found.append(beside)
    for item in extra:
        path = Path(item)
        if not path.exists():
            raise DataFileError(f"{path}: catalog file or folder not found")
        found.append(path)
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def yaml_files(root: Path, sub: str) -> Iterator[Path]:
    """YAML files for one kind of data under a catalog folder, in a stable order."""
    folder = root / sub
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def read_yaml(path: Path) -> Any:
    """Parse one YAML file with the safe loader; errors name the file and line."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_YAML_BYTES:
        raise DataFileError(f"{path}: {size} bytes is too large for a catalog file")
    import yaml  # only when a file is parsed: a cached catalog loads without PyYAML

    # libyaml's safe loader when PyYAML has it (same safe constructors as yaml.safe_load,
    # ~8x faster than the pure-Python SafeLoader).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open("r", encoding="utf-8") as handle:
            return yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(f"{path}:{where}: invalid YAML: {problem}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        # PyYAML's constructors raise plain errors for values such as the date 2024-13-01.
        raise DataFileError(f"{path}: invalid YAML value: {exc}") from None


def pydantic_location(loc: tuple) -> str:
    """'entries[3].crew' from a pydantic error location."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_entry_list(path: Path, model: type, key: str, error: type[DataFileError]) -> list:
    """Validate a YAML file holding a list of entries under ``key`` (or a bare list).

    ``model`` is a pydantic model whose one field ``key`` is that list. Every
    problem is reported at once, each naming the file, the entry (its number
    and id) and the field; ``error`` is raised with them.
    """
    from pydantic import ValidationError

    data = read_yaml(path)
    if data is None:
        return []
    if isinstance(data, list):
        data = {key: data}
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping with {key!r}, found {type(data).__name__}")
    try:
        return getattr(model.model_validate(data), key)
    except ValidationError as exc:
        lines = []
        entries = data.get(key) if isinstance(data.get(key), list) else []
        for err in exc.errors():
            loc = err["loc"]
            where = pydantic_location(loc)
            if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int) and loc[1] < len(entries):
                item = entries[loc[1]]
                ident = item.get("id") if isinstance(item, dict) else None
                field_name = pydantic_location(loc[2:]) or "(entry)"
                where = f"entry {loc[1] + 1}" + (f" ({ident})" if ident else "") + f", field {field_name}"
            lines.append(f"{path}: {where}: {err['msg']}")
        raise error("\n".join(lines)) from None


# --------------------------------------------------------------------------- the cache


def cache_dir() -> Path | None:
    """The folder of orbat's cache, or None when it is turned off.

    ``ORBAT_CACHE_DIR`` if set (empty, ``0`` or ``off``: no cache), else
    ``$XDG_CACHE_HOME/orbat``, else ``~/.cache/orbat``.
    """
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "no", "false") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "orbat"
    try:
        return Path.home() / ".cache" / "orbat"
    except (RuntimeError, KeyError):  # no home folder
        return None


def _stat_key(path: Path) -> list:
    stat = path.stat()
    return [str(path), stat.st_size, stat.st_mtime_ns]


def cached_data(kind: str, files: Iterable[Path], build: Callable[[], Any],
                valid: Callable[[Any], bool], code: Iterable[Path] = ()) -> Any:
    """What ``build()`` makes of some data files, from the cache when it is fresh.

    ``build()`` parses and validates the files and returns plain JSON data;
    it is cached under ``kind`` in :func:`cache_dir`, keyed by every file's
    resolved path, size and mtime and by those of the ``code`` files (the
    modules that define the layout, so a changed orbat never reads an old
    one). The cached copy is used only when the whole key matches and
    ``valid`` accepts it; anything else (no cache yet, a changed file, a
    corrupt or foreign cache file) means ``build()`` runs again. The cache is
    plain JSON, never code or pickle. Writing it is best effort: a read-only
    or missing cache folder just means no cache. Files modified in the last
    :data:`RACY_SECONDS` are not cached, so an edit that keeps a file's size
    within its mtime's granularity cannot be missed.
    """
    folder = cache_dir()
    if folder is None:
        return build()
    try:
        paths = [Path(f).resolve() for f in files]
        key = {"format": CACHE_FORMAT, "kind": kind, "files": [_stat_key(p) for p in paths],
               "code": [_stat_key(Path(c).resolve()) for c in code]}
    except OSError:
        return build()
    # The file is named by its files' paths (a 64-bit checksum: hashlib's import alone costs 2 ms of a
    # 80 ms command); two sets of paths sharing a name only take turns, as the key is checked.
    text = "\0".join([kind, *map(str, paths)]).encode("utf-8", "surrogatepass")
    name = f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"
    target = folder / kind / f"{name}.json"
    try:
        with target.open("rb") as handle:
            stored = json.load(handle)
        if isinstance(stored, dict) and stored.get("key") == key and valid(stored.get("data")):
            return stored["data"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        pass  # no cache yet, or one that cannot be read: build it again
    data = build()
    newest = max((k[2] for k in key["files"] + key["code"]), default=0) / 1e9
    if time.time() - newest >= RACY_SECONDS:
        _write_cache(target, {"key": key, "data": data})
    return data


def read_yaml_cached(path: Path, kind: str) -> Any:
    """:func:`read_yaml` of one file, from the cache (:func:`cached_data`) when it is fresh.

    For files read on every run (the doctrine): PyYAML's import and its
    constructors cost more than the command's own work on a small file, and
    JSON reads the same data back in a fraction of it. Only data that JSON
    gives back exactly is cached (plain mappings with text keys, lists, text,
    numbers, booleans, null); a file with anything else (a date, a number as a
    key, an infinite float) is parsed every time, so what the caller
    validates is always what the YAML says.
    """
    def build() -> dict:
        data = read_yaml(path)
        return {"yaml": data} if _json_exact(data) else {"parse": True}

    cached = cached_data(kind, [path], build, lambda d: isinstance(d, dict) and ("yaml" in d or "parse" in d))
    return cached["yaml"] if "yaml" in cached else read_yaml(path)


def _json_exact(value: Any, depth: int = 0) -> bool:
    """Whether JSON gives ``value`` back as it is: same types (no tuple, date or int key), finite floats."""
    if depth > 100:
        return False
    kind = type(value)
    if value is None or kind in (str, bool, int):
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list:
        return all(_json_exact(v, depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and _json_exact(v, depth + 1) for k, v in value.items())
    return False


def _write_cache(target: Path, data: dict) -> None:
    """Write a cache file atomically (a reader never sees half of it); any failure is ignored."""
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError):
        try:
            tmp.unlink()
        except OSError:
            pass
