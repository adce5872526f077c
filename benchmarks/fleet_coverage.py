"""Coverage of `orbat fleet`'s intervals on simulated fleets, and the time it takes on many marked rows.

    .venv/bin/python -m benchmarks.fleet_coverage              # 4,000 fleets a case, ~1 min on 2 CPUs
    .venv/bin/python -m benchmarks.fleet_coverage --fleets 20000 --markdown

A fleet of known size N is simulated, identifiers are "seen" the way each
method assumes, and the share of intervals holding N is counted: the
nominal level is what an analyst is told, the coverage what they get.

- serial: N numbered 1..N, k distinct serials drawn at random;
- capture-recapture: every vehicle seen in period 1 with probability p1 and
  in period 2 with p2 (p drawn per fleet); fleets with fewer than 3
  re-sighted have no interval and are counted apart ("no interval").

The issue's cases (#19): serial fleets of 20-200 with 6-15 serials seen,
marked fleets of 30-150 seen in two periods, judged at 85-95 % for 90 %
intervals. The wider cases show where the methods stop holding.
Also timed: :func:`orbat.fleet.fleet_estimates` over a frame of many marked
rows (seeded), the cost `orbat fleet` and the report add to a large database.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import asdict, dataclass

from orbat.fleet import chapman_interval, serial_interval

#: (name, fleet sizes, serials seen) for the serial method.
SERIAL_CASES = (
    ("issue: N 20-200, k 6-15", (20, 200), (6, 15)),
    ("few serials: N 20-200, k 2-5", (20, 200), (2, 5)),
    ("large: N 200-5000, k 10-40", (200, 5000), (10, 40)),
)
#: (name, fleet sizes, sighting probability per period) for capture-recapture.
CR_CASES = (
    ("issue: N 30-150, p 0.3-0.6", (30, 150), (0.3, 0.6)),
    ("sparse: N 30-150, p 0.1-0.3", (30, 150), (0.1, 0.3)),
    ("dense: N 30-150, p 0.6-0.9", (30, 150), (0.6, 0.9)),
)
LEVELS = (0.8, 0.9, 0.95)


@dataclass
class Coverage:
    method: str
    case: str
    level: float
    fleets: int
    coverage: float
    no_interval: int
    median_relative_width: float  #: (high - low) / N
    mean_relative_error: float  #: (estimate - N) / N: the bias


def serial_coverage(case: str, sizes, seen, level: float, fleets: int, seed: int) -> Coverage:
    rng = random.Random(seed)
    covered, widths, errors = 0, [], []
    for _ in range(fleets):
        size = rng.randint(*sizes)
        found = serial_interval(rng.sample(range(1, size + 1), min(rng.randint(*seen), size)), level)
        covered += found.low <= size <= found.high
        widths.append((found.high - found.low) / size)
        errors.append((found.estimate - size) / size)
    return Coverage("serial", case, level, fleets, covered / fleets, 0, statistics.median(widths),
                    statistics.fmean(errors))


def cr_coverage(case: str, sizes, chance, level: float, fleets: int, seed: int) -> Coverage:
    rng = random.Random(seed)
    covered = judged = none = 0
    widths, errors = [], []
    for _ in range(fleets):
        size = rng.randint(*sizes)
        p1, p2 = rng.uniform(*chance), rng.uniform(*chance)
        first = {v for v in range(size) if rng.random() < p1}
        second = {v for v in range(size) if rng.random() < p2}
        found = chapman_interval(len(first), len(second), len(first & second), level)
        errors.append((found.estimate - size) / size)
        if found.low is None:
            none += 1
            continue
        judged += 1
        covered += found.low <= size <= found.high
        widths.append((found.high - found.low) / size)
    return Coverage("capture-recapture", case, level, judged, covered / judged if judged else float("nan"), none,
                    statistics.median(widths) if widths else float("nan"), statistics.fmean(errors))


def time_fleet_estimates(rows: int, seed: int) -> dict:
    """Seconds for fleet_estimates over ``rows`` marked rows (half serial TB2s, half tactical numbers)."""
    import numpy as np
    import pandas as pd

    from orbat.catalog import load_catalog
    from orbat.sightings import CANONICAL_COLUMNS

    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    half = rows // 2
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    serial = [f"TZ-{n:02d}D" for n in rng.integers(1, 500, half)]
    tactical = [f"{a};{b}" for a, b in rng.integers(100, 999, (rows - half, 2))]
    frame = pd.DataFrame({c: pd.Series([None] * rows, dtype="str") for c in CANONICAL_COLUMNS})
    frame["sighting_id"] = [f"s{i}" for i in range(rows)]
    frame["observed_at"] = days.strftime("%Y-%m-%d")
    frame["actor"] = rng.choice(["FAMa", "Wagner", "Africa Corps"], rows)
    frame["equipment_id"] = ["bayraktar-tb2"] * half + ["t-72b3"] * (rows - half)
    frame["equipment"] = frame["equipment_id"]
    frame["markings"] = serial + tactical
    frame["count"] = 2
    from orbat.fleet import fleet_estimates

    start = time.perf_counter()
    found = fleet_estimates(frame, catalog)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
            "estimates": len(found.estimates)}


def run(fleets: int, seed: int, timing_rows: int) -> dict:
    results = []
    for i, (case, sizes, seen) in enumerate(SERIAL_CASES):
        for level in LEVELS:
            results.append(serial_coverage(case, sizes, seen, level, fleets, seed + i))
    for i, (case, sizes, chance) in enumerate(CR_CASES):
        for level in LEVELS:
            results.append(cr_coverage(case, sizes, chance, level, fleets, seed + 100 + i))
    return {"seed": seed, "fleets_per_case": fleets, "coverage": [asdict(r) for r in results],
            "timing": time_fleet_estimates(timing_rows, seed) if timing_rows else None}


def markdown(data: dict) -> str:
    lines = [f"Fleets per case: {data['fleets_per_case']:,} (seed {data['seed']}).", "",
             "| method | case | level | coverage | no interval | median width / N | mean bias |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in data["coverage"]:
        lines.append(f"| {r['method']} | {r['case']} | {r['level']:.0%} | {r['coverage']:.1%} | "
                     f"{r['no_interval']:,} | {r['median_relative_width']:.2f} | {r['mean_relative_error']:+.1%} |")
    timing = data.get("timing")
    if timing:
        lines += ["", f"`fleet_estimates` over {timing['rows']:,} marked rows: {timing['seconds']} s "
                      f"({timing['rows_per_s']:,} rows/s, {timing['estimates']} estimates)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet_coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--fleets", type=int, default=4000, help="simulated fleets per case and level")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--timing-rows", type=int, default=200_000, help="marked rows to time (0: skip)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table instead of JSON")
    args = parser.parse_args(argv)
    data = run(args.fleets, args.seed, args.timing_rows)
    print(markdown(data) if args.markdown else json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
