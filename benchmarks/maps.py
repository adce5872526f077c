"""Map layers benchmark: 40,000 sightings to GeoJSON (target: about a second) and KML.

    python -m benchmarks.maps                 # 40,000 sightings, 5 repetitions, medians
    python -m benchmarks.maps --sightings 10000 --repeat 3

The sightings are the seeded synthetic archive of :mod:`benchmarks.generate`
(convoys of 1-3 sightings of 3-20 types, about 15 % without coordinates, 6 %
losses), read once with ``read_sightings`` (not timed), cut to the first N
sighting ids. Timed, each in the same process after one warm-up run:

- ``geojson``: ``build_map_layers(frame, catalog)`` + ``write_geojson`` (the target);
- ``kml``: ``build_map_layers`` + ``write_kml`` (informative);
- ``layers``: ``build_map_layers`` alone (informative);
- ``bare``: the floor: a Point feature per located sighting with its id only,
  from the first row of each sighting, ``json.dumps`` to a file;
- ``export``: ``export_map`` on an open SQLite store holding the same
  sightings: reading them back, estimating the moving convoys for the
  tracks, the layers and the file (informative);
- ``cli``: ``orbat export OUT.geojson --db sqlite:///...`` as a user runs it,
  a whole process (start-up included; CPU seconds are the child's).

The library cases leave the estimator out (``make bench``'s estimate step
measures it); ``export`` and ``cli`` include it, as a user waits for it.
The database is filled once with ``import_frame`` (not timed). To time
other code the same way (say, before and after a change), put its tree
first on ``PYTHONPATH``: the benchmark prints which ``orbat`` it timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: Rows generated to have enough sightings (the archive averages about 7 rows a sighting).
ROWS_PER_SIGHTING = 8
TARGET_SECONDS = 1.0


def load_frame(sightings: int, work: Path):
    """The first ``sightings`` sighting ids of a generated archive, as the canonical frame."""
    from benchmarks.generate import generate_csv
    from orbat.catalog import load_catalog
    from orbat.sightings import read_sightings

    csv = work / f"maps-{sightings}.csv"
    if not csv.exists():
        generate_csv(csv, sightings * ROWS_PER_SIGHTING)
    catalog = load_catalog()
    frame = read_sightings(csv, catalog)
    ids = frame["sighting_id"].drop_duplicates().iloc[:sightings]
    return frame[frame["sighting_id"].isin(set(ids))].reset_index(drop=True), catalog


def _bare(frame, out: Path) -> None:
    first = frame.drop_duplicates("sighting_id")
    first = first[first["lat"].notna() & first["lon"].notna()]
    features = [{"type": "Feature", "id": sid, "geometry": {"type": "Point", "coordinates": [lon, lat]},
                 "properties": {"id": sid}}
                for sid, lat, lon in zip(first["sighting_id"].tolist(), first["lat"].tolist(), first["lon"].tolist())]
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def make_database(frame, work: Path) -> str:
    """A SQLite database holding ``frame``'s sightings (as ``orbat import`` would leave it); its URL."""
    from orbat.store import open_store

    url = f"sqlite:///{work / 'maps.db'}"
    with open_store(url) as store:
        store.import_frame(frame, source="benchmarks.maps")
    return url


def orbat_command() -> list[str]:
    """The venv's ``orbat`` console script (``python -m orbat`` without one)."""
    script = Path(sys.executable).with_name("orbat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "orbat"]


def _cli(url: str, out: Path) -> None:
    done = subprocess.run([*orbat_command(), "export", str(out), "--db", url], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"orbat export failed ({done.returncode}): {done.stderr.strip()}")


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (a subprocess case's work is the child's)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _median(run: Callable[[], None], repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (CPU time moves less on a machine shared with other work)."""
    run()  # warm-up: imports, caches
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), _cpu()
        run()
        wall.append(time.perf_counter() - started)
        cpu.append(_cpu() - started_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.maps", description=__doc__.splitlines()[0])
    parser.add_argument("--sightings", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import orbat
    from orbat.doctrine import load_doctrine
    from orbat.formats.geojson import write_geojson
    from orbat.formats.kml import write_kml
    from orbat.maplayers import build_map_layers, export_map
    from orbat.store import open_store

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="orbat-maps-") as tmp:
        work = Path(tmp)
        frame, catalog = load_frame(args.sightings, work)
        layers = build_map_layers(frame, catalog)
        url = make_database(frame, work)
        doctrine = load_doctrine()

        def export() -> None:
            with open_store(url, must_exist=True) as store:
                export_map(store, catalog, work / "e.geojson", doctrine=doctrine)

        cases = {
            "geojson": lambda: write_geojson(build_map_layers(frame, catalog), work / "m.geojson"),
            "kml": lambda: write_kml(build_map_layers(frame, catalog), work / "m.kml"),
            "layers": lambda: build_map_layers(frame, catalog),
            "bare": lambda: _bare(frame, work / "bare.geojson"),
            "export": export,
            "cli": lambda: _cli(url, work / "c.geojson"),
        }
        seconds = {name: _median(run, args.repeat) for name, run in cases.items()}
        sizes = {name: (work / f).stat().st_size for name, f in
                 (("geojson", "m.geojson"), ("kml", "m.kml"), ("bare", "bare.geojson"), ("export", "e.geojson"),
                  ("cli", "c.geojson"))}
    print(f"{args.sightings:,} sightings, {len(frame):,} rows: {layers.summary}; "
          f"medians of {args.repeat} runs; orbat from {Path(orbat.__file__).parent.parent}")
    print("| case | seconds | CPU seconds | x bare (CPU) | MB | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, (wall, cpu) in seconds.items():
        target = f"about {TARGET_SECONDS:g} s: {'met' if wall <= TARGET_SECONDS * 1.25 else 'NOT met'}" \
            if name == "geojson" else "-"
        size = f"{sizes[name] / 1e6:.1f}" if name in sizes else ""
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {cpu / seconds['bare'][1]:.1f} | {size} | {target} |")
    print(f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end, on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
