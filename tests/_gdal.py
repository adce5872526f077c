"""GDAL's command-line readers (Debian ``gdal-bin``) for the map tests: what QGIS reads a file with.

Skipped when ``ogrinfo`` is not installed, except in CI (env ``CI`` set), where
a missing GDAL is a failure: ``.ci/run`` installs ``gdal-bin``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def tool(name: str, package: str = "gdal-bin") -> str:
    """The path of a command-line tool; skip (fail in CI) when its Debian ``package`` is not installed."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed: apt-get install -y --no-install-recommends {package}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(name: str, *args: str | Path) -> str:
    result = subprocess.run([tool(name), *map(str, args)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def layers(path: Path) -> dict[str, dict[str, str]]:
    """``ogrinfo -so -al``: per layer, its driver-reported ``Geometry``, ``Feature Count`` and field types."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in run("ogrinfo", "-ro", "-so", "-al", path).splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key == "Layer name":
            current = out[value] = {}
        elif key in ("Geometry", "Feature Count") or (" (" in value and not line.startswith(" ")):
            current[key] = value
    return out


def features(path: Path, layer: str | None = None) -> list[dict]:
    """Every feature as GDAL reads it (converted by ``ogr2ogr -f GeoJSON`` to stdout)."""
    text = run("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", path, *([layer] if layer else []))
    return json.loads(text)["features"]


def to_csv(path: Path, tmp: Path, layer: str | None = None) -> list[dict[str, str]]:
    """The file converted by ``ogr2ogr -f CSV`` (geometry as WKT), read back as records."""
    out = tmp / f"{path.stem}-{layer or 'all'}.csv".replace(" ", "_")
    out.unlink(missing_ok=True)
    run("ogr2ogr", "-f", "CSV", out, path, *([layer] if layer else []), "-lco", "GEOMETRY=AS_WKT")
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(io.StringIO(handle.read())))
