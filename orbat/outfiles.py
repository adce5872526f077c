"""Output files that appear only once complete.

Every writer of a user's output (report, workbook, GeoJSON, KML, ORBAT
Mapper scenario, the import's rejects file, the Excel entry template)
writes a temporary file beside the target and renames it over the target
at the end, so a failed or interrupted export never leaves half a file
behind, and an existing file is only replaced by a whole one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orbat.errors import OrbatError


@contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; it replaces ``path`` when the block ends without error.

    On any error the temporary file is removed; an ``OSError`` (a full disk,
    a folder without write permission) becomes ``OrbatError("PATH: cannot
    write (REASON)")``, other errors pass through.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OrbatError(f"{path}: cannot write ({exc.strerror})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
