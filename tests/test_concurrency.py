"""Several processes importing into one database at once: every row lands, once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _frames import dump

from orbat.store import latest_revision, open_store

WORKER = Path(__file__).resolve().parent / "_worker.py"
pytestmark = pytest.mark.slow


def run_together(url: str, tmp_path: Path, jobs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Start every worker, release them at once, wait for all."""
    go = tmp_path / "go"
    env = {**__import__("os").environ, "ORBAT_TEST_GO": str(go)}
    procs = [subprocess.Popen([sys.executable, str(WORKER), url, *job], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for job in jobs]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_four_concurrent_imports_into_a_fresh_database_all_land(store_url, tmp_path):
    n, shared = 300, 80
    # a fresh database: the four processes also race to create the schema
    results = run_together(store_url, tmp_path, [[f"w{k}", str(n), str(shared)] for k in range(4)])
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "locked" not in r.stderr
    summaries = [json.loads(r.stdout) for r in results]
    # each shared sighting was added by exactly one worker and found unchanged by the others
    assert sum(s["added"] for s in summaries) == 4 * n + shared
    assert sum(s["unchanged"] for s in summaries) == 3 * shared
    assert all(s["updated"] == 0 for s in summaries)

    with open_store(store_url) as store:
        frame = store.sightings_frame()
        assert store.counts() == {"sightings": 4 * n + shared, "archived sightings": 0,
                                  "entries": 5 * (4 * n + shared), "old versions": 0, "imports": 4}
        assert sorted(i["source_file"] for i in store.imports()) == [f"w{k}.csv" for k in range(4)]
    assert not frame.duplicated(["sighting_id", "equipment_id"]).any()
    assert set(frame["sighting_id"]) == (
        {f"w{k}-{i}" for k in range(4) for i in range(n)} | {f"shared-{i}" for i in range(shared)})
    assert dump(store_url)["alembic_version"] == [(latest_revision(),)]


def test_concurrent_conflicting_updates_keep_every_version(store_url, tmp_path):
    shared = 200
    with open_store(store_url) as store:  # schema first; the updates are what races here
        store.revision()
    results = run_together(store_url, tmp_path,
                           [[f"v{k}", "0", str(shared), str(k)] for k in range(4)])
    for r in results:
        assert r.returncode == 0, r.stderr
    summaries = [json.loads(r.stdout) for r in results]
    # serialized: the first adds, each later one replaces what the one before wrote
    assert sum(s["added"] for s in summaries) == shared
    assert sum(s["updated"] for s in summaries) == 3 * shared
    with open_store(store_url) as store:
        counts = store.counts()
        assert counts["sightings"] == shared and counts["entries"] == 5 * shared
        assert counts["old versions"] == 3 * shared
        versions = store.history("shared-0")
    chain = [v["imported_from"] for v in versions] + [None]
    replaced = [v["replaced_by"] for v in versions]
    assert chain[1:-1] == replaced[:-1]  # each version was replaced by the next one's file
    assert len(set(replaced)) == 3


def test_four_orbat_import_processes_into_one_sqlite_file(tmp_path):
    """The user's view: four `orbat import` commands at once, none fails with 'database is locked'."""
    from _worker import frame

    from orbat.sightings import COLUMNS

    db = tmp_path / "orbat.db"
    files = []
    for k in range(4):
        path = tmp_path / f"team{k}.csv"
        frame(f"team{k}", 150, 40)[list(COLUMNS)].to_csv(path, index=False)
        files.append(path)
    orbat = Path(sys.executable).with_name("orbat")
    command = [str(orbat)] if orbat.exists() else [sys.executable, "-m", "orbat"]
    procs = [subprocess.Popen([*command, "import", str(f), "--db", str(db)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        assert "locked" not in err
    with open_store(f"sqlite:///{db}") as store:
        assert store.counts() == {"sightings": 4 * 150 + 40, "archived sightings": 0,
                                  "entries": 5 * (4 * 150 + 40), "old versions": 0, "imports": 4}
        frame_back = store.sightings_frame()
        imports = store.imports()
    assert sum(i["added"] for i in imports) == 4 * 150 + 40
    assert sum(i["unchanged"] for i in imports) == 3 * 40
    assert frame_back["equipment_id"].nunique() == 5  # five catalog types, resolved by the reader
    assert not frame_back.duplicated(["sighting_id", "equipment_id"]).any()
