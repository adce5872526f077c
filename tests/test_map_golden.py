"""The map writers' output pinned byte for byte (golden files), so a faster writer changes nothing.

The frame is the Bamako case plus a seeded synthetic archive of a few
hundred sightings (ranges, losses, captors, rows without coordinates,
Cyrillic names) whose notes, places and sources carry hostile text. Set
``ORBAT_REGEN_GOLDEN=1`` to rewrite the golden files after a change that is
meant to change the output (and say why in the commit). The archive is a
committed input file, so adding catalog types changes the golden output only
where a name of that file resolves differently.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

from orbat.formats.geojson import geojson_text
from orbat.formats.kml import kml_bytes
from orbat.maplayers import build_map_layers

GOLDEN = Path(__file__).parent / "data" / "golden"
HOSTILE = [
    'T-72 </name><script>alert(1)</script> ]]> "quoted" \\ back',
    "line one\nline two\ttab & <b>bold</b> 'single'",
    "Кидаль, «кавычки» — тире \u2028 sep \u2029 end ☃ 𝔘",
    "javascript:alert(1)",
    'https://example.org/a?b=1&c="2"',
    "https://t.me/channel/123",
    "   ",
]


INPUT = GOLDEN / "map-input.csv.gz"


@pytest.fixture(scope="module")
def golden_frame(catalog, mali, tmp_path_factory) -> pd.DataFrame:
    """The Bamako case plus the archive in ``map-input.csv.gz``.

    The archive is a committed file, not generated at test time: the
    generator walks the catalog, so a new catalog type would otherwise change
    the input, and with it the golden output, without any writer changing.
    It was made with ``benchmarks.generate.generate(2_000, seed=17)`` and
    one HOSTILE text per sighting in each of notes, place and source
    (:func:`_hostile_archive` rebuilds it: ``ORBAT_REGEN_GOLDEN=input``).
    """
    from orbat.sightings import read_sightings

    if os.environ.get("ORBAT_REGEN_GOLDEN") == "input":
        INPUT.write_bytes(gzip.compress(_hostile_archive(catalog).to_csv(index=False, lineterminator="\n").encode(),
                                        mtime=0))
    path = tmp_path_factory.mktemp("golden") / "archive.csv"
    path.write_bytes(gzip.decompress(INPUT.read_bytes()))
    archive = read_sightings(path, catalog)
    return pd.concat([mali, archive], ignore_index=True)


def _hostile_archive(catalog) -> pd.DataFrame:
    """A seeded synthetic archive whose notes, places and sources carry the HOSTILE texts."""
    from benchmarks.generate import generate

    raw = generate(2_000, seed=17, catalog=catalog)
    # Sighting-level fields must agree on every row of a sighting: one hostile text per sighting.
    codes = pd.Series(pd.factorize(raw["sighting_id"])[0], index=raw.index)
    for i, column in enumerate(("notes", "place", "source")):
        rows = raw.index[(codes + i) % 5 == 0]
        raw.loc[rows, column] = [HOSTILE[(c + i) % len(HOSTILE)] for c in codes[rows]]
    return raw


def _check(name: str, data: bytes) -> None:
    path = GOLDEN / f"{name}.gz"
    if os.environ.get("ORBAT_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data, mtime=0))
    expected = gzip.decompress(path.read_bytes())
    if data != expected:
        at = next(i for i, (a, b) in enumerate(zip(data + b"\0", expected + b"\0")) if a != b)
        pytest.fail(f"{name} differs from its golden file at byte {at}: "
                    f"{data[max(0, at - 80):at + 80]!r} != {expected[max(0, at - 80):at + 80]!r}")


def test_golden_frame_is_realistic(golden_frame, catalog):
    layers = build_map_layers(golden_frame, catalog)
    assert layers.sightings > 250 and layers.unlocated and layers.tracks
    assert {p.event for p in layers.points} >= {"sighting", "destroyed"}
    assert any("</name>" in (p.properties["notes"] or "") for p in layers.points)


def test_geojson_output_is_unchanged(golden_frame, catalog):
    layers = build_map_layers(golden_frame, catalog, filters={"since": "2024-01-01", "actor": None})
    _check("map.geojson", geojson_text(layers).encode("utf-8"))


def test_kml_output_is_unchanged(golden_frame, catalog):
    layers = build_map_layers(golden_frame, catalog)
    _check("map.kml", kml_bytes(layers))
