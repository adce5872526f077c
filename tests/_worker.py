"""A separate process that imports a generated frame, for the concurrency and crash tests.

    python tests/_worker.py URL PREFIX N SHARED [VARIANT]

imports N sightings ``PREFIX-<i>`` plus SHARED sightings ``shared-<i>`` (the same
in every worker unless VARIANT differs), five entries each, with ``orbat.store``
directly, and prints the import summary as JSON. When ORBAT_TEST_GO names a
file, it waits for that file first, so several workers start together. With
ORBAT_TEST_WORKER_LOADER=1 it imports as ``orbat import`` does
(``orbat.bulkload.import_frame``: a SQLite file through sqlite3 alone).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _frames import make_frame  # noqa: E402

from orbat.errors import OrbatError  # noqa: E402
from orbat.store import open_store  # noqa: E402

EQUIPMENT = ("T-72", "BMP-3", "BTR-82A", "Tigr", "Ural-4320")


def frame(prefix: str, n: int, shared: int, variant: int = 0):
    records = []
    ids = [f"{prefix}-{i}" for i in range(n)] + [f"shared-{i}" for i in range(shared)]
    for k, sid in enumerate(ids):
        for j, name in enumerate(EQUIPMENT):
            records.append({
                "sighting_id": sid, "convoy": f"convoy-{k % 7}", "observed_at": f"2024-{1 + k % 12:02d}-15",
                "place": "Bamako", "lat": 12.6, "lon": -8.0, "actor": "Africa Corps",
                "equipment": name, "count": 1 + (k + j + variant) % 9,
                "source": "shared file" if sid.startswith("shared-") else f"{prefix} file",
                "reliability": "B", "credibility": 2,
            })
    return make_frame(records)


def main(argv: list[str]) -> int:
    url, prefix, n, shared = argv[0], argv[1], int(argv[2]), int(argv[3])
    variant = int(argv[4]) if len(argv) > 4 else 0
    data = frame(prefix, n, shared, variant)
    go = os.environ.get("ORBAT_TEST_GO")
    if go:
        while not Path(go).exists():
            time.sleep(0.01)
    try:
        if os.environ.get("ORBAT_TEST_WORKER_LOADER") == "1":
            from orbat.bulkload import import_frame

            summary = import_frame(url, data, source=f"{prefix}.csv")
        else:
            with open_store(url) as store:
                summary = store.import_frame(data, source=f"{prefix}.csv")
    except OrbatError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(summary.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
