"""The observation model: how a sighting's counts relate to the unit that was seen.

An observer sees a unit partially and noisily:

- **detection** below 1: some vehicles are out of frame or hidden (70-100 %
  of a column is the usual range of a video or a photo series);
- **naming level**: a vehicle is named as a type (``T-72B3``), a family
  (``T-72``) or only a category (``tank``);
- **misidentification**: a vehicle is taken for a neighbouring kind (an IFV
  for an APC, a self-propelled gun for a tank), more often from a less
  reliable source;
- **count error**: the number written is off, more so when the information's
  credibility is low; a count may be given as a range;
- **repeated sightings** of one convoy see the same vehicles again.

The sources' Admiralty grades set how noisy: reliability (A-F) the
misidentification rate, credibility (1-6) the relative count error. Grade F
and 6 ("cannot be judged") and a missing grade are not treated as good: they
take the noise of a middling source. The numbers are data (the tables
below), used both by the estimator (how much to trust a convoy's evidence)
and by :mod:`orbat.calibration` (drawing perturbed doctrinal cases).
"""

from __future__ import annotations

import numpy as np

#: The least share of a unit's vehicles one expects a sighting to show (detection is 70-100 %).
MIN_DETECTION = 0.7

#: Per reliability grade, the share of vehicles a source misidentifies (F: cannot be judged; None: no grade).
MISIDENTIFICATION: dict[str | None, float] = {
    "A": 0.02, "B": 0.04, "C": 0.08, "D": 0.14, "E": 0.22, "F": 0.11, None: 0.11,
}
#: Per credibility grade, the relative standard error of a written count (6: cannot be judged; None: no grade).
COUNT_ERROR: dict[int | None, float] = {
    1: 0.03, 2: 0.06, 3: 0.10, 4: 0.16, 5: 0.24, 6: 0.12, None: 0.12,
}
#: Categories an observer confuses, each with its neighbours (a misidentified vehicle becomes one of them).
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "tank": ("ifv", "sp-artillery"),
    "ifv": ("apc", "tank"),
    "apc": ("ifv", "mrap"),
    "mrap": ("apc", "recon"),
    "recon": ("mrap", "apc"),
    "sp-artillery": ("tank", "towed-artillery"),
    "towed-artillery": ("sp-artillery", "mortar"),
    "mortar": ("towed-artillery",),
    "mrl": ("cargo-truck", "sam"),
    "sam": ("radar", "mrl"),
    "radar": ("sam", "command"),
    "aa-gun": ("sam", "technical"),
    "ew": ("command", "radar"),
    "command": ("ew", "cargo-truck"),
    "engineering": ("repair", "cargo-truck"),
    "repair": ("engineering", "cargo-truck"),
    "cargo-truck": ("fuel-truck", "command"),
    "fuel-truck": ("cargo-truck",),
    "transporter": ("cargo-truck",),
    "ambulance": ("bus", "utility"),
    "bus": ("ambulance",),
    "utility": ("technical",),
    "technical": ("utility", "mrap"),
    "motorcycle": ("utility",),
    "helicopter": ("aircraft", "uav"),
    "aircraft": ("helicopter", "uav"),
    "uav": ("aircraft",),
    "boat": (),
}


def misidentification(reliability) -> np.ndarray:
    """Per row, the misidentification rate of its reliability grade (unknown letters as "cannot be judged")."""
    table = {k: v for k, v in MISIDENTIFICATION.items() if k is not None}
    default = MISIDENTIFICATION[None]
    codes, uniques = _factorize(reliability)
    return np.array([table.get(str(u).upper(), default) if u is not None else default for u in uniques]
                    + [default], dtype=np.float64)[codes]


def count_error(credibility) -> np.ndarray:
    """Per row, the relative count error of its credibility grade (missing as "cannot be judged")."""
    default = COUNT_ERROR[None]
    codes, uniques = _factorize(credibility)
    out = []
    for u in uniques:
        try:
            out.append(COUNT_ERROR.get(int(u), default))
        except (TypeError, ValueError):
            out.append(default)
    return np.array(out + [default], dtype=np.float64)[codes]


def _factorize(values) -> tuple[np.ndarray, list]:
    """Codes of ``values`` and their distinct values (missing ones as None, coded -1)."""
    import pandas as pd

    if isinstance(values, pd.Series) and pd.api.types.is_numeric_dtype(values.dtype):
        codes, uniques = pd.factorize(values)  # (an Int64 grade column, coded as numbers: no Python objects)
    else:
        codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object))
    return codes, [None if pd.isna(u) else u for u in uniques]


def evidence_noise(misidentified: np.ndarray, count_err: np.ndarray) -> np.ndarray:
    """How far a convoy's evidence may mislead, 0..1, from its mean misidentification rate and count error.

    A misidentified vehicle moves a count from one category to another; a
    count error moves the size. Both enter one number, which the estimator
    turns into the chance that the evidence, read right, still points at the
    wrong unit (see :func:`trust`).
    """
    return np.clip(np.asarray(misidentified) + 0.5 * np.asarray(count_err), 0.0, 1.0)


#: How strongly noise lowers the trust put in the evidence (fitted with ``orbat doctrine calibrate``).
NOISE_WEIGHT = 0.3


def trust(noise: np.ndarray) -> np.ndarray:
    """The probability that evidence this noisy does not mislead: ``1 - NOISE_WEIGHT x noise``, in 0..1.

    It only ever falls as the grades get worse, so worse grades never raise confidence.
    """
    return np.clip(1.0 - NOISE_WEIGHT * np.asarray(noise, dtype=np.float64), 0.0, 1.0)


# --- tags: what a row's vehicles are seen to carry (`tags` column, comma-separated) -------------------

#: The tag of inflatable or dummy vehicles: they count as 0 to n, never as sure vehicles.
DECOY = "decoy"


def parse_tags(text) -> tuple[str, ...]:
    """A row's tags: comma-separated, trimmed, lower-cased, blanks dropped (``"Cope cage, Z"`` -> ``("cope cage", "z")``)."""
    if not isinstance(text, str):
        return ()
    return tuple(dict.fromkeys(t.strip().casefold() for t in text.split(",") if t.strip()))


def row_tags(frame) -> list[tuple[str, ...]] | None:
    """Per row of a frame, its tags; None when the frame has no ``tags`` column."""
    coded = tag_codes(frame)
    if coded is None:
        return None
    codes, parsed = coded
    return [parsed[c] for c in codes.tolist()]


def tag_codes(frame) -> tuple[np.ndarray, list[tuple[str, ...]]] | None:
    """Per row of a frame, a code of its tags, and the tags of each code (a row without any: the last, ``()``).

    Each distinct text is parsed once; None when the frame has no ``tags`` column.
    """
    if "tags" not in frame:
        return None
    codes, uniques = _factorize(frame["tags"].to_numpy(dtype=object))
    return np.asarray(codes), [parse_tags(u) for u in uniques] + [()]


def decoy_rows(frame) -> np.ndarray:
    """Per row, whether it is tagged ``decoy`` (all False without a ``tags`` column)."""
    if "tags" not in frame:
        return np.zeros(len(frame), dtype=bool)
    codes, uniques = _factorize(frame["tags"].to_numpy(dtype=object))
    flags = np.array([DECOY in parse_tags(u) for u in uniques] + [False], dtype=bool)
    return flags[codes]


def as_possible(count: np.ndarray, count_max: np.ndarray, decoy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts with decoy rows as 0..n: their ``count`` becomes 0, their upper bound stays."""
    count = np.asarray(count)
    upper = np.maximum(count_max, count)
    return np.where(decoy, 0, count), np.where(decoy, upper, count_max)
