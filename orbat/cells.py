"""What one cell of the interchange format accepts: each column's text parsed to its value.

:mod:`orbat.sightings` runs these once per distinct value of a column and
spreads the results over the rows. Each parser gives ``(value, None)`` or
``(None, what was expected)``. The ``*_at_once`` functions parse a whole
column's distinct values in one go for the usual file, where none is
refused (a big file has 30,000 distinct coordinates and 10,000 dates); they
give what the parser gives for each value, or None when a value may be
refused, and the caller then runs the parser on each, for its message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np

RELIABILITY: dict[str, str] = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY: dict[int, str] = {
    1: "confirmed by other sources",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "truth cannot be judged",
}

#: Separator of the identifiers in a ``markings`` cell (``TZ-03D;TZ-06D``).
MARKING_SEPARATOR = ";"
#: Longest single identifier: a serial, tactical number or code, not a sentence.
MAX_MARKING_CHARS = 64

#: Largest count on one row: a convoy of more is a typo, not a sighting.
MAX_COUNT = 10_000


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$")
_ZONE_RE = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$")


def _moment(text: str) -> tuple[dt.date, str]:
    """The day and canonical text (UTC when zoned, whole seconds) of a text :data:`_DATETIME_RE` matched.

    Raises ValueError when it is not a real date and time.
    """
    value = text.replace(" ", "T", 1)
    if "." in value:  # fromisoformat takes at most 6 fractional digits; whole seconds are enough
        head, _, tail = value.partition(".")
        zone = _ZONE_RE.search(tail)
        value = head + (zone.group(0) if zone else "")
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.date(), moment.isoformat(timespec="seconds")


def parse_observed_at(text: str, today: dt.date) -> tuple[str | None, str | None]:
    """``(canonical ISO text, None)`` for a valid date or date-time, else ``(None, what was expected)``.

    A time with a zone is converted to UTC (and written without the zone);
    a time without one is kept as given.
    """
    if text == "":
        return None, None
    if _DATE_RE.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None, "expected a real calendar date YYYY-MM-DD"
        canonical = day.isoformat()
    elif _DATETIME_RE.match(text):
        try:
            day, canonical = _moment(text)
        except ValueError:
            return None, "expected a real date and time YYYY-MM-DDTHH:MM:SS"
    else:
        return None, "expected an ISO date YYYY-MM-DD or date and time YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"
    if day.year < 1900:
        return None, "expected a date from 1900 on"
    if day > today:
        return None, f"expected a date not in the future (today is {today.isoformat()})"
    return canonical, None


def split_markings(text: object) -> list[str]:
    """The identifiers of a ``markings`` value, in order, each once (empty or missing: none).

    Spacing and case set aside: ``z 12;Z  12`` is one identifier, kept as first written.
    """
    if not isinstance(text, str):
        return []
    first: dict[str, str] = {}
    for part in text.split(MARKING_SEPARATOR):
        part = " ".join(part.split())
        if part:
            first.setdefault(part.upper(), part)
    return list(first.values())


def parse_markings(text: str) -> tuple[str | None, str | None]:
    """``(canonical markings, None)``: identifiers trimmed, inner spaces single, each once, ``;``-joined."""
    if text == "":
        return None, None
    found = split_markings(text)
    if not found:
        return None, None
    longest = max(found, key=len)
    if len(longest) > MAX_MARKING_CHARS:
        return None, (f"expected identifiers of at most {MAX_MARKING_CHARS} characters separated by "
                      f"'{MARKING_SEPARATOR}' (one is {len(longest):,} long)")
    return MARKING_SEPARATOR.join(found), None


def parse_count(text: str) -> tuple[int | None, str | None]:
    if text == "":
        return None, None
    if not (text.isascii() and text.isdigit()):
        return None, "expected a whole number >= 0"
    if len(text) > 9 or int(text) > MAX_COUNT:
        return None, f"expected at most {MAX_COUNT:,} on one row"
    return int(text), None


_DECIMAL = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d{1,3})?$")


def parse_number(text: str, low: float, high: float) -> tuple[float | None, str | None]:
    if text == "":
        return None, None
    if not _DECIMAL.match(text):
        return None, f"expected a decimal number between {low:g} and {high:g}"
    # A decimal comma is what Excel writes in ';'-separated CSV in much of Europe.
    value = float(text.replace(",", "."))
    if not low <= value <= high:
        return None, f"expected a number between {low:g} and {high:g}"
    return value, None


#: Texts each :data:`_DATE_RE` or :data:`_DATETIME_RE`, each followed by a newline.
_OBSERVED = re.compile(r"(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?\n)*")


def _joined(texts: np.ndarray, pattern: re.Pattern) -> tuple[np.ndarray, str] | None:
    """The non-empty texts and their newline-joined text, when every one matches ``pattern`` (else None).

    One match over the joined text instead of one per value. A text with a
    newline of its own would pass as two: then the count of newlines tells.
    """
    given = texts != ""
    values = texts[given]
    if not len(values):
        return given, ""
    joined = "\n".join(values.tolist()) + "\n"
    if joined.count("\n") != len(values) or not pattern.fullmatch(joined):
        return None
    return given, joined


def numbers_at_once(texts: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """:func:`parse_number` of every text at once (None for an empty one), or None when one is refused."""
    given = texts != ""
    values = texts[given]
    out = np.full(len(texts), None, dtype=object)
    if not len(values):
        return out
    joined = "\n".join(values.tolist())
    try:
        ascii_text = joined.encode("ascii")
    except UnicodeEncodeError:
        return None
    # Made of digits, signs and decimal points only (no exponent, no space, no newline in a text), a
    # text is what _DECIMAL accepts exactly when float() takes it once a decimal comma is a point.
    if ascii_text.translate(None, b"0123456789+-.,\n") or ascii_text.count(b"\n") != len(values) - 1:
        return None
    if b"," in ascii_text:
        values = np.array(joined.replace(",", ".").split("\n"), dtype=object)
    try:
        numbers = values.astype(np.float64)  # float() of each text, as parse_number does
    except ValueError:
        return None
    if not ((numbers >= low) & (numbers <= high)).all():
        return None
    out[given] = numbers.astype(object)
    return out


def dates_at_once(texts: np.ndarray, today: dt.date) -> np.ndarray | None:
    """:func:`parse_observed_at` of every text at once (its two expressions matched once), or None when one is refused."""
    checked = _joined(texts, _OBSERVED)
    if checked is None:
        return None
    given, _ = checked
    canonical = []
    first = dt.date(1900, 1, 1)
    try:
        for text in texts[given].tolist():
            if len(text) == 10:  # YYYY-MM-DD: the shortest date-time is 16 long
                day = dt.date.fromisoformat(text)
                text = day.isoformat()
            elif len(text) == 19 and text.isascii() and (moment := dt.datetime.fromisoformat(text)).tzinfo is None:
                # YYYY-MM-DD?HH:MM:SS, no zone: it is its own canonical text, with a T (checked by the parse)
                day, text = moment.date(), text[:10] + "T" + text[11:]
            else:
                day, text = _moment(text)
            if not first <= day <= today:
                return None
            canonical.append(text)
    except ValueError:
        return None
    out = np.full(len(texts), None, dtype=object)
    out[given] = canonical
    return out


def parse_choice(text: str, choices: Sequence[str], default: str) -> tuple[str | None, str | None]:
    if text == "":
        return default, None
    lowered = text.lower()
    if lowered in choices:
        return lowered, None
    return None, "expected one of " + ", ".join(choices)


_GRADE = re.compile(r"^([A-Fa-f])\s*([1-6])$")


def parse_grades(pair: str) -> tuple[str | None, int | None, str | None, str | None]:
    """``reliability + "\x1f" + credibility`` -> (reliability, credibility, its problem, credibility's problem)."""
    reliability, _, credibility = pair.partition("\x1f")
    combined = _GRADE.match(reliability)
    if combined:
        if credibility:
            return None, None, "a combined grade like B2 is only accepted when credibility is empty", None
        return combined.group(1).upper(), int(combined.group(2)), None, None
    letter, letter_problem = reliability.upper() or None, None
    if letter is not None and letter not in RELIABILITY:
        letter, letter_problem = None, "expected an Admiralty reliability grade A-F (or a combined grade like B2)"
    number, number_problem = None, None
    if credibility:
        if credibility.isascii() and credibility.isdigit() and int(credibility) in CREDIBILITY:
            number = int(credibility)
        else:
            number_problem = "expected an Admiralty credibility grade 1-6"
    return letter, number, letter_problem, number_problem
