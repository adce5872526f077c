"""A large CSV read in two processes (orbat/formats/csv_split.py) gives exactly the frame, or the error, of one read."""

from __future__ import annotations

import os
import random
import signal
import tempfile
import threading

import pandas as pd
import pytest

from orbat import workers
from orbat.errors import InputFileError, WorkerFailed
from orbat.formats import csv as csv_format
from orbat.formats import csv_split

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="the second part's process needs fork (Linux)")

HEADER = "sighting_id,observed_at,equipment,count,notes"


@pytest.fixture(autouse=True)
def split_every_file(tmp_path, monkeypatch):
    """Every file split (no size threshold, a free CPU whatever the load), in small chunks; nothing left behind."""
    monkeypatch.setattr(csv_split, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(workers, "free_cpus", lambda *args, **kwargs: 2)
    monkeypatch.setattr(csv_format, "CHUNK_ROWS", 7)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield
    assert list(folder.iterdir()) == []
    with pytest.raises(ChildProcessError):  # no child left, running or unwaited
        os.waitpid(-1, os.WNOHANG)


def sequential(path):
    return csv_format._read_text(path, "utf-8-sig", path.stat().st_size, None)


def split(path, progress=None):
    return csv_split.read_split(path, path.stat().st_size, csv_format.parse_options(",", "utf-8-sig"), progress)


def assert_same(got, want):
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for name in want.columns:  # the categories' order too (the validation's order of first appearance)
        assert got[name].cat.categories.tolist() == want[name].cat.categories.tolist()


def tricky_rows(rng: random.Random, count: int) -> list[str]:
    """Rows with quoted separators, doubled quotes, line ends inside quotes, short rows, blank rows."""
    notes = ["", "plain", '"a, b"', '"said ""halt"""', '"two\nlines"', '"crlf\r\ninside"', '"\n"', '""""', "é–ü"]
    rows = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.05:
            rows.append("")
        elif kind < 0.12:
            rows.append(f"s{i},2024-01-{1 + i % 28:02d}")
        else:
            rows.append(f"s{i % 13},2024-01-{1 + i % 28:02d},BTR-{i % 5},{i % 7},{rng.choice(notes)}")
    return rows


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("final", [True, False])
def test_the_split_read_is_the_sequential_read(tmp_path, seed, line_end, bom, final):
    rng = random.Random(seed)
    rows = tricky_rows(rng, rng.randrange(2, 80))
    text = line_end.join([HEADER, *rows]) + (line_end if final else "")
    path = tmp_path / "tricky.csv"
    path.write_bytes(bom + text.encode())
    got = split(path)
    if got is None:  # pragma: no cover - no safe cut near the middle (a tiny file): read_csv reads it the usual way
        assert csv_split.find_cut(path, path.stat().st_size) is None or len(rows) < 4
        return
    assert_same(got, sequential(path))
    assert_same(csv_format.read_csv(path, [], None), sequential(path))


def test_a_quoted_field_across_the_middle_is_not_cut(tmp_path):
    """The middle falls inside a quoted field of many lines: the cut is after it, at the next record's end."""
    lines = "\n".join(f"line {i}" for i in range(200))
    path = tmp_path / "long-note.csv"
    path.write_text(f'{HEADER}\ns1,2024-01-01,T-72,1,"{lines}"\ns2,2024-01-02,T-80,2,end\ns3,2024-01-03,T-90,3,x\n')
    cut = csv_split.find_cut(path, path.stat().st_size)
    assert path.read_bytes()[:cut].endswith(b'"\n') or path.read_bytes()[:cut].endswith(b"end\n")
    assert_same(split(path), sequential(path))


def test_a_stray_quote_makes_no_wrong_cut(tmp_path):
    """A quote inside an unquoted field is text to the parser but upsets the parity: the result is still the
    sequential one (the first part's parse fails at a cut inside quotes, and the file is read the usual way)."""
    rows = ['s0,2024-01-01,5" gun,1,x', *(f's{i},2024-01-01,T-72,1,"a\nb"' for i in range(1, 40))]
    path = tmp_path / "stray.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    got = split(path)
    if got is not None:
        assert_same(got, sequential(path))
    assert_same(csv_format.read_csv(path, [], None), sequential(path))


def rows_with(bad: str, at: int, count: int = 60) -> str:
    rows = [f"s{i},2024-01-01,T-72,1,n{i % 3}" for i in range(count)]
    rows[at] = bad
    return "\n".join([HEADER, *rows]) + "\n"


@pytest.mark.parametrize("at", [1, 45, 59])
def test_an_error_in_either_part_is_the_sequential_read_s(tmp_path, monkeypatch, at):
    path = tmp_path / "long-row.csv"
    path.write_text(rows_with("s9,2024-01-01,T-72,1,x,extra", at))
    with pytest.raises(InputFileError) as split_error:
        csv_format.read_csv(path, [], None)
    assert f"row {at + 2} has 6 fields but the header has 5" in str(split_error.value)
    monkeypatch.setattr(csv_split, "MIN_SPLIT_BYTES", 1 << 40)
    with pytest.raises(InputFileError) as usual_error:
        csv_format.read_csv(path, [], None)
    assert str(split_error.value) == str(usual_error.value)


def test_the_second_part_s_first_record_longer_than_the_header_is_an_error_not_lost_cells(tmp_path):
    path = tmp_path / "first-long.csv"
    path.write_text(f"{HEADER}\ns0,2024-01-01,T-72,1,{'x' * 200}\ns1,a,b,2024-01-01,T-72,1,x\ns2,2024-01-01,T-72,1,y\n")
    cut = csv_split.find_cut(path, path.stat().st_size)
    assert path.read_bytes()[cut:].startswith(b"s1,a,b,")
    assert split(path) is None
    with pytest.raises(InputFileError, match="row 3 has 7 fields"):
        csv_format.read_csv(path, [], None)


def test_a_bad_byte_in_the_second_part_gives_the_usual_note(tmp_path, monkeypatch):
    path = tmp_path / "cp1252.csv"
    path.write_bytes(rows_with("s9,2024-01-01,T-72,1,S\xe9gou", 50).encode("cp1252"))
    assert split(path) is None
    notes: list[str] = []
    got = csv_format.read_csv(path, notes, None)
    monkeypatch.setattr(csv_split, "MIN_SPLIT_BYTES", 1 << 40)
    usual_notes: list[str] = []
    assert_same(got, csv_format.read_csv(path, usual_notes, None))
    assert notes == usual_notes and "Windows-1252" in notes[0]


@pytest.mark.parametrize("how", ["raises", "killed"])
def test_a_failed_child_means_the_usual_read(tmp_path, monkeypatch, how):
    def fail(*args):
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("boom")

    path = tmp_path / "file.csv"
    path.write_text(rows_with("s9,2024-01-01,T-72,1,x", 3))
    want = sequential(path)
    monkeypatch.setattr(csv_split, "_second_part", fail)
    assert split(path) is None
    assert_same(csv_format.read_csv(path, [], None), want)


def test_progress_counts_the_file_s_bytes_once(tmp_path):
    path = tmp_path / "file.csv"
    path.write_text(rows_with("s9,2024-01-01,T-72,1,x", 3, count=3000))
    size = path.stat().st_size
    seen: list[tuple[str, int, int]] = []
    assert_same(split(path, lambda *report: seen.append(report)), sequential(path))
    assert {stage for stage, _, _ in seen} == {"reading"} and {total for _, _, total in seen} == {size}
    done = [d for _, d, _ in seen]
    assert done == sorted(done) and done[-1] == size and all(0 <= d <= size for d in done)


def test_no_split_below_the_threshold_or_inside_a_worker(tmp_path, monkeypatch):
    path = tmp_path / "file.csv"
    path.write_text(rows_with("s9,2024-01-01,T-72,1,x", 3))
    monkeypatch.setattr(csv_split, "MIN_SPLIT_BYTES", path.stat().st_size + 1)
    assert split(path) is None
    monkeypatch.setattr(csv_split, "MIN_SPLIT_BYTES", 0)
    with workers.single_threaded():
        assert split(path) is None
    monkeypatch.setattr(workers, "free_cpus", lambda *args, **kwargs: 1)
    assert split(path) is None
    monkeypatch.setattr(workers, "free_cpus", lambda *args, **kwargs: 2)
    assert split(path) is not None
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert split(path) is None  # another thread: no fork
    finally:
        stop.set()
        other.join()


def test_a_child_s_value_comes_back_and_its_failure_is_told(capfd):
    def made():
        print("not on the parent's stdout")
        return {"in_worker": workers.in_worker(), "pid": os.getpid()}

    with workers.Child(made) as child:
        value = child.result()
    assert value["in_worker"] and value["pid"] != os.getpid() and not workers.in_worker()
    assert capfd.readouterr().out == ""
    with workers.Child(lambda: 1 / 0) as child, pytest.raises(WorkerFailed, match="ZeroDivisionError"):
        child.result()
    with workers.Child(lambda: os._exit(3)) as child, pytest.raises(WorkerFailed, match="exit code 3"):
        child.result()


def test_leaving_early_kills_the_child():
    with workers.Child(lambda: signal.pause()) as child:
        pid = child._pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ctrl_c_in_the_first_part_kills_the_child_and_is_not_swallowed(tmp_path):
    path = tmp_path / "file.csv"
    path.write_text(rows_with("s9,2024-01-01,T-72,1,x", 3, count=3000))

    def interrupt(*report):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        split(path, interrupt)  # the fixture sees that no child is left


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_cut_after_any_line_end_gives_the_sequential_read_or_none(tmp_path, monkeypatch, line_end):
    """Whatever line end the cut is after (inside quotes or not, a blank row, the last one), the split read is
    the sequential one or is refused: a cut inside quotes makes the first part's parse fail."""
    rows = [*tricky_rows(random.Random(5), 30), "", 's9,2024-01-01,T-72,1,"last\nrow"', ""]
    path = tmp_path / "every-cut.csv"
    path.write_bytes(line_end.join([HEADER, *rows]).encode())
    data = path.read_bytes()
    want = sequential(path)
    used = 0
    for cut in [at + 1 for at in range(len(data)) if data[at:at + 1] == b"\n"]:
        monkeypatch.setattr(csv_split, "find_cut", lambda path, size, cut=cut: cut if cut < size else None)
        got = split(path)
        if got is not None:
            assert_same(got, want)
            used += 1
        else:
            assert data[:cut].count(b'"') % 2 == 1 or cut == len(data)  # refused only inside quotes
    assert used > 20
