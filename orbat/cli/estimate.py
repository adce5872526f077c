"""`orbat estimate`: what unit each convoy most likely is, and why."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app
from orbat.cli.common import CatalogOption, DbOption, JsonOption, console, db_url, print_json

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
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a written assessment per convoy (Markdown).")] = False,
    db: DbOption = None,
    catalog: CatalogOption = None,
    doctrine: DoctrineOption = None,
) -> None:
    """Estimate the order of battle of each convoy: unit, echelon, sub-units, personnel, confidence, why.

    Sightings sharing a convoy are merged (the maximum per equipment type),
    every doctrine template is scored on the counts, and the best is shown
    with its breakdown, personnel range, alternatives and the rules behind
    it. With FILE nothing is stored; without it the database is read.

    --markdown writes each convoy up as a short OSINT-style assessment
    (as `orbat report convoy` does), ready to paste into a report.

    \b
    Example:
      orbat estimate estimates/mali-2025-01-17/sightings.csv --convoy bamako-2025-01-17
    """
    from orbat.errors import UsageError

    if json_ and markdown:
        raise UsageError("--json and --markdown do not go together; choose one")
    from orbat.catalog import load_catalog
    from orbat.doctrine import load_doctrine
    from orbat.estimate import estimate_convoys, to_dicts

    url = db_url(db)
    cat = load_catalog(catalog or (), db_url=url)
    doc = load_doctrine(doctrine or (), db_url=url)
    from orbat.units import load_orbat

    if file is not None:
        from orbat.sightings import read_sightings

        frame = read_sightings(file, cat)
        orbat = load_orbat(None, frame=frame, db_url=url)
    else:
        from orbat.store import open_store

        with open_store(url, must_exist=True) as store:
            if convoy and len(convoy) == 1:
                frame = store.sightings_frame(convoy=convoy[0])
            else:
                frame = store.sightings_frame()
            orbat = load_orbat(store, frame=frame, db_url=url)
    results = estimate_convoys(frame, cat, doc, samples=samples, seed=seed,
                               convoys=list(dict.fromkeys(convoy)) if convoy else None)
    if json_:
        print_json(to_dicts(results))
        return
    if markdown:
        from orbat.report import markdown_assessment

        typer.echo("\n\n".join(markdown_assessment(data, frame).rstrip() for data in to_dicts(results)))
        return
    out = console()
    if not results:
        out.print("No convoys to estimate.")
        return
    units = orbat.convoy_unit_names()
    for data in to_dicts(results):
        _render(out, data, units.get(str(data["convoy"])))


def _render(out, data: dict, unit: str | None = None) -> None:
    """One convoy as rich tables: composition, best estimate, breakdown, alternatives, top reasons."""
    from rich.table import Table
    from rich.text import Text

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
    out.print(head)

    alts = Table(title="alternatives", title_justify="left")
    for column in ("template", "score", "wins"):
        alts.add_column(column)
    alts.add_row(Text(best["label"], style="bold"), str(best["score"]), f"{best['wins']:.0%}")
    for alt in data["alternatives"]:
        alts.add_row(alt["label"], str(alt["score"]), f"{alt['wins']:.0%}")
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
