"""Shared fixtures. Test files mirror modules (test_catalog.py, test_cli_import.py, ...)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
# The tests (and the orbat processes they start) keep orbat's cache of parsed catalogs in a folder
# of their own, not in the user's ~/.cache/orbat.
os.environ.setdefault("ORBAT_CACHE_DIR", tempfile.mkdtemp(prefix="orbat-test-cache-"))
MALI_DIR = ROOT / "estimates" / "mali-2025-01-17"
MALI_CSV = MALI_DIR / "sightings.csv"


@pytest.fixture(scope="session")
def catalog():
    """The bundled equipment catalog (loaded once)."""
    from orbat.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def cat():
    """A small fixed catalog (tests/data/import/equipment.yaml), independent of the bundled one."""
    from orbat.catalog import Catalog, parse_catalog_file

    catalog = Catalog()
    for entry in parse_catalog_file(ROOT / "tests" / "data" / "import" / "equipment.yaml"):
        catalog.add(entry, "test")
    return catalog


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke orbat like a user would: ``cli("catalog", "show", "T-72")``."""
    from orbat.cli import app

    def invoke(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return invoke


@pytest.fixture
def mali_csv() -> Path:
    return MALI_CSV


@pytest.fixture
def stored():
    """Read a database back as the canonical frame: ``stored(db_url)``."""

    def read(url: str):
        from orbat.store import open_store

        with open_store(url) as store:
            return store.sightings_frame()

    return read


@pytest.fixture(scope="session")
def mali(catalog):
    """The Bamako case as the canonical frame."""
    from orbat.sightings import read_sightings

    return read_sightings(MALI_CSV, catalog)


@pytest.fixture(scope="session")
def ten_convoys(mali):
    """The Bamako case ten times over, as ten convoys c00..c09 with their own sighting ids."""
    import pandas as pd

    parts = []
    for i in range(10):
        part = mali.copy()
        part["convoy"] = f"c{i:02d}"
        part["sighting_id"] = part["sighting_id"] + f"-{i}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def db_url(tmp_path) -> str:
    """A fresh, empty SQLite database URL in a temporary folder."""
    return f"sqlite:///{tmp_path / 'orbat.db'}"


# --- PostgreSQL (added by the database engineer) -----------------------------

PG_HOWTO = (
    'PostgreSQL tests need a server: eval "$(.venv/bin/python tests/pgserver.py start)", '
    "run pytest, then .venv/bin/python tests/pgserver.py stop"
)


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database (one per test) on the server at ORBAT_TEST_PG_URL.

    Skips when no server is given, except under CI (env CI set), where that is a failure.
    """
    import os
    import uuid

    base = os.environ.get("ORBAT_TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("CI is set but ORBAT_TEST_PG_URL is not. " + PG_HOWTO)
        pytest.skip(PG_HOWTO)
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"orbat_test_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    """A fresh, empty database URL: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orbat.db'}"
    return request.getfixturevalue("pg_url")
