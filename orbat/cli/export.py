"""`orbat export` (the report workbook, CSV or JSON) and `orbat report convoy` (a written assessment)."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app, command_group
from orbat.cli.common import CatalogOption, DbOption, console, db_url
from orbat.cli.estimate import DoctrineOption
from orbat.errors import UsageError

report_app = command_group("Written reports for people: a convoy's assessment in Markdown.")
app.add_typer(report_app, name="report")


@app.command("export")
def export(
    out: Annotated[Path, typer.Argument(
        help="OUT.xlsx (formatted workbook), OUT.csv (one OUT-<table>.csv per table), OUT.json, a folder OUT/, "
             "or a map: OUT.geojson, OUT.kml.",
        show_default=False)],
    convoy: Annotated[Optional[str], typer.Option("--convoy", help="Only this convoy.")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Only sightings of this actor (as written).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only sightings on or after this date (YYYY-MM-DD).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Only sightings on or before this date (YYYY-MM-DD).")] = None,
    events: Annotated[Optional[str], typer.Option(
        "--events", help="Maps only: these events, comma-separated (sighting,arrival,destroyed,damaged,abandoned,captured).",
        show_default=False)] = None,
    format_: Annotated[Optional[str], typer.Option(
        "--format", help="orbat-mapper: OUT.json is an ORBAT Mapper scenario of the unit tree (default: from OUT's suffix).",
        show_default=False)] = None,
    identity: Annotated[str, typer.Option(
        "--identity", help="With --format orbat-mapper: every side's standard identity (unknown, friend, hostile, neutral, ...).")] = "unknown",
    db: DbOption = None,
    catalog: CatalogOption = None,
    doctrine: DoctrineOption = None,
) -> None:
    """Export the report (Summary with charts and map, Sightings, Equipment, Estimates, Trace, Inventory, ORBAT) or a map.

    The format follows OUT's suffix. The workbook opens in Excel and
    LibreOffice; its Sightings sheet re-imports with `orbat import`, and no
    text from the sightings can become a formula. CSV and JSON hold the same
    tables for scripts (CSV text starting with = + - @ gets a leading ').
    OUT.geojson and OUT.kml are map layers for QGIS, Google Earth, uMap or
    felt.com: a point per located sighting, a track per convoy seen at two
    or more places (see docs/maps.md), e.g.
    `orbat export losses.kml --events destroyed,damaged,abandoned,captured`.

    With --format orbat-mapper, OUT.json is an ORBAT Mapper scenario: one
    side per actor, the unit tree (`orbat units tree`) with each unit's
    symbol, equipment (count = the most it is known to have had, onHand =
    count minus losses) and its located sightings as its state history.

    \b
    Example:
      orbat export report.xlsx --convoy bamako-2025-01-17
      orbat export orbat.json --format orbat-mapper --identity hostile
    """
    from orbat.actors import load_actors
    from orbat.catalog import load_catalog
    from orbat.doctrine import load_doctrine
    from orbat.maplayers import map_format, parse_events
    from orbat.report import export_report, export_scenario, report_format
    from orbat.store import open_store

    if format_ is not None and format_ != "orbat-mapper":
        raise UsageError(f"--format {format_!r}: expected orbat-mapper (other formats follow OUT's suffix)")
    if format_ == "orbat-mapper":
        if out.suffix.lower() != ".json":
            raise UsageError(f"{out}: an ORBAT Mapper scenario is a .json file")
        if any(v is not None for v in (convoy, actor, since, until, events)):
            raise UsageError("--format orbat-mapper exports the whole order of battle: "
                             "--convoy, --actor, --since, --until and --events do not apply")
        url = db_url(db)
        cat = load_catalog(catalog or (), db_url=url)
        with open_store(url, must_exist=True) as store:
            data, path = export_scenario(store, cat, out, actors=load_actors((), db_url=url), db_url=url,
                                         identity=identity)
        count = sum(_count_units(g["subUnits"]) for side in data["sides"] for g in side["groups"])
        typer.echo(f"Wrote {path}: an ORBAT Mapper scenario (format {data['version']}) of {len(data['sides'])} "
                   f"side(s) and {count} unit(s).")
        return
    url = db_url(db)
    if map_format(out) is not None:
        _export_map(out, url, catalog, doctrine, convoy=convoy, actor=actor, since=since, until=until,
                    events=parse_events(events))
        return
    if events is not None:
        raise UsageError("--events applies to maps (OUT.geojson, OUT.kml); the report keeps every event")
    report_format(out)  # a wrong suffix is a usage error before the database is opened
    cat = load_catalog(catalog or (), db_url=url)
    doc = load_doctrine(doctrine or (), db_url=url)
    actors = load_actors((), db_url=url)
    with open_store(url, must_exist=True) as store:
        report, written = export_report(
            store, cat, out, doctrine=doc, actors=actors, convoy=convoy, actor=actor, since=since, until=until,
            db_url=url)
    sightings = report.tables["sightings"]
    typer.echo(
        f"Wrote {', '.join(str(p) for p in written)}: {len(report.tables['summary'])} convoy(s), "
        f"{sightings['sighting_id'].nunique()} sighting(s), {len(sightings)} row(s); filters: {report.filter_text}."
    )


def _export_map(out: Path, url: str, catalog, doctrine, **filters) -> None:
    from orbat.catalog import load_catalog
    from orbat.doctrine import load_doctrine
    from orbat.maplayers import export_map
    from orbat.report import filter_text
    from orbat.store import open_store

    cat = load_catalog(catalog or (), db_url=url)
    doc = load_doctrine(doctrine or (), db_url=url)
    with open_store(url, must_exist=True) as store:
        layers = export_map(store, cat, out, doctrine=doc, **filters)
    typer.echo(f"Wrote {out}: {layers.summary}; filters: {filter_text(layers.filters)}.")


def _count_units(units: list) -> int:
    return sum(1 + _count_units(u.get("subUnits", [])) for u in units)


@report_app.command("convoy")
def convoy_report(
    convoy: Annotated[str, typer.Argument(help="The convoy key (or the id of a sighting without a convoy).")],
    md: Annotated[bool, typer.Option("--md", help="Print raw Markdown instead of rendering it for the terminal.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the Markdown to this file.", show_default=False)] = None,
    db: DbOption = None,
    catalog: CatalogOption = None,
    doctrine: DoctrineOption = None,
) -> None:
    """Write up one convoy as an OSINT-style assessment: judgement, composition, estimate, rules, sources.

    The headline gives the best unit estimate with its confidence in words
    ("likely (0.78)"); then the composition, breakdown and personnel, the
    decisive rules with their reasons, the alternatives and the sources
    with their Admiralty grades (B2).

    \b
    Example:
      orbat report convoy bamako-2025-01-17 --out bamako.md
    """
    from orbat.catalog import load_catalog
    from orbat.doctrine import load_doctrine
    from orbat.report import convoy_assessment, write_text
    from orbat.store import open_store

    url = db_url(db)
    cat = load_catalog(catalog or (), db_url=url)
    doc = load_doctrine(doctrine or (), db_url=url)
    with open_store(url, must_exist=True) as store:
        text = convoy_assessment(store, cat, convoy, doctrine=doc)
    if out is not None:
        write_text(out, text)
        typer.echo(f"Wrote {out}")
    elif md:
        typer.echo(text, nl=False)
    else:
        from rich.markdown import Markdown

        console().print(Markdown(text))
