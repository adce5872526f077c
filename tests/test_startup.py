"""Start-up: what opening an up-to-date database and printing help load (nothing timed)."""

from __future__ import annotations

import subprocess
import sys


def test_the_scanned_migration_chain_is_alembics():
    from orbat.store import _scanned_revisions, _script

    known, head = _scanned_revisions()
    script = _script()
    assert head == script.get_current_head()
    assert known == {s.revision for s in script.walk_revisions()}


def test_an_up_to_date_database_opens_without_alembic(tmp_path, cli, mali_csv):
    url = f"sqlite:///{tmp_path / 'orbat.db'}"
    assert cli("import", mali_csv, "--db", url).exit_code == 0  # creates the schema (alembic migrates)
    code = (
        "import sys\n"
        "from orbat.store import open_store\n"
        f"with open_store({url!r}) as store:\n"
        "    print(store.revision(), len(store.sightings_frame()))\n"
        "print(sorted(m for m in ('alembic', 'mako') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from orbat.store import latest_revision

    revision, rows = done.stdout.splitlines()[0].split()
    assert revision == latest_revision()
    assert int(rows) > 0
    assert done.stdout.splitlines()[1] == "[]"


def test_an_old_database_is_still_migrated(tmp_path):
    """A database at an older revision gets the upgrade (alembic loads for it)."""
    from alembic import command

    from orbat.store import _alembic_config, _engine, latest_revision, open_store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine, _ = _engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    engine.dispose()
    with open_store(url) as store:
        assert store.revision() == latest_revision()
