"""`orbat estimate --jobs N`: the convoy blocks made in N processes, the output the same bytes as in one."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_csv
from orbat import estimate, estimate_stream, workers
from orbat.doctrine import load_doctrine
from orbat.estimate_stream import ConvoyBlocks, cut_for, job_count, json_output
from orbat.jsonio import write_json_pieces
from orbat.sightings import read_sightings

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="worker processes need fork (Linux)")

CONVOYS = 400


@pytest.fixture(scope="module")
def convoys_csv(catalog, tmp_path_factory):
    """Generated convoys (ranges, merged categories, unknown names, loss rows), enough for many blocks."""
    return generate_csv(tmp_path_factory.mktemp("jobs") / "convoys.csv", convoys=CONVOYS, seed=11, catalog=catalog)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch, tmp_path):
    """Blocks of 25 convoys (16 of them for 400), so that each process makes several; worker files here."""
    monkeypatch.setattr(estimate_stream, "MIN_BLOCK", 25)
    monkeypatch.setattr(estimate_stream, "BLOCKS_PER_JOB", 8)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ChildProcessError):  # every worker ended and was waited for
        os.waitpid(-1, os.WNOHANG)


def _same_for_every_job_count(cli, *args):
    outputs = {}
    for jobs in ("1", "2", "3"):
        result = cli("estimate", *args, "--jobs", jobs)
        assert result.exit_code == 0, result.output
        outputs[jobs] = result.stdout_bytes
    assert outputs["2"] == outputs["1"]
    assert outputs["3"] == outputs["1"]
    return outputs["1"]


@pytest.mark.parametrize("options", [
    ("--json",), ("--json", "--indent"), ("--jsonl",),
    ("--json", "--trace", "full"), ("--jsonl", "--trace", "best"), ("--jsonl", "--trace", "none"),
    ("--json", "--seed", "7", "--samples", "50"),
], ids=" ".join)
def test_json_is_the_same_bytes_whatever_the_jobs(cli, convoys_csv, options):
    out = _same_for_every_job_count(cli, convoys_csv, *options)
    if "--jsonl" in options:
        assert len(out.splitlines()) > 300
    else:
        assert out.startswith(b"[") and out.endswith(b"]\n")


@pytest.mark.parametrize("sort", ["convoy", "vehicles", "confidence", "echelon"])
def test_the_table_is_the_same_whatever_the_jobs(cli, convoys_csv, sort):
    out = _same_for_every_job_count(cli, convoys_csv, "--sort", sort, "--no-pager")
    assert f"sorted by {sort}" in out.decode()


def test_markdown_is_the_same_whatever_the_jobs(cli, convoys_csv):
    out = _same_for_every_job_count(cli, convoys_csv, "--markdown")
    assert out.startswith(b"# Convoy ") and out.count(b"\n\n# Convoy ") > 300 and out.endswith(b"\n")


def test_the_jobs_give_what_one_process_gave_before(cli, convoys_csv, monkeypatch, catalog):
    """The --jobs stream is the JSON of one whole run (estimate_convoys, to_dict), not just self-consistent."""
    from orbat import jsonio

    frame = read_sightings(convoys_csv, catalog)
    objects = [e.to_dict("best") for e in estimate.estimate_convoys(frame, catalog, load_doctrine())]
    assert cli("estimate", convoys_csv, "--jsonl", "--jobs", "3").stdout_bytes == b"".join(
        jsonio.dumps(o) + b"\n" for o in objects)


def test_few_convoys_keep_their_panels_and_full_trace_with_jobs(cli, mali_csv):
    one, two = cli("estimate", mali_csv, "--jobs", "1"), cli("estimate", mali_csv, "--jobs", "2")
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert two.stdout == one.stdout and "alternatives" in one.stdout
    assert cli("estimate", mali_csv, "--json", "-j", "2").stdout == cli("estimate", mali_csv, "--json").stdout


def test_a_failing_worker_is_one_clean_error(cli, convoys_csv, monkeypatch):
    real = estimate.estimate_convoys

    def failing(frame, *args, **kwargs):
        if workers.in_worker():
            raise estimate.UnknownConvoy("no sighting belongs to convoy 'x'")
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(estimate, "estimate_convoys", failing)
    result = cli("estimate", convoys_csv, "--jsonl", "--jobs", "2")
    assert result.exit_code == 1
    assert result.stderr.count("a worker process failed: no sighting belongs to convoy 'x'") == 1
    assert "Traceback" not in result.stderr


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=st.integers(1, 3), block=st.integers(30, 450))
def test_the_json_does_not_depend_on_jobs_or_block_size(convoys_csv, catalog, jobs, block):
    import io

    frame = read_sightings(convoys_csv, catalog)
    outputs = []
    for j, size in ((1, None), (jobs, block)):
        blocks = ConvoyBlocks(frame)
        n = cut_for(blocks, j, size)
        out = io.BytesIO()
        write_json_pieces(json_output(blocks, catalog, load_doctrine(), samples=30, seed=3, jobs=n), out)
        outputs.append(out.getvalue())
    assert outputs[1] == outputs[0]


def test_left_to_itself_more_processes_only_where_they_pay(monkeypatch):
    monkeypatch.setattr(workers, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert job_count(None, 100) == 1
    assert job_count(None, 20_000) == 2
    assert job_count(3, 100) == 3  # asked for: as asked
    assert job_count(None, 20_000, pays=False) == 1 and job_count(2, 20_000, pays=False) == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (2.4, 2.0, 1.0))  # both CPUs busy already
    assert job_count(None, 20_000) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (1.7, 1.0, 1.0))  # one busy: not enough for a process
    assert job_count(None, 20_000) == 1
    monkeypatch.setattr(estimate_stream, "can_fork", lambda: False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert job_count(None, 20_000) == 1 and job_count(4, 20_000) == 1


def _orbat_with_small_blocks(path, *args, tmp_path):
    """`orbat estimate PATH ARGS` as its own process (and process group), blocks of 25 convoys."""
    import subprocess
    import sys

    code = ("import sys; import orbat.estimate_stream as s; s.MIN_BLOCK = 25; s.BLOCKS_PER_JOB = 8; "
            "sys.argv[0] = 'orbat'; from orbat.__main__ import main; main()")
    return subprocess.Popen([sys.executable, "-c", code, "estimate", str(path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)})


def _group_gone(pgid) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("how", ["closed pipe", "ctrl-c"])
def test_a_closed_pipe_or_ctrl_c_stops_the_workers(convoys_csv, tmp_path, how):
    import signal

    proc = _orbat_with_small_blocks(convoys_csv, "--jsonl", "--samples", "2000", "--jobs", "3", tmp_path=tmp_path)
    first = proc.stdout.readline()
    assert first.startswith(b'{"convoy":')
    if how == "closed pipe":
        proc.stdout.close()  # as `| head -1` does
    else:
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends the whole group on Ctrl-C
    proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    assert "Traceback" not in err
    if how == "closed pipe":
        assert proc.returncode == 0, err
    for _ in range(50):  # the workers are killed and waited for before the command returns
        if _group_gone(proc.pid):
            break
        import time

        time.sleep(0.1)
    assert _group_gone(proc.pid)
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["", "b", "a", "ä", "a b", "10", "9"]),
                               st.sampled_from(["s1", "s2", "S1"]),
                               st.sampled_from(["sighting", "destroyed", "arrival", None])), max_size=30))
def test_the_blocks_rank_keys_as_numpy_text_sorts_them(rows):
    """ConvoyBlocks' row ranks are each key's place among the distinct keys sorted as numpy text."""
    import numpy as np
    import pandas as pd

    from orbat.convoy import CONVOY_EVENTS, convoy_keys

    frame = pd.DataFrame(rows, columns=["convoy", "sighting_id", "event"], dtype=object)
    frame["convoy"] = frame["convoy"].replace("", np.nan)
    blocks = ConvoyBlocks(frame)
    keys = convoy_keys(frame).to_numpy(dtype=object).astype(str)
    distinct = np.unique(keys)
    assert blocks._index.tolist() == np.searchsorted(distinct, keys).tolist()
    assert blocks.convoys == len(distinct)
    describes = [e is None or e in CONVOY_EVENTS for e in frame["event"]]
    assert blocks.estimated == len(set(keys[np.array(describes, dtype=bool)].tolist())) if rows else blocks.estimated == 0


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e", ""]),
                               st.sampled_from(["s1", "s2", "s3"]),
                               st.sampled_from(["sighting", "destroyed", "captured", None])), max_size=30),
       block=st.integers(1, 4))
def test_blocks_are_cut_by_the_convoys_that_get_an_estimate(rows, block):
    """Each block holds ``block`` estimated convoys (the last fewer); a loss-only key rides with the next."""
    import numpy as np
    import pandas as pd

    from orbat.convoy import CONVOY_EVENTS

    frame = pd.DataFrame(rows, columns=["convoy", "sighting_id", "event"], dtype=object)
    frame["convoy"] = frame["convoy"].replace("", np.nan)
    blocks = ConvoyBlocks(frame)
    blocks.cut(block)
    assert blocks.blocks == max(1, -(-blocks.estimated // block))
    part = blocks._part
    assert (np.diff(part[np.argsort(blocks._index, kind="stable")]) >= 0).all()  # contiguous, in key order
    describes = np.array([e is None or e in CONVOY_EVENTS for e in frame["event"]], dtype=bool)
    for b in range(blocks.blocks):
        estimated = len(set(blocks._index[(part == b) & describes].tolist()))
        assert estimated == (block if b < blocks.blocks - 1 else blocks.estimated - block * (blocks.blocks - 1))
