"""`orbat doctrine`: check the unit templates the estimator uses."""

from typing import Annotated, Optional

import typer

from orbat.cli.app import app, command_group
from orbat.cli.common import CatalogOption, DbOption, JsonOption, console, db_url, load_catalog_for, print_json
from orbat.cli.estimate import DoctrineOption

doctrine_app = command_group("Check the doctrine's unit templates.")
app.add_typer(doctrine_app, name="doctrine")


@doctrine_app.command("calibrate")
def calibrate(
    cases: Annotated[int, typer.Option("--cases", min=1, max=100_000, help="Perturbed cases per template.")] = 200,
    template: Annotated[Optional[list[str]], typer.Option(
        "--template", help="Only this template (repeatable; default: every template).", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the drawn cases.")] = 0,
    json_: JsonOption = False,
    doctrine: DoctrineOption = None,
    catalog: CatalogOption = None,
    db: DbOption = None,
) -> None:
    """Draw perturbed cases from each template's typical composition and score the estimator's confidence.

    Each case is the template's typical unit seen by 1-3 sources
    with random Admiralty grades: each detects 70-100 % of the vehicles,
    names them at type, family or category level, misidentifies and
    miscounts by its grades, and gives some counts as ranges. An answer is
    right when its echelon and kind are the template's. Prints accuracy,
    expected calibration error (10 bins), Brier score, how often answers
    with confidence >= 0.9 are right, a reliability table, and per template
    what it is mistaken for: whether your templates can be told apart.

    \b
    Example:
      orbat doctrine calibrate --doctrine my-doctrine.yaml --cases 100
    """
    from orbat.calibration import calibrate as run
    from orbat.doctrine import load_doctrine
    from orbat.errors import UsageError

    doc = load_doctrine(doctrine or (), db_url=db_url(db))
    unknown = [t for t in template or () if t not in doc.templates]
    if unknown:
        raise UsageError(f"unknown template {unknown[0]!r}; known: {', '.join(doc.templates)}")
    result = run(doc, load_catalog_for(catalog, db), cases=cases, seed=seed, templates=template or None)
    if json_:
        print_json(result.to_dict())
        return
    from rich.table import Table

    out = console()
    head = Table(show_header=False, title=f"calibration on {result.cases} perturbed cases")
    head.add_column("figure", style="bold")
    head.add_column("value")
    head.add_row("accuracy", f"{result.accuracy:.3f}")
    head.add_row("expected calibration error", f"{result.ece:.3f}")
    head.add_row("Brier score", f"{result.brier:.3f}")
    head.add_row("confidence >= 0.9", f"{result.sure} answers, {result.sure_accuracy:.3f} right")
    out.print(head)
    bins = Table(title="reliability (all templates)")
    for column in ("confidence", "cases", "mean confidence", "accuracy"):
        bins.add_column(column, justify="right")
    for b in result.reliability:
        bins.add_row(f"{b['lo']:.1f}-{b['hi']:.1f}", str(b["cases"]), f"{b['confidence']:.3f}", f"{b['accuracy']:.3f}")
    out.print(bins)
    per = Table(title="per template")
    for column in ("template", "cases", "accuracy", "confidence", "ECE", "Brier", "mistaken for"):
        per.add_column(column, overflow="fold")
    for t in result.templates:
        confused = ", ".join(f"{c['answer']} x{c['cases']}" for c in t["confused_with"])
        per.add_row(t["template"], str(t["cases"]), f"{t['accuracy']:.3f}", f"{t['confidence']:.3f}",
                    f"{t['ece']:.3f}", f"{t['brier']:.3f}", confused)
    out.print(per)
    for t in result.templates:
        if t["warning"]:
            out.print(f"warning: {t['template']}: {t['warning']}")
