"""Seeded synthetic sightings in the interchange format, at any size.

The data looks like a team's archive rather than like noise, because the cost
of every orbat step depends on what the data looks like (distinct names,
distinct dates, how many rows a sighting has):

- convoys of 1-3 sightings (videos and photos of the same column) on one day;
  the sightings of one convoy see overlapping sets of 3-20 equipment types;
- equipment written as analysts write it: the catalog's display names and its
  aliases, Latin and Cyrillic (``Т-72Б3``, ``БТР-82А``);
- counts with ranges (``count`` .. ``count_max``), Admiralty grades, places
  with coordinates, sources (URLs and free text), notes with commas, quotes,
  Cyrillic and the odd formula-looking text pasted from the internet;
- about 6 % loss events (destroyed, damaged, abandoned, captured with a captor),
  Oryx style: one to three vehicles, no convoy.

Everything is drawn from ``numpy.random.default_rng(seed)`` and the bundled
catalog in its file order, so one seed gives the same file byte for byte.
Generation is vectorised: a million rows take a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from orbat.sightings import COLUMNS

#: Sightings per convoy and their probabilities.
SIGHTINGS_PER_CONVOY = (1, 2, 3)
SIGHTINGS_PER_CONVOY_P = (0.5, 0.3, 0.2)
#: Equipment types per convoy sighting.
MIN_TYPES, MAX_TYPES = 3, 20
#: Share of loss sightings (one per this many convoy sightings, about).
LOSS_SHARE = 0.06
LOSS_EVENTS = ("destroyed", "damaged", "abandoned", "captured")
FIRST_DAY = dt.date(2022, 2, 24)
LAST_DAY = dt.date(2025, 6, 30)

#: Places with their coordinates (lat, lon); text with commas and non-Latin script on purpose.
PLACES: tuple[tuple[str, float, float], ...] = (
    ("Bamako", 12.6392, -8.0029),
    ("Bamako south-western outskirts", 12.545, -8.1205),
    ("Kati, Koulikoro region", 12.7441, -8.0726),
    ("Gao", 16.2666, -0.0400),
    ("Kidal", 18.4411, 1.4078),
    ("Tessalit", 20.2011, 1.0111),
    ("Tombouctou (Timbuktu)", 16.7666, -3.0026),
    ("Ménaka", 15.9182, 2.4022),
    ("Niamey", 13.5116, 2.1254),
    ("Ouagadougou", 12.3714, -1.5197),
    ("Bakhmut", 48.5956, 37.9999),
    ("Авдіївка", 48.1394, 37.7497),
    ("Tokmak, Zaporizhzhia oblast", 47.2551, 35.7059),
    ("Kreminna", 49.0469, 38.2172),
    ("Бахмут, трасса Т-0513", 48.6010, 38.0215),
)
#: Actors as analysts write them (names and aliases of catalogs/actors.yaml).
ACTORS: tuple[str, ...] = (
    "Africa Corps", "Wagner", "ЧВК Вагнер", "Wagner Group", "FAMa", "Malian Armed Forces",
    "Russian Armed Forces", "ВС РФ", "FLA", "JNIM", "Niger Armed Forces", "Burkina Faso Armed Forces",
    "Ukrainian Armed Forces", "",
)
CAPTORS: tuple[str, ...] = ("FLA", "JNIM", "ISSP", "Ukrainian Armed Forces", "CSP-DPA")
CHANNELS: tuple[str, ...] = ("capmali", "wammaf", "oryxspioenkop", "rybar", "milinfolive", "sahel_intel")
SOURCE_TEXT: tuple[str, ...] = (
    "Cap Mali+ video of the column, over 30 minutes",
    'photo shared on social media, "same day"',
    "local witness via WhatsApp; not verified",
    "видео очевидца, Telegram",
    "satellite image (Planet), low resolution",
)
NOTES: tuple[str, ...] = (
    "cope cage against drones fitted",
    'marked "Z" on the hull, fresh paint',
    "plate reads МТО-УБ1",
    "Cyrillic marking Скорая Медицинская Помощь",
    "towing a trailer, two crew visible",
    "partly hidden by dust; count uncertain",
    'gun barrel covered, "V" marking',
    "on low-loaders, tarpaulin over the turret",
    "desert camouflage, Malian flag",
    "номер 221, белая полоса",
    "- left track damaged",
    '=HYPERLINK("http://example.com/x","click")',
)
#: Share of rows with a note; of a count range; of carried vehicles.
NOTE_SHARE, RANGE_SHARE, CARRIED_SHARE = 0.3, 0.25, 0.04
#: Typical counts of one type in one sighting (trucks come in dozens, SAMs in ones).
COUNT_CHOICES = np.array([1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 6, 8, 10, 12, 14, 16, 20, 24, 30, 40])


def _catalog_names(catalog) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every name of every entry, flat, with each entry's offset and number of names."""
    names: list[str] = []
    offsets, counts = [], []
    for entry in catalog:
        offsets.append(len(names))
        counts.append(len(entry.names))
        names.extend(entry.names)
    return names, np.array(offsets), np.array(counts)


def _coprime_steps(n: int) -> np.ndarray:
    """Steps d with gcd(d, n) = 1: ``a + j*d (mod n)`` then visits distinct types for j < n."""
    return np.array([d for d in range(1, n) if math.gcd(d, n) == 1])


def generate(rows: int | None = None, *, convoys: int | None = None, seed: int = 0, catalog=None) -> pd.DataFrame:
    """A sightings table in the interchange format (``orbat.sightings.COLUMNS``), as text.

    Give ``rows`` for exactly that many rows (the last sighting may have
    fewer types than drawn), or ``convoys`` for that many convoys (plus about
    6 % loss sightings). ``catalog`` defaults to the bundled catalog. Missing
    values are ``""``; counts are text too, as a file would hold them.
    """
    if (rows is None) == (convoys is None):
        raise ValueError("give rows or convoys, not both")
    if rows is not None and rows < 1 or convoys is not None and convoys < 1:
        raise ValueError("rows and convoys must be at least 1")
    if catalog is None:
        from orbat.catalog import load_catalog

        catalog = load_catalog()
    names, name_offsets, name_counts = _catalog_names(catalog)
    n_types = len(name_offsets)
    steps = _coprime_steps(n_types)
    rng = np.random.default_rng(seed)

    # Enough convoys for the rows asked (about 12 rows per convoy), drawn once.
    n_conv = convoys if convoys is not None else max(1, math.ceil(rows / 8) + 10)
    per_convoy = rng.choice(SIGHTINGS_PER_CONVOY, size=n_conv, p=SIGHTINGS_PER_CONVOY_P)
    conv_of = np.repeat(np.arange(n_conv), per_convoy)
    n_conv_sightings = len(conv_of)
    n_loss = int(round(n_conv_sightings * LOSS_SHARE))
    n_sight = n_conv_sightings + n_loss
    is_loss = np.zeros(n_sight, dtype=bool)
    is_loss[n_conv_sightings:] = True

    # Per convoy: a day, a place, an actor, a walk through the catalog (start, step).
    days_span = (LAST_DAY - FIRST_DAY).days
    conv_day = rng.integers(0, days_span + 1, size=n_conv)
    conv_place = rng.integers(0, len(PLACES), size=n_conv)
    conv_actor = rng.integers(0, len(ACTORS), size=n_conv)
    conv_start = rng.integers(0, n_types, size=n_conv)
    conv_step = steps[rng.integers(0, len(steps), size=n_conv)]
    loss_day = rng.integers(0, days_span + 1, size=n_loss)

    day = np.concatenate([conv_day[conv_of], loss_day])
    place = np.concatenate([conv_place[conv_of], rng.integers(0, len(PLACES), size=n_loss)])
    actor = np.concatenate([conv_actor[conv_of], rng.integers(0, len(ACTORS), size=n_loss)])
    start = np.concatenate([conv_start[conv_of], rng.integers(0, n_types, size=n_loss)])
    step = np.concatenate([conv_step[conv_of], steps[rng.integers(0, len(steps), size=n_loss)]])
    # Types seen: a convoy's sightings walk the same sequence, so they overlap (the same column).
    k = np.concatenate([
        np.clip(MIN_TYPES + rng.geometric(0.17, size=n_conv_sightings) - 1, MIN_TYPES, MAX_TYPES),
        rng.integers(1, 4, size=n_loss),
    ])
    k = np.minimum(k, n_types)
    # An archive is in date order; sightings of one day keep their convoy together.
    order = np.lexsort((np.arange(n_sight), day))
    day, place, actor, start, step, k, is_loss = (a[order] for a in (day, place, actor, start, step, k, is_loss))
    convoy_no = np.concatenate([conv_of, np.full(n_loss, -1)])[order]

    if rows is not None:
        ends = np.cumsum(k)
        if ends[-1] < rows:  # too few drawn: extremely unlikely; draw more from the next seed
            more = generate(rows - int(ends[-1]), seed=seed + 1_000_003, catalog=catalog)
            return pd.concat([generate(int(ends[-1]), seed=seed, catalog=catalog), more], ignore_index=True)
        last = int(np.searchsorted(ends, rows))
        k = k[: last + 1].copy()
        k[-1] -= int(ends[last] - rows)
        day, place, actor, start, step, is_loss, convoy_no = (
            a[: last + 1] for a in (day, place, actor, start, step, is_loss, convoy_no))
    n_sight = len(k)
    total = int(k.sum())

    # ---- sighting-level text
    sid_no = np.arange(n_sight)
    sighting_id = np.array([f"s{seed}-{i:07d}" for i in sid_no], dtype=object)
    convoy = np.array([f"convoy-{c:06d}" if c >= 0 else "" for c in convoy_no], dtype=object)
    hour = rng.integers(0, 24, size=n_sight)
    minute = rng.integers(0, 60, size=n_sight)
    timed = rng.random(n_sight) < 0.25
    zoned = rng.random(n_sight) < 0.2
    base = FIRST_DAY.toordinal()
    observed = np.array([
        (dt.date.fromordinal(base + int(d)).isoformat()
         + (f"T{h:02d}:{m:02d}:00" + ("+03:00" if z else "") if t else ""))
        for d, h, m, t, z in zip(day, hour, minute, timed, zoned)
    ], dtype=object)
    place_names = np.array([p[0] for p in PLACES], dtype=object)
    place_lat = np.array([p[1] for p in PLACES])
    place_lon = np.array([p[2] for p in PLACES])
    located = rng.random(n_sight) < 0.85
    lat = np.where(located, place_lat[place] + rng.normal(0, 0.02, n_sight), np.nan)
    lon = np.where(located, place_lon[place] + rng.normal(0, 0.02, n_sight), np.nan)
    lat_text = np.array(["" if v != v else f"{v:.6f}" for v in lat], dtype=object)
    lon_text = np.array(["" if v != v else f"{v:.6f}" for v in lon], dtype=object)
    url = rng.random(n_sight) < 0.7
    channel = rng.integers(0, len(CHANNELS), size=n_sight)
    post = rng.integers(1000, 99999, size=n_sight)
    source_pick = rng.integers(0, len(SOURCE_TEXT), size=n_sight)
    source = np.array([
        f"https://t.me/{CHANNELS[c]}/{p}" if u else SOURCE_TEXT[s]
        for u, c, p, s in zip(url, channel, post, source_pick)
    ], dtype=object)
    graded = rng.random(n_sight) < 0.9
    reliability = np.where(graded, np.array(list("ABCDEF"))[rng.choice(6, n_sight, p=[.05, .3, .35, .15, .05, .1])], "")
    credibility = np.where(graded, rng.choice(np.array(["1", "2", "3", "4", "5", "6"]), n_sight,
                                              p=[.1, .3, .35, .15, .05, .05]), "")
    event_s = np.where(
        is_loss,
        np.array(LOSS_EVENTS, dtype=object)[rng.integers(0, len(LOSS_EVENTS), n_sight)],
        np.array(["", "sighting", "arrival"], dtype=object)[rng.choice(3, n_sight, p=[.7, .25, .05])],
    )

    # ---- rows
    sight = np.repeat(np.arange(n_sight), k)
    within = np.arange(total) - np.repeat(np.cumsum(k) - k, k)
    etype = (start[sight] + within * step[sight]) % n_types
    use_alias = (rng.random(total) < 0.45) & (name_counts[etype] > 1)
    alias_no = 1 + rng.integers(0, 1 << 30, size=total) % np.maximum(name_counts[etype] - 1, 1)
    name_index = name_offsets[etype] + np.where(use_alias, alias_no, 0)
    equipment = np.array(names, dtype=object)[name_index]
    loss_row = is_loss[sight]
    count = np.where(loss_row, rng.integers(1, 3, size=total), rng.choice(COUNT_CHOICES, size=total))
    ranged = ~loss_row & (rng.random(total) < RANGE_SHARE)
    count_max = np.where(ranged, count + rng.integers(1, 5, size=total), 0)
    mode = np.array(["driven", "", "carried"], dtype=object)[
        np.where(rng.random(total) < CARRIED_SHARE, 2, rng.integers(0, 2, size=total))]
    noted = rng.random(total) < NOTE_SHARE
    # formula-looking notes are rare, as in real pasted text
    note_pick = np.minimum(rng.integers(0, len(NOTES) * 40, size=total) // 40, len(NOTES) - 1)
    note_pick = np.where(note_pick == len(NOTES) - 1, np.where(rng.random(total) < 0.05, note_pick, 0), note_pick)
    notes = np.where(noted, np.array(NOTES, dtype=object)[note_pick], "")
    event = event_s[sight]
    captor = np.where(event == "captured", np.array(CAPTORS, dtype=object)[rng.integers(0, len(CAPTORS), total)], "")

    def text(values) -> np.ndarray:
        return np.asarray(values, dtype=object)

    frame = pd.DataFrame({
        "sighting_id": text(sighting_id[sight]),
        "convoy": text(convoy[sight]),
        "observed_at": text(observed[sight]),
        "place": text(place_names[place][sight]),
        "lat": text(lat_text[sight]),
        "lon": text(lon_text[sight]),
        "actor": text(np.array(ACTORS, dtype=object)[actor][sight]),
        "equipment": text(equipment),
        "count": text(count.astype(str)),
        "count_max": text(np.where(ranged, count_max.astype(str), "")),
        "mode": text(mode),
        "source": text(source[sight]),
        "reliability": text(reliability[sight]),
        "credibility": text(credibility[sight]),
        "notes": text(notes),
        "event": text(event),
        "captor": text(captor),
    }, columns=list(COLUMNS))
    return frame


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a generated table as UTF-8 CSV (quoted where needed), as a user's file would be."""
    path = Path(path)
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def generate_csv(path: str | os.PathLike, rows: int | None = None, *, convoys: int | None = None,
                 seed: int = 0, catalog=None) -> Path:
    """:func:`generate` straight to a CSV file; returns its path."""
    return write_csv(generate(rows, convoys=convoys, seed=seed, catalog=catalog), path)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.generate OUT.csv --rows N [--seed S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generate",
        description="Write seeded synthetic sightings (interchange format CSV).",
        epilog="Example: python -m benchmarks.generate /tmp/sightings-100k.csv --rows 100000 --seed 1",
    )
    parser.add_argument("out", type=Path, help="CSV file to write")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--rows", type=int, help="exactly this many rows")
    size.add_argument("--convoys", type=int, help="this many convoys (plus about 6%% loss sightings)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    frame = generate(args.rows, convoys=args.convoys, seed=args.seed)
    write_csv(frame, args.out)
    print(f"{args.out}: {len(frame):,} rows, {frame['sighting_id'].nunique():,} sightings, "
          f"{frame.loc[frame['convoy'] != '', 'convoy'].nunique():,} convoys")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
