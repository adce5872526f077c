"""Shared fixtures. Test files mirror modules (test_catalog.py, test_cli_import.py, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
MALI_DIR = ROOT / "estimates" / "mali-2025-01-17"
MALI_CSV = MALI_DIR / "sightings.csv"


@pytest.fixture(scope="session")
def catalog():
    """The bundled equipment catalog (loaded once)."""
    from orbat.catalog import load_catalog

    return load_catalog()


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
def db_url(tmp_path) -> str:
    """A fresh, empty SQLite database URL in a temporary folder."""
    return f"sqlite:///{tmp_path / 'orbat.db'}"
