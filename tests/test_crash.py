"""An import (or upgrade) killed with SIGKILL leaves the database as it was; re-running completes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _frames import dump, mali_frame

from orbat.store import PAUSE_STAGES, latest_revision, open_store

WORKER = Path(__file__).resolve().parent / "_worker.py"
pytestmark = pytest.mark.slow


def start_worker(url: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), url, *args], env={**os.environ, **(env or {})},
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended before pausing: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("worker never reached its pause")
        time.sleep(0.02)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def assert_sqlite_intact(url: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.fixture
def seeded(store_url):
    """A database holding the Mali case and a first import of the worker's sightings."""
    from _worker import frame

    with open_store(store_url) as store:
        store.import_frame(mali_frame(), source="sightings.csv")
        store.import_frame(frame("crash", 300, 50, 0), source="crash.csv")
    return store_url


# every stage of an import after the write lock is taken
IMPORT_STAGES = [s for s in PAUSE_STAGES if s != "migrated"]


@pytest.mark.parametrize("stage", IMPORT_STAGES)
def test_an_import_killed_at_any_stage_changes_nothing_and_reruns(seeded, tmp_path, stage):
    before = dump(seeded)
    signal_file = tmp_path / "paused"
    # variant 1 changes every shared sighting and adds new ones: updates, history and inserts
    proc = start_worker(seeded, ["crash", "400", "50", "1"],
                        env={"ORBAT_TEST_PAUSE_AT": stage, "ORBAT_TEST_PAUSE_SIGNAL": str(signal_file)})
    wait_for(signal_file, proc)
    kill(proc)
    assert_sqlite_intact(seeded)
    assert dump(seeded) == before

    rerun = start_worker(seeded, ["crash", "400", "50", "1"])
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
    assert_sqlite_intact(seeded)
    with open_store(seeded) as store:
        counts = store.counts()
        assert counts["sightings"] == 2 + 400 + 50
        assert counts["entries"] == 18 + 5 * 450
        assert counts["imports"] == 3
        assert store.get_sighting("crash-399")["entries"][0]["count"] > 0
        assert len(store.history("crash-0")) == 1


def test_an_import_killed_after_random_delays_is_all_or_nothing(store_url, tmp_path):
    rng = random.Random(20250117)
    with open_store(store_url) as store:
        store.revision()
    for attempt in range(3):
        before = dump(store_url)
        proc = start_worker(store_url, [f"big{attempt}", "3000", "0", "0"])
        time.sleep(rng.uniform(1.0, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert_sqlite_intact(store_url)
        after = dump(store_url)
        added = {r[0] for r in after["sightings"]} - {r[0] for r in before["sightings"]}
        # either the whole import landed or none of it did
        assert added in (set(), {f"big{attempt}-{i}" for i in range(3000)})
        assert len(after["entries"]) - len(before["entries"]) == 5 * len(added)
        assert len(after["imports"]) - len(before["imports"]) == (1 if added else 0)


def test_an_upgrade_killed_before_commit_leaves_the_old_revision(tmp_path):
    from test_migrations import make_revision_1_database

    url = make_revision_1_database(tmp_path / "old.db")
    before = dump_rev1(url)
    signal_file = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from orbat.store import open_store; open_store(sys.argv[1])", url],
        env={**os.environ, "ORBAT_TEST_PAUSE_AT": "migrated", "ORBAT_TEST_PAUSE_SIGNAL": str(signal_file)},
        text=True, stderr=subprocess.PIPE)
    wait_for(signal_file, proc)
    kill(proc)
    assert_sqlite_intact(url)
    assert dump_rev1(url) == before
    with open_store(url) as store:  # upgrading again completes
        assert store.revision() == latest_revision()
        assert store.counts()["entries"] == 18


def dump_rev1(url: str) -> dict:
    with sqlite3.connect(url.split(":///", 1)[1]) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables} | {
            "schema": conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()}
