"""PostgreSQL specifics (the shared store and CLI tests also run on PostgreSQL via ``store_url``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _frames import mali_frame

from orbat.errors import DatabaseError
from orbat.store import open_store

HERE = Path(__file__).resolve().parent


@pytest.mark.postgres
def test_a_plain_postgresql_url_uses_psycopg(pg_url):
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with open_store(plain) as store:
        assert store.dialect == "postgresql"
        store.import_frame(mali_frame())
        pd.testing.assert_frame_equal(store.sightings_frame(), mali_frame())


@pytest.mark.postgres
def test_a_large_import_goes_through_copy_and_round_trips(pg_url):
    from _worker import frame

    big = frame("bulk", 6000, 0)
    with open_store(pg_url) as store:
        summary = store.import_frame(big, source="bulk.csv")
        assert summary.added == 6000 and summary.rows == 30_000
        back = store.sightings_frame()
    expected = big.sort_values(["observed_at", "sighting_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)


@pytest.mark.postgres
def test_cli_works_on_postgresql(cli, pg_url):
    with open_store(pg_url) as store:
        store.import_frame(mali_frame())
    result = cli("db", "status", "--db", pg_url)
    assert result.exit_code == 0, result.output
    assert "(postgresql)" in result.output and "entries: 18" in result.output


def test_passwords_stay_out_of_error_messages():
    pytest.importorskip("psycopg")
    with pytest.raises(DatabaseError) as caught:
        open_store("postgresql+psycopg://analyst:s3cret@127.0.0.1:1/orbat?connect_timeout=2")
    assert "s3cret" not in caught.value.message
    assert "analyst:***@127.0.0.1:1/orbat" in caught.value.message


@pytest.mark.parametrize("ci, outcome", [(None, "skipped"), ("1", "error")])
def test_without_a_server_postgres_tests_skip_locally_and_fail_under_ci(ci, outcome):
    env = {k: v for k, v in os.environ.items() if k not in ("ORBAT_TEST_PG_URL", "CI")}
    if ci:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider",
         f"{HERE / 'test_postgres.py'}::test_cli_works_on_postgresql"],
        env=env, cwd=HERE.parent, capture_output=True, text=True, timeout=300)
    assert f"1 {outcome}" in result.stdout, result.stdout
    if outcome == "skipped":
        assert result.returncode == 0
        assert "tests/pgserver.py start" in result.stdout
    else:
        assert result.returncode == 1
        assert "CI is set but ORBAT_TEST_PG_URL is not" in result.stdout
