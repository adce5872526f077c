"""`orbat estimate`: what unit each convoy most likely is, and why."""

import re
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app
from orbat.cli.common import CatalogOption, DbOption, JsonOption, console, db_url

DoctrineOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--doctrine",
        help="Extra doctrine YAML file or folder (repeatable); its templates extend or replace the bundled ones.",
        show_default=False,
    ),
]

#: Rules shown per template in the human output (all of them are in --json).
TOP_REASONS = 6
#: Alternatives shown per convoy in the human output (all of them are in --json).
TOP_ALTERNATIVES = 5
#: Up to this many convoys the human view shows each one's panels; beyond, one table of them all.
FEW_CONVOYS = 5


class Trace(str, Enum):
    """How much of the rule trace --json / --jsonl hold (see docs/estimates.md)."""

    full = "full"
    best = "best"
    none = "none"


#: Order of the many-convoy table (orbat.overview.SORT_KEYS).
SortKey = Enum("SortKey", {key: key for key in ("convoy", "vehicles", "confidence", "echelon")}, type=str)


@app.command("estimate")
def estimate(
    file: Annotated[
        Optional[Path],
        typer.Argument(help="A sightings file (CSV, XLSX or JSON) to estimate directly; "
                            "without it, the sightings in the database.", show_default=False),
    ] = None,
    convoy: Annotated[Optional[list[str]], typer.Option("--convoy", help="Only this convoy (repeatable).")] = None,
    samples: Annotated[int, typer.Option("--samples", min=0, max=10000,
                                         help="Scenarios drawn when count ranges leave the answer open.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed for those draws (same seed, same answer).")] = 0,
    json_: JsonOption = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Print one compact JSON object per convoy and line, "
                                                        "streamed as each is ready.")] = False,
    indent: Annotated[bool, typer.Option("--indent", help="Indent the --json output (the default on a "
                                                          "terminal; piped, it is compact).")] = False,
    trace: Annotated[Optional[Trace], typer.Option(
        "--trace", case_sensitive=False, show_default=False,
        help="Rules in --json/--jsonl: full (winner and runner-up), best (the winner's), none. "
             f"Default: full for up to {FEW_CONVOYS} convoys, best for more.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a written assessment per convoy (Markdown).")] = False,
    sort: Annotated[SortKey, typer.Option("--sort", case_sensitive=False,
                                          help="Order of the table of many convoys (largest first for "
                                               "vehicles, confidence, echelon).")] = SortKey.convoy,
    pager: Annotated[Optional[bool], typer.Option("--pager/--no-pager", show_default=False,
                                                  help="Page the table (default: on a terminal, when it is "
                                                       "taller than the screen).")] = None,
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", "-j", min=1, show_default=False,
        help="Processes that estimate and write the convoys (same output whatever the number): 1 runs in "
             "this one; default: 1, or more for --json, --jsonl and --markdown of thousands of convoys "
             "when the CPUs are free (Linux).")] = None,
    db: DbOption = None,
    catalog: CatalogOption = None,
    doctrine: DoctrineOption = None,
) -> None:
    """Estimate the order of battle of each convoy: unit, echelon, sub-units, personnel, confidence, why.

    Sightings sharing a convoy are merged (the maximum per equipment type),
    every doctrine template is scored on the counts, and the best is shown
    with its breakdown, personnel range, alternatives and the rules behind
    it. With FILE nothing is stored; without it the database is read.

    Up to 5 convoys (or with --convoy) each gets its detailed panels; more
    convoys make one table, a row per convoy (vehicles, estimate, echelon,
    kind, confidence, top reason), sorted with --sort.

    --json prints a JSON array (compact when piped, indented on a terminal
    or with --indent); --jsonl one convoy per line as it is ready, for large
    files. --markdown writes each convoy up as a short OSINT-style
    assessment (as `orbat report convoy` does), ready to paste into a report.

    With thousands of convoys, --json, --jsonl and --markdown are made by
    several processes when the CPUs are free, each a block of convoys
    (--jobs N sets how many, for the table too; the output is the same).

    \b
    Example:
      orbat estimate estimates/mali-2025-01-17/sightings.csv --convoy bamako-2025-01-17
    """
    from orbat.errors import UsageError

    chosen = [name for name, on in (("--json", json_), ("--jsonl", jsonl), ("--markdown", markdown)) if on]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} do not go together; choose one")
    if indent and not json_:
        raise UsageError("--indent goes with --json")
    from orbat.catalog import load_catalog
    from orbat.doctrine import load_doctrine
    from orbat.estimate import estimate_convoys, to_dicts

    url = db_url(db)
    cat = load_catalog(catalog or (), db_url=url)
    doc = load_doctrine(doctrine or (), db_url=url)
    if file is not None:
        from orbat.sightings import read_sightings

        # Without --convoy the frame goes to the blocks, which make each block's rows from its codes.
        frame = read_sightings(file, cat, coded=not convoy)
    else:
        from orbat.store import open_store

        with open_store(url, must_exist=True) as store:
            if convoy and len(convoy) == 1:
                frame = store.sightings_frame(convoy=convoy[0])
            else:
                frame = store.sightings_frame()
    if not convoy:
        from orbat.estimate_stream import ConvoyBlocks, cut_for, job_count

        # Estimated a block of convoys at a time (memory of one block), the blocks shared out between
        # --jobs processes; the JSON of each convoy written as it is ready.
        blocks = ConvoyBlocks(frame)
        del frame  # the blocks keep it only until their last is estimated
        few = blocks.estimated <= FEW_CONVOYS
        # (The table: one process unless asked, its estimate has two threads and little else is per convoy.)
        n_jobs = cut_for(blocks, job_count(jobs, blocks.convoys, pays=json_ or jsonl or markdown))
        options = {"catalog": cat, "doctrine": doc, "samples": samples, "seed": seed, "jobs": n_jobs}
        if json_ or jsonl:
            _print_json_pieces(blocks, options, trace.value if trace else "full" if few else "best",
                               jsonl=jsonl, indent=indent or (json_ and sys.stdout.isatty()))
            return
        if markdown:
            from orbat.estimate_stream import markdown_output

            _print_pieces(markdown_output(blocks, **options), separator=b"\n\n", end=b"\n")
            return
        if not few:
            from orbat.estimate_stream import overview_rows

            _print_table(overview_rows(blocks, sort=sort.value, **options), file, sort.value, pager)
            return
        blocks.cut(max(blocks.convoys, 1))  # a few convoys' panels: every one of them, as they were
        frame = blocks.frame_of(0)
    results = estimate_convoys(frame, cat, doc, samples=samples, seed=seed,
                               convoys=list(dict.fromkeys(convoy)) if convoy else None)
    if json_ or jsonl:
        del frame  # the objects do not need it: at 200k convoys, 1.4 GB let go before they are made
        level = (trace.value if trace else "full" if len(results) <= FEW_CONVOYS else "best")
        _print_json(_drained(results), level, jsonl=jsonl, indent=indent or (json_ and sys.stdout.isatty()))
        return
    if markdown:
        from orbat.assessment import markdown_assessment

        typer.echo("\n\n".join(markdown_assessment(data, frame).rstrip() for data in to_dicts(results)))
        return
    out = console()
    if not results:
        out.print("No convoys to estimate.")
        return
    if convoy or len(results) <= FEW_CONVOYS:
        units = _convoy_units(file, frame, url)
        for data in to_dicts(results):
            _render(out, data, units.get(str(data["convoy"])))
        return
    from orbat.collector import gc_paused
    from orbat.overview import overview_rows

    with gc_paused():
        rows = overview_rows(results, sort.value)
    _print_table(rows, file, sort.value, pager)


def _print_table(rows: list, file, sort: str, pager: bool | None) -> None:
    """The many-convoy table of ``rows`` (sorted :class:`orbat.overview.OverviewRow`), with its note."""
    from orbat.cli.tables import plain_table
    from orbat.collector import gc_paused
    from orbat.overview import COLUMNS

    where = f"{file} " if file is not None else ""
    width = console().width if sys.stdout.isatty() else None
    # Rows, cells and lines are many small objects that hold no cycles: the collector would only walk the
    # frame's columns again and again (a third of the table's time at 20,000 convoys).
    with gc_paused():
        note = (f"{len(rows)} convoys, sorted by {sort}. The details of one: orbat estimate {where}--convoy "
                "KEY (repeatable); of every convoy: --json, --jsonl or --markdown.")
        lines = [*plain_table(COLUMNS, [r.cells() for r in rows], width=width), "", note]
    _page("\n".join(lines) + "\n", pager, len(lines))


def _convoy_units(file, frame, url: str) -> dict:
    """The named unit of each convoy, for the panels only (the register is not needed for JSON or the table)."""
    from orbat.units import load_orbat

    if file is not None:
        return load_orbat(None, frame=frame, db_url=url).convoy_unit_names()
    from orbat.store import open_store

    with open_store(url, must_exist=True) as store:
        return load_orbat(store, frame=frame, db_url=url).convoy_unit_names()


def _print_json_pieces(blocks, options: dict, trace: str, *, jsonl: bool, indent: bool) -> None:
    """Every convoy's JSON, made block by block (by --jobs processes) and written as it comes."""
    from orbat.collector import gc_paused
    from orbat.estimate_stream import json_output
    from orbat.jsonio import write_chunks, write_json_pieces

    sys.stdout.flush()
    stream = sys.stdout.buffer
    pieces = json_output(blocks, trace=trace, lines=jsonl, indent=indent, **options)
    try:
        with gc_paused():
            if jsonl:
                write_chunks(pieces, stream)
            else:
                write_json_pieces(pieces, stream, indent=indent)
        stream.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    finally:
        pieces.close()


def _print_pieces(pieces, *, separator: bytes, end: bytes) -> None:
    """Pieces that each start with ``separator`` (the first one's dropped), then ``end``, as they come."""
    from orbat.jsonio import write_chunks

    def joined():
        first = True
        for piece in pieces:
            if first and piece:
                piece, first = piece[len(separator):], False
            yield piece
        yield end

    sys.stdout.flush()
    try:
        write_chunks(joined(), sys.stdout.buffer)
    except BrokenPipeError:
        _quiet_broken_pipe()
    finally:
        pieces.close()


def _print_json(estimates, trace: str, *, jsonl: bool, indent: bool) -> None:
    """Every convoy's JSON object, each made just before it is written (none kept after)."""
    from orbat.collector import gc_paused
    from orbat.jsonio import write_json, write_jsonl

    sys.stdout.flush()
    stream = sys.stdout.buffer
    objects = (e.to_dict(trace) for e in estimates)
    try:
        with gc_paused():
            if jsonl:
                write_jsonl(objects, stream)
            else:
                write_json(objects, stream, indent=indent)
        stream.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()


def _drained(results: list):
    """The estimates one by one, each let go of once taken: what it cached for its JSON goes with it.

    (Kept in the list, 200,000 convoys' cached objects would all stay alive
    to the end: several GB, where streaming should keep memory flat.)
    """
    for i in range(len(results)):
        estimate, results[i] = results[i], None
        yield estimate


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head``): stop without a traceback, as other command-line tools do."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test's captured output)
        pass
    raise typer.Exit(0)


def _page(text: str, pager: bool | None, lines: int) -> None:
    """Print ``text``; through the pager ($PAGER, else less) when asked, or on a terminal it overflows."""
    import shutil

    if pager is None:
        pager = sys.stdout.isatty() and lines > shutil.get_terminal_size().lines - 1
    if pager:
        import pydoc

        pydoc.pager(text)
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()


def _render(out, data: dict, unit: str | None = None) -> None:
    """One convoy as rich tables: composition, best estimate, breakdown, alternatives, top reasons."""
    from rich.table import Table
    from rich.text import Text

    from orbat.confidence import fit_note

    v, best = data["vehicles"], data["best"]
    total = str(v["total"]) + (f"-{v['total_max']}" if v["total_max"] != v["total"] else "")
    head = Table(title=f"convoy {data['convoy']}: {total} vehicles in {len(data['sightings'])} sightings",
                 show_header=False, title_justify="left")
    head.add_column("what", style="bold")
    head.add_column("value", overflow="fold")
    if unit:  # the named unit this convoy is (docs/units.md): "423rd Motor Rifle Regiment: a BTG"
        head.add_row("unit", unit)
    head.add_row("estimate", f"{best['label']} ({best['kind']}, {best['echelon']})")
    head.add_row("confidence", f"{best['confidence']:.2f} (fit {best['score']}, wins {best['wins']:.0%} of count scenarios)")
    if note := fit_note(best):  # no template fits: the answer is the ladder's echelon, say so
        head.add_row("note", note)
    personnel = best["personnel"]
    head.add_row("personnel", f"{personnel['min']}-{personnel['max']}")
    units = [f"{b['count']} x {b['unit']}" for b in best["breakdown"] if b["unit"] != "remainder"]
    rest = [f"{b['vehicles']} {b['category']}" for b in best["breakdown"] if b["unit"] == "remainder"]
    head.add_row("breakdown", ", ".join(units) + (f" (+ {', '.join(rest)})" if rest else "") or "-")
    head.add_row("by role", ", ".join(f"{k} {n}" for k, n in v["by_role"].items()))
    head.add_row("by category", ", ".join(f"{k} {n}" for k, n in v["by_category"].items()))
    if v["unknown"]:
        head.add_row("unknown names", ", ".join(f"{u['name']} {u['count']}" for u in v["unknown"]))
    ind = data["indicators"]
    support = ind["organic_support"]
    present = [f"{k} {n}" for k, n in support["vehicles"].items() if n]
    head.add_row("organic support", ("yes: " if support["present"] else "no: ") + (", ".join(present) or "none"))
    head.add_row("shares", f"armoured {ind['armoured_share']:.2f}, logistics {ind['logistics_share']:.2f}, "
                           f"carried {ind['carried_share']:.2f}")
    for signal in ind["origin_signals"][:4]:
        head.add_row("origin signal", signal)
    if ind["loss_rows_ignored"]:
        head.add_row("losses", f"{ind['loss_rows_ignored']} loss rows left to the inventory")
    # Which sighting set each figure several sightings saw ("tank 7: bmpd, T-72B3 7; video's T-72 6-7 are
    # the same vehicles"), and what the rows' tags show ("cope cage on 6 of 7 tank", decoys as 0-n).
    for note in v.get("merged") or []:
        head.add_row("merged", _plain(note["reason"]))
    for tag in ind.get("tags") or []:
        head.add_row("tagged", _plain(tag["text"]))
    out.print(head)

    # "same answer": a template giving the estimate's echelon and kind (counted in its confidence).
    alts = Table(title="alternatives (probability that each is the unit)", title_justify="left")
    for column in ("template", "probability", "same answer", "score", "wins"):
        alts.add_column(column)
    alts.add_row(Text(_plain(best["label"]), style="bold"), _probability(best.get("probability")), "(estimate)",
                 str(best["score"]), f"{best['wins']:.0%}")
    for alt in data["alternatives"][:TOP_ALTERNATIVES]:
        alts.add_row(_plain(alt["label"]), _probability(alt.get("probability")),
                     "yes" if alt.get("same_answer") else "no", str(alt["score"]), f"{alt['wins']:.0%}")
    out.print(alts)

    why = Table(title="why (rules of the estimate and the runner-up)", title_justify="left")
    for column in ("template", "", "reason", "weight"):
        why.add_column(column, overflow="fold")
    by_template: dict[str, list[dict]] = {}
    for item in data["trace"]:
        by_template.setdefault(item["template"], []).append(item)
    for template, items in by_template.items():
        # Strongest evidence first: failed rules of the winner matter as much as passed ones.
        items = sorted(items, key=lambda i: -i["weight"])[:TOP_REASONS]
        for item in items:
            why.add_row(template, Text("pass", style="green") if item["passed"] else Text("fail", style="red"),
                        item["reason"], str(item["weight"]))
    out.print(why)
    out.print()


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _plain(text) -> str:
    """Text from the input (names, sighting ids, tags) as one plain line: control characters (terminal
    escapes) shown as ``?``; the console prints it without markup (``markup=False``)."""
    return _CONTROL.sub("?", str(text))


def _probability(value) -> str:
    """A probability for the panels: two decimals, and "<0.01" rather than a misleading 0.00."""
    if value is None:
        return "-"
    value = float(value)
    return "<0.01" if 0 < value < 0.005 else f"{value:.2f}"
