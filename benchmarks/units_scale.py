"""How long the units analysis takes at scale: `.venv/bin/python -m benchmarks.units_scale [ROWS] [UNITS]`.

A synthetic canonical frame (default 100,000 rows, 500 named units, a fifth
of the rows naming none) goes through the register (name rules), the figures
per unit, the tree and the ORBAT Mapper scenario. Prints seconds per stage.
Not part of the test suite: speed is measured, never asserted.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd


def synthetic_frame(rows: int, units: int, seed: int = 1) -> pd.DataFrame:
    from orbat.store import canonical_frame

    rng = np.random.default_rng(seed)
    names = [f"{i}th Separate Motor Rifle Brigade" if i % 3 else f"{i}th Guards Tank Regiment"
             for i in range(1, units + 1)]
    types = {"T-72B3": "t-72b3", "BMP-2": "bmp-2", "Ural-4320": "ural-4320", "BTR-82A": "btr-82a"}
    equipment = rng.choice(list(types), rows)
    raw = pd.DataFrame({
        "sighting_id": [f"s{i // 3}" for i in range(rows)], "convoy": [f"c{i // 30}" for i in range(rows)],
        "observed_at": "2022-03-01", "equipment": equipment, "equipment_id": [types[e] for e in equipment],
        "count": rng.integers(1, 5, rows), "mode": "driven",
        "event": rng.choice(["sighting", "arrival", "destroyed", "damaged", "captured"], rows),
        "unit": rng.choice(np.array(names + [None] * (units // 4), dtype=object), rows), "actor": "Russia"})
    return canonical_frame(raw.drop_duplicates(["sighting_id", "equipment_id"]))


def main(argv: list[str]) -> int:
    from orbat.catalog import load_catalog
    from orbat.formats.orbat_mapper import scenario
    from orbat.units import Orbat, build_register, load_unit_rules, tree_text

    rows = int(argv[0]) if argv else 100_000
    units = int(argv[1]) if len(argv) > 1 else 500
    frame = synthetic_frame(rows, units)
    catalog = load_catalog()
    times = {}
    start = time.perf_counter()
    register = build_register(load_unit_rules(), named=frame)
    times["register"] = time.perf_counter() - start
    start = time.perf_counter()
    orbat = Orbat(register, frame)
    orbat.equipment()
    times["figures"] = time.perf_counter() - start
    start = time.perf_counter()
    tree_text(orbat.tree())
    times["tree"] = time.perf_counter() - start
    start = time.perf_counter()
    scenario(orbat.sides(catalog), name="benchmark")
    times["scenario"] = time.perf_counter() - start
    print(f"{len(frame):,} rows, {len(register)} units: "
          + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
