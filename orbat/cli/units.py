"""`orbat units`: the named units of the order of battle, their tree, and convoys attached to them."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from orbat.cli.app import app, command_group
from orbat.cli.common import CatalogOption, DbOption, JsonOption, console, db_url, print_json

units_app = command_group("Named units: the register, the tree, what each holds; attach convoys to units.")
app.add_typer(units_app, name="units")

UnitsOption = Annotated[
    Optional[list[Path]],
    typer.Option("--units", help="Extra units YAML file (repeatable); extends catalogs/units.yaml beside the database.",
                 show_default=False),
]


def _open(db: str | None, units: list | None, *, must_exist: bool = True):
    """(store, orbat) for a command; the caller closes the store."""
    from orbat.actors import load_actors
    from orbat.store import open_store
    from orbat.units import load_orbat

    url = db_url(db)
    store = open_store(url, must_exist=must_exist)
    try:
        return store, load_orbat(store, db_url=url, units=units or (), actors=load_actors((), db_url=url))
    except BaseException:
        store.close()
        raise


@units_app.command("list")
def list_units(
    unplaced: Annotated[bool, typer.Option("--unplaced", help="Only units read from sightings and not confirmed yet.")] = False,
    json_: JsonOption = False,
    db: DbOption = None,
    units: UnitsOption = None,
) -> None:
    """List every unit: set by an analyst, in a units file, or named in a sighting.

    A unit that only a sighting names is registered from its name (echelon
    and branch read by the name rules) and shown as unplaced until you
    confirm it with `orbat units set`. --json prints the records with their
    symbol code and why the rules read them so.

    \b
    Example:
      orbat units list --unplaced
    """
    store, orbat = _open(db, units)
    store.close()
    register = orbat.register
    found = register.unplaced() if unplaced else list(register)
    if json_:
        print_json([{**u.record(), "sidc": register.sidc(u), "placed": u.placed, "why": list(u.reasons)}
                    for u in found])
        return
    if not found:
        typer.echo("No units." if not unplaced else "No unplaced units.")
        return
    from rich.table import Table

    table = Table()
    for column in ("unit", "echelon", "branch", "parent", "actor", "sidc", "placed"):
        table.add_column(column, overflow="fold")
    for u in found:
        parent = register.items[u.parent].name if u.parent in register.items else ""
        table.add_row(u.name, u.echelon or "?", register.rules.branch_label(u.branch) or "?", parent,
                      u.actor or "", register.sidc(u), "yes" if u.placed else "no")
    console().print(table)


@units_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A unit's name, alias (former names too) or id.")],
    json_: JsonOption = False,
    db: DbOption = None,
    units: UnitsOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Show one unit: echelon, branch, symbol, parent, sub-units, why, equipment, and its convoys' estimates.

    A convoy is the unit when its sightings name the unit (or it is attached
    with `orbat units attach`); its estimate is reported as the unit's
    ("423rd Motor Rifle Regiment: a battalion tactical group").

    \b
    Example:
      orbat units show "423rd Motor Rifle Regiment"
    """
    from orbat.cli.common import load_catalog_for
    from orbat.doctrine import load_doctrine
    from orbat.units import describe_unit

    store, orbat = _open(db, units)
    store.close()
    cat = load_catalog_for(catalog, db)
    info = describe_unit(orbat, name, cat, load_doctrine((), db_url=db_url(db)))
    if json_:
        print_json(info)
        return
    lines = [
        info["name"] + ("" if info["placed"] else "  (unplaced: read from sightings, not confirmed)"),
        f"  id: {info['id']}",
        f"  echelon: {info['echelon'] or 'unknown'}; branch: {info['branch_label'] or 'unknown'}; sidc: {info['sidc']}",
        f"  actor: {info['actor'] or 'unknown'}",
        f"  parent: {' < '.join(info['ancestors']) if info['ancestors'] else 'none'}",
    ]
    if info["aliases"]:
        lines.append("  also: " + "; ".join(info["aliases"]))
    if info["sub_units"]:
        lines.append("  sub-units: " + "; ".join(info["sub_units"]))
    if info["notes"]:
        lines.append(f"  notes: {info['notes']}")
    if info["sources"]:
        lines.append("  sources: " + "; ".join(info["sources"]))
    lines += [f"  why: {why}" for why in info["why"]]
    lines += [f"  estimate: {line}" for line in info["estimates"]]
    for line in lines:
        typer.echo(line)
    if info["equipment"]:
        from rich.table import Table

        table = Table()
        for column in ("equipment", "count", "seen", "arrived", "lost", "damaged", "on hand", "evid."):
            table.add_column(column, justify="left" if column == "equipment" else "right", overflow="fold")
        for h in info["equipment"]:
            table.add_row(h["label"], str(h["count"]), str(h["seen_max"]), str(h["arrived"]), str(h["lost"]),
                          str(h["damaged"]), str(h["on_hand"]), str(h["evidence"]))
        console().print(table)


@units_app.command("tree")
def tree(
    actor: Annotated[Optional[str], typer.Option("--actor", "-a", help="Only this actor's units (any name or alias).")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Figures from rows observed on or before this date (YYYY-MM-DD).")] = None,
    db: DbOption = None,
    units: UnitsOption = None,
) -> None:
    """Print the order of battle as an indented tree, each unit with what it was seen with and lost.

    Per unit: echelon, branch, symbol code, then `seen` (the most it is known
    to have had: its largest sighting, its arrivals, or its losses if more),
    `lost` (destroyed, abandoned, captured), `on hand` (seen - lost) and the
    number of sightings behind it. Units read from sightings and not yet
    confirmed are listed last, as unplaced.

    \b
    Example:
      orbat units tree --actor Russia --as-of 2022-03-01
    """
    from orbat.inventory import parse_date
    from orbat.units import tree_text

    when = parse_date(as_of)
    store, orbat = _open(db, units)
    store.close()
    rows = orbat.tree(actor=actor, as_of=when)
    if not rows:
        typer.echo("No units" + (f" for {actor}" if actor else "") + ".")
        return
    typer.echo(tree_text(rows), nl=False)


@units_app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="The unit (name, alias or id); a new name creates it.")],
    parent: Annotated[Optional[str], typer.Option("--parent", help="Its parent unit (name, alias or id); '' for none.")] = None,
    echelon: Annotated[Optional[str], typer.Option("--echelon", help="team, squad, section, platoon, company, battalion, regiment, brigade, division, corps, army, army-group, region or command.")] = None,
    branch: Annotated[Optional[str], typer.Option("--branch", help="A branch id (tank, motor-rifle, airborne, ...: see `orbat units rules`).")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Who it belongs to.")] = None,
    rename: Annotated[Optional[str], typer.Option("--rename", help="A new display name (the old one stays an alias).")] = None,
    alias: Annotated[Optional[list[str]], typer.Option("--alias", help="Another name, e.g. a former one (repeatable).")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="A source for the unit (repeatable).")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes.")] = None,
    db: DbOption = None,
    units: UnitsOption = None,
) -> None:
    """Create or change a unit and confirm it: parent, echelon, branch, actor, names, sources, notes.

    The parent must be a known unit, and a unit cannot become its own
    ancestor: the loop is named and nothing changes. Options you leave out
    keep their value. The unit is stored in the database.

    \b
    Example:
      orbat units set "423rd Motor Rifle Regiment" --parent "4th Guards Tank Division" --echelon regiment
    """
    from orbat.units import UNSET, update_unit

    store, orbat = _open(db, units, must_exist=False)
    try:
        old = orbat.register.lookup(name)
        aliases = list(alias or [])
        if rename and old is not None:
            aliases.append(old.name)
        unit = update_unit(
            store, orbat, name,
            parent=UNSET if parent is None else parent, echelon=UNSET if echelon is None else echelon,
            branch=UNSET if branch is None else branch, actor=UNSET if actor is None else actor,
            new_name=UNSET if rename is None else rename, notes=UNSET if notes is None else notes,
            add_aliases=aliases, add_sources=list(source or []))
    finally:
        store.close()
    register = orbat.register
    parent_name = register.items[unit.parent].name if unit.parent in register.items else "none"
    typer.echo(f"{'Created' if old is None else 'Set'} {unit.name} [{unit.echelon or 'echelon unknown'}, "
               f"{register.rules.branch_label(unit.branch) or 'branch unknown'}] {register.sidc(unit)}; "
               f"parent: {parent_name}")


@units_app.command("attach")
def attach(
    convoy: Annotated[str, typer.Argument(help="The convoy key (or the id of a sighting without a convoy).")],
    unit: Annotated[str, typer.Argument(help="The unit (name, alias or id).")],
    db: DbOption = None,
    units: UnitsOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Attach a convoy to a unit: its estimate becomes the unit's, its unnamed rows count as the unit's.

    Rows that name a unit themselves keep it. Inventory totals do not change:
    attaching only says whose the vehicles are. Undo with `orbat units detach`.

    \b
    Example:
      orbat units attach bamako-2025-01-17 "Africa Corps 1st Assault Detachment"
    """
    from orbat.cli.common import load_catalog_for
    from orbat.doctrine import load_doctrine
    from orbat.units import attach as attach_convoy, describe_unit

    store, orbat = _open(db, units)
    try:
        found = attach_convoy(store, orbat, convoy, unit)
    finally:
        store.close()
    typer.echo(f"Attached convoy {convoy} to {found.name}.")
    info = describe_unit(orbat, found.id, load_catalog_for(catalog, db), load_doctrine((), db_url=db_url(db)))
    for line in info["estimates"]:
        typer.echo(line)


@units_app.command("detach")
def detach(
    convoy: Annotated[str, typer.Argument(help="The convoy key to detach.")],
    db: DbOption = None,
) -> None:
    """Detach a convoy from the unit it was attached to.

    \b
    Example:
      orbat units detach bamako-2025-01-17
    """
    from orbat.store import open_store
    from orbat.units import detach as detach_convoy

    with open_store(db_url(db), must_exist=True) as store:
        detach_convoy(store, convoy)
    typer.echo(f"Detached convoy {convoy}.")


@units_app.command("rules")
def rules(db: DbOption = None) -> None:
    """List the name rules that read a unit's echelon and branch, and the branches with their symbols.

    The words are data: catalogs/unit-rules.yaml (bundled), extended by a
    catalogs/unit-rules.yaml beside the database.

    \b
    Example:
      orbat units rules
    """
    from orbat.units import RULE_HELP, load_unit_rules

    loaded = load_unit_rules((), db_url=db_url(db))
    typer.echo("Name rules, in the order they run:")
    for rule in loaded.rules:
        typer.echo(f"  {rule.id}: {RULE_HELP[rule.id]}")
    typer.echo("Branches (2525D land unit entity, sector 2 modifier):")
    for branch_id, branch in loaded.branches.items():
        typer.echo(f"  {branch_id}: {branch.label} ({branch.entity}, {branch.modifier2})")
