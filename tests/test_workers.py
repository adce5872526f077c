"""Worker processes (orbat/workers.py): blocks made in N processes come back in order, the same whatever N."""

from __future__ import annotations

import os
import signal
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbat import workers
from orbat.errors import WorkerFailed
from orbat.workers import free_cpus, in_worker, map_blocks, stream_blocks

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="worker processes need fork (Linux)")


def pieces(b: int):
    """A block's bytes: a few pieces of different sizes, the last one big (copied in several chunks)."""
    yield f"<{b}".encode()
    yield b"." * (b % 5)
    yield bytes([65 + b % 26]) * (3 * workers.COPY_CHUNK // 2 if b == 3 else 10)
    yield b">"


def expected(blocks: int) -> bytes:
    return b"".join(p for b in range(blocks) for p in pieces(b))


@pytest.fixture(autouse=True)
def own_tmp(tmp_path, monkeypatch):
    """Worker files under this test's folder, to see that none is left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path
    assert list(tmp_path.iterdir()) == []  # the folder of the workers' files is gone
    with pytest.raises(ChildProcessError):  # and no worker is left, running or unwaited
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.parametrize("jobs", [1, 2, 3, 8])
def test_the_bytes_of_every_block_come_back_in_block_order(jobs):
    assert b"".join(stream_blocks(7, jobs, pieces)) == expected(7)


def test_values_come_back_in_block_order_from_the_workers():
    def make(b):
        time.sleep(0.1)  # time enough for the workers to start and take blocks
        return {"block": b, "pid": os.getpid(), "in_worker": in_worker()}

    made = map_blocks(9, 3, make)
    assert [m["block"] for m in made] == list(range(9))
    assert made[0]["pid"] == os.getpid() and not made[0]["in_worker"]
    assert any(m["pid"] != os.getpid() for m in made)  # some made by a worker ...
    assert all(m["in_worker"] for m in made if m["pid"] != os.getpid())  # ... which knows it is one


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blocks=st.integers(1, 12), jobs=st.integers(1, 4))
def test_the_result_does_not_depend_on_the_number_of_processes(blocks, jobs):
    assert b"".join(stream_blocks(blocks, jobs, pieces)) == expected(blocks)
    assert map_blocks(blocks, jobs, lambda b: b * b) == [b * b for b in range(blocks)]


def test_a_worker_failure_is_a_typed_error_and_leaves_nothing_behind():
    def make(b):
        if in_worker():
            raise ValueError(f"no good block {b}")
        time.sleep(0.1)  # the worker has time to start and take a block
        yield from pieces(b)

    with pytest.raises(WorkerFailed, match=r"a worker process failed: ValueError: no good block \d"):
        b"".join(stream_blocks(6, 2, make))


def test_a_killed_worker_is_a_typed_error():
    def make(b):
        if in_worker():
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.1)  # the worker has time to start and take a block
        return b

    with pytest.raises(WorkerFailed, match="killed by signal 9"):
        map_blocks(4, 2, make)


def test_a_failure_in_the_callers_own_block_stops_the_workers():
    def make(b):
        if not in_worker() and b == 0:
            raise KeyError("mine")
        time.sleep(0.05)
        yield b"x"

    with pytest.raises(KeyError):
        b"".join(stream_blocks(20, 3, make))


def test_stopping_early_kills_the_workers():
    def make(b):
        if in_worker():
            time.sleep(30)  # would hold the test half a minute, were the worker not killed
        yield b"block"

    out = stream_blocks(5, 2, make)
    started = time.monotonic()
    assert next(out) == b"block"
    out.close()  # as when the reader of a pipe goes away
    assert time.monotonic() - started < 10


def test_one_cpu_inside_a_worker_and_when_the_cpus_are_busy(monkeypatch):
    def cpus(b):
        time.sleep(0.1)
        return os.getpid(), free_cpus()

    made = map_blocks(4, 2, cpus)
    assert {n for pid, n in made if pid != os.getpid()} == {1}
    assert {n for pid, n in made if pid == os.getpid()} == {1}  # the caller too, while workers run
    monkeypatch.setattr(os, "getloadavg", lambda: (float(workers.cpu_count()), 0.0, 0.0))
    assert free_cpus() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert free_cpus(2) == min(2, workers.cpu_count())


def test_without_fork_everything_runs_in_the_caller(monkeypatch):
    monkeypatch.setattr(workers, "can_fork", lambda: False)
    assert map_blocks(4, 3, lambda b: (b, os.getpid())) == [(b, os.getpid()) for b in range(4)]


def test_a_parent_killed_with_sigkill_leaves_a_folder_the_next_run_removes(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from orbat.workers import stream_blocks\n"
        "def make(b):\n"
        "    print('started', flush=True)\n"
        "    time.sleep(60)\n"
        "    yield b''\n"
        "b''.join(stream_blocks(4, 2, make))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             env={**os.environ, "TMPDIR": str(tmp_path)})
    assert child.stdout.readline() == b"started\n"
    (folder,) = tmp_path.glob(f"{workers.FOLDER_PREFIX}{child.pid}-*")
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert folder.is_dir()  # SIGKILL gave it no time to clean up
    alive = tmp_path / f"{workers.FOLDER_PREFIX}{os.getpid()}-live"
    alive.mkdir()
    (tmp_path / f"{workers.FOLDER_PREFIX}notapid-x").mkdir()
    assert b"".join(stream_blocks(3, 2, pieces)) == expected(3)  # (own_tmp: in tmp_path)
    assert not folder.exists()  # swept by the next run
    assert alive.is_dir() and (tmp_path / f"{workers.FOLDER_PREFIX}notapid-x").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, f"{workers.FOLDER_PREFIX}notapid-x"])
    for path in tmp_path.iterdir():
        path.rmdir()
