"""The written assessment of a convoy: a short OSINT-style Markdown text (``orbat report convoy``,
``orbat estimate --markdown``).

:func:`markdown_assessment` writes one convoy's estimate up with its
evidence: what was seen, when and where, by which sources and with what
grades, the estimate in words of estimative probability, the alternatives and
the reasons. Everything from the input passes through :func:`md_escape`, so
no name, note or URL becomes markup, raw HTML or a table break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from orbat.confidence import fit_note
from orbat.convoy import convoy_keys as convoy_key
from orbat.report import (
    _distinct,
    _missing,
    _observed,
    _personnel,
    breakdown_text,
    grade_text,
    probability_words,
    vehicles_range,
)

_MD_SPECIAL = re.compile(r"([\\`*\[\]<|])")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`|\\]+$", re.IGNORECASE)


def md_escape(text: Any) -> str:
    """Untrusted text made inert in Markdown: one line, no markup, no raw HTML, no table breaks."""
    if _missing(text):
        return ""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def _md_source(source: Any) -> str:
    if _missing(source):
        return ""
    text = str(source).strip()
    if _SAFE_URL.match(text) and len(text) <= 2000:
        return f"<{text}>"
    return md_escape(text)


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> list[str]:
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("| " + " | ".join(("---:" if i < len(align) and align[i] == "r" else "---") for i in range(len(headers))) + " |")
    for row in rows:
        lines.append("| " + " | ".join("" if _missing(v) else str(v) for v in row) + " |")
    return lines


def _fmt_num(value: Any) -> str:
    if _missing(value):
        return "?"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _article(word: str) -> str:
    return "an" if str(word)[:1].lower() in "aeiou" else "a"


def _probability_text(value: Any) -> str:
    """A probability for the assessment: two decimals, "<0.01" for a small non-zero one, "" when unknown."""
    if _missing(value):
        return ""
    value = float(value)
    return "<0.01" if 0 < value < 0.005 else f"{value:.2f}"


def _percent(value: Any) -> str:
    return "" if _missing(value) else f"{float(value):.0%}"


def _date_words(seen: pd.Series) -> str:
    days = sorted({d.date() for d in seen.dropna()})
    if not days:
        return "on an unknown date"
    if len(days) == 1:
        return f"on {days[0].day} {days[0]:%B %Y}"
    return f"between {days[0].day} {days[0]:%B %Y} and {days[-1].day} {days[-1]:%B %Y}"


def markdown_assessment(estimate: Mapping[str, Any], frame: pd.DataFrame) -> str:
    """A short written assessment of one convoy, in the style of an OSINT report (Markdown).

    ``estimate`` is one ``ConvoyEstimate.to_dict()``; ``frame`` the canonical
    sightings (rows of other convoys are ignored). The text gives a headline
    judgement with its confidence in words ("likely (0.78)"), the
    composition, the estimate with its breakdown and personnel, the decisive
    rules (passed and failed, with reasons), the alternatives and the
    sources with their Admiralty grades. Text from the sightings is escaped,
    so it cannot inject links, HTML or table cells.
    """
    convoy = str(estimate.get("convoy"))
    rows = frame[convoy_key(frame).astype(object) == convoy] if not frame.empty else frame
    best = estimate.get("best") or {}
    vehicles = estimate.get("vehicles") or {}
    confidence = best.get("confidence")
    words = probability_words(confidence)
    conf_text = f"{words} ({float(confidence):.2f})" if not _missing(confidence) else "of unknown confidence"
    total, total_max = vehicles.get("total"), vehicles.get("total_max")
    places = _distinct(rows["place"]) if not rows.empty else []
    actors = _distinct(rows["actor"]) if not rows.empty else []
    seen = _observed(rows["observed_at"]) if not rows.empty else pd.Series(dtype="datetime64[ns]")
    n_sightings = int(rows["sighting_id"].nunique()) if not rows.empty else len(estimate.get("sightings") or [])

    label = best.get("label") or best.get("template") or "no unit template"
    headline = f"{md_escape(label)}, {words}" if best else "no matching unit template"
    lines = [f"# Convoy {md_escape(convoy)}: {headline}", ""]

    where = f" at {md_escape(places[0])}" if places else ""
    # "the Africa Corps convoy": the actor owns the convoy ("seen by" would name the observer).
    who = f"{md_escape(', '.join(actors))} " if actors else ""
    size = vehicles_range(total, total_max) if not _missing(total) else "an unknown number of"
    echelon = ", ".join(md_escape(x) for x in (best.get("echelon"), best.get("kind")) if x)
    if best:
        judgement = (
            f"**Assessment.** It is {conf_text} that the {who}convoy seen{where} {_date_words(seen)}"
            f" is {_article(label)} **{md_escape(label)}**{f' ({echelon})' if echelon else ''}. "
        )
    else:
        judgement = f"**Assessment.** No unit template matches the {who}convoy seen{where} {_date_words(seen)}. "
    judgement += (
        f"The estimate rests on {size} vehicles, max-merged over {n_sightings} "
        f"sighting{'s' if n_sightings != 1 else ''}."
    )
    lines += [judgement, ""]

    lines += ["## Composition", ""]
    by_type = [t for t in vehicles.get("by_type") or [] if isinstance(t, Mapping)]
    if by_type:
        groups: dict[str, list[Mapping]] = {}
        for item in sorted(by_type, key=lambda t: -(t.get("count") or 0)):
            groups.setdefault(str(item.get("category")), []).append(item)
        body = []
        for category, items in sorted(groups.items(), key=lambda kv: -sum(t.get("count") or 0 for t in kv[1])):
            low = sum(t.get("count") or 0 for t in items)
            high = sum(t.get("count_max") if t.get("count_max") is not None else (t.get("count") or 0) for t in items)
            names = ", ".join(f"{md_escape(t.get('name') or t.get('id'))} {t.get('count')}"
                              + (f"-{t.get('count_max')}" if t.get("count_max") not in (None, t.get("count")) else "")
                              + (" (carried)" if t.get("carried") else "") for t in items)
            body.append((md_escape(category), md_escape(items[0].get("role")),
                         str(low) if low == high else f"{low}-{high}", names))
        lines += _md_table(["category", "role", "vehicles", "types"], body, align="__r_")
    else:
        by_category = vehicles.get("by_category") or {}
        body = [(md_escape(k), _fmt_num(v)) for k, v in by_category.items()]
        lines += _md_table(["category", "vehicles"], body, align="_r") if body else ["No vehicles counted."]
    by_role = vehicles.get("by_role") or {}
    if by_role:
        lines += ["", "By role: " + ", ".join(f"{md_escape(k)} {_fmt_num(v)}" for k, v in by_role.items()) + "."]
    unknown = vehicles.get("unknown") or []
    if unknown:
        names = ", ".join(f"{md_escape(u.get('name'))} {u.get('count')}" if isinstance(u, Mapping) else md_escape(u)
                          for u in unknown)
        lines += ["", f"Not in the catalog, left out of the estimate's categories: {names}."]
    merged = [m for m in vehicles.get("merged") or [] if isinstance(m, Mapping) and m.get("reason")]
    if merged:
        # Several sources described the same vehicles at different precision: say which one set each figure.
        lines += ["", "Merged across sightings (the same vehicles, counted once):", ""]
        lines += [f"- {md_escape(m['reason'])}" for m in merged]
    tags = [t for t in (estimate.get("indicators") or {}).get("tags") or [] if isinstance(t, Mapping) and t.get("text")]
    if tags:
        lines += ["", "Indicators from the sightings' tags:", ""]
        lines += [f"- {md_escape(t['text'])}" for t in tags]
    lines.append("")

    lines += ["## Estimate", ""]
    if best:
        pmin, pmax = _personnel(best)
        lines.append(f"- Best match: **{md_escape(label)}** (template `{md_escape(best.get('template'))}`)"
                     + (f", {echelon}" if echelon else ""))
        fit = ""
        if not _missing(best.get("score")):
            fit = f"; fit to the counts {_fmt_num(best.get('score'))}"
            if not _missing(best.get("wins")):
                fit += f", won {_percent(best.get('wins'))} of the count scenarios"
        lines.append(f"- Confidence: {conf_text}{fit}")
        if note := fit_note(best):
            lines.append(f"- Note: {md_escape(note)}")
        probability = best.get("probability")
        if not _missing(probability) and not _missing(confidence) and abs(float(confidence) - float(probability)) >= 0.005:
            # The confidence is in the answer (echelon and kind); other templates may give the same answer.
            lines.append(f"- Probability that it is this template: {_probability_text(probability)} (the confidence "
                         "adds the alternatives that give the same echelon and kind)")
        breakdown = breakdown_text(best.get("breakdown"))
        if breakdown:
            lines.append(f"- Breakdown: {md_escape(breakdown)}")
        lines.append(f"- Vehicles: {size} in {n_sightings} sighting{'s' if n_sightings != 1 else ''}")
        if not (_missing(pmin) and _missing(pmax)):
            people = _fmt_num(pmin) if pmin == pmax else f"{_fmt_num(pmin)}-{_fmt_num(pmax)}"
            lines.append(f"- Personnel: {people} (crews and carried troops of the vehicles seen)")
    else:
        lines.append("- No template matched.")
    lines.append("")

    trace = list(estimate.get("trace") or [])
    best_rules = [t for t in trace if t.get("template") == best.get("template")]
    if best_rules:
        lines += ["## Decisive rules", "", f"For {md_escape(label)}:", ""]
        ordered = sorted(best_rules, key=lambda t: (-(t.get("weight") or 0)))
        lines += _md_table(
            ["rule", "result", "weight", "reason"],
            ((f"`{md_escape(t.get('rule'))}`", "passed" if t.get("passed") else "**failed**",
              _fmt_num(t.get("weight")), md_escape(t.get("reason"))) for t in ordered),
            align="__r_",
        )
        lines.append("")

    alternatives = [a for a in estimate.get("alternatives") or [] if a.get("template") != best.get("template")]
    if alternatives:
        lines += ["## Alternatives", ""]
        lines += _md_table(
            ["template", "label", "probability", "same answer", "fit", "scenarios won"],
            ((f"`{md_escape(a.get('template'))}`", md_escape(a.get("label")), _probability_text(a.get("probability")),
              "" if a.get("same_answer") is None else ("yes" if a.get("same_answer") else "no"),
              _fmt_num(a.get("score")), _percent(a.get("wins"))) for a in alternatives),
            align="__r_rr",
        )
        lines += ["", "Probability: that the template is the unit (with the estimate's, at most 1 in all). "
                  "Same answer: the template gives the estimate's echelon and kind, and is counted in its confidence."]
        runner_up = alternatives[0].get("template")
        failed = [t for t in trace if t.get("template") == runner_up and not t.get("passed")]
        if failed:
            lines += ["", f"Why not {md_escape(alternatives[0].get('label') or runner_up)}: "
                      + "; ".join(md_escape(t.get("reason") or t.get("rule")) for t in failed) + "."]
        lines.append("")

    lines += ["## Sources", ""]
    if not rows.empty:
        first = rows.drop_duplicates("sighting_id")
        body = []
        for rec in first.itertuples(index=False):
            body.append((md_escape(rec.sighting_id), md_escape(rec.observed_at), md_escape(rec.place),
                         _md_source(rec.source), grade_text(rec.reliability, rec.credibility)))
        lines += _md_table(["sighting", "observed", "place", "source", "grade"], body)
    else:
        lines.append("No sightings in the frame.")
    lines += ["", "Grades follow the Admiralty code: reliability of the source A-F, credibility of the information 1-6.", ""]
    return "\n".join(lines)
