"""Worker processes: a function run over numbered blocks of work in N processes, results in block order.

Estimating a convoy depends only on its own rows (and its random draws on
its own keys), so a frame's convoys split into contiguous blocks that any
process can estimate; what is left of the per-convoy Python then runs on
every CPU instead of one. This module knows nothing of estimates: it forks
the workers, hands each its blocks, and gives their results back in block
order, as bytes (:func:`stream_blocks`) or as Python values
(:func:`map_blocks`).

How, and why so:

* Workers are made with ``fork`` (Linux, not spawn): they start at once,
  with the parent's frame, catalog and doctrine already in memory, nothing
  pickled on the way in. Where there is no fork everything runs in the
  calling process (:func:`can_fork`). Fork happens before any estimator
  thread pool exists, and a worker runs the estimator single-threaded
  (:func:`free_cpus` says 1 inside it).
* Each process takes the next block no other has taken (a claim file
  made with ``O_EXCL``), so a process slowed by the machine's other work
  simply makes fewer blocks. The caller takes block 0, and later each
  block whose turn has come that no worker has taken: it makes its own
  blocks as they are asked for, so the first bytes are out before any
  worker has finished (``--jsonl | head``).
* A worker writes each block's result to a file of its own in a temporary
  folder and says on a pipe when it is complete; the caller copies the file
  out when that block's turn comes, and deletes it. Memory stays that of
  one block in each process.
* A worker never writes to stdout (a test's captured output is the
  parent's alone) and always leaves with ``os._exit``: the caller's
  ``finally`` blocks and atexit handlers are the caller's.
* A failure in a worker is a :class:`orbat.errors.WorkerFailed` in the
  caller; whatever ends the caller's run (an error, Ctrl-C, a closed pipe)
  kills the workers and removes their files first.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from orbat.errors import OrbatError, WorkerFailed

#: Worker processes want the CPUs freer than threads do (load average below the CPUs less this): a worker
#: copies its own heap pages and repeats each block's fixed work, so half a CPU is not enough. On 2 CPUs,
#: 20,000 convoys' --json in two processes took 4.7-5.0 s against 5.9-6.6 s in one at load 1.1-1.2, but
#: 6.9 s against 5.6 s (one run each) at load 1.8-2.1 (docs/performance.md, "Both CPUs").
PROCESS_SPARE = 0.5

#: Bytes copied at a time from a worker's file.
COPY_CHUNK = 1 << 20

#: A run's temporary folder: ``orbat-jobs-<parent's pid>-<random>`` in the system's temporary folder.
FOLDER_PREFIX = "orbat-jobs-"

_single = False  # inside a worker (or while workers run): the estimator stays on one thread
_worker = False  # this process is a worker


def cpu_count() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def free_cpus(most: int | None = None, *, spare: float = 0.0) -> int:
    """How many CPUs work may be spread over now: up to ``most`` (default all), 1 when they are busy.

    One when every CPU is already busy (1-minute load average at least the
    CPUs, less ``spare``): a second thread or process then gets no CPU of
    its own and only contends (on 2 CPUs at load 2.6-3 the estimate of
    20,000 convoys took 0.81 s on one thread against 0.87 s on two, median
    of 8). One, too, inside a worker process and while workers run: the
    other CPUs are theirs. The one decision for the estimator's threads and
    the worker processes (which ask for ``spare``: :data:`PROCESS_SPARE`).
    """
    if _single:
        return 1
    cpus = cpu_count()
    n = min(most or cpus, cpus)
    if n > 1 and hasattr(os, "getloadavg") and os.getloadavg()[0] >= cpus - spare:
        return 1
    return max(n, 1)


def can_fork() -> bool:
    """Whether worker processes can be made here (``fork``: Linux and the like; not Windows, not macOS)."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def in_worker() -> bool:
    """Whether this process is one of the workers."""
    return _worker


def on_one_thread() -> bool:
    """Whether the estimator is to stay on one thread here: in a worker, and in the caller while workers run."""
    return _single


@contextmanager
def single_threaded() -> Iterator[None]:
    """The estimator on one thread in this process for the block (the workers have the other CPUs)."""
    global _single
    before, _single = _single, True
    try:
        yield
    finally:
        _single = before


def stream_blocks(blocks: int, jobs: int, make: Callable[[int], Iterable[bytes]]) -> Iterator[bytes]:
    """The bytes ``make(b)`` yields for every block ``b`` in ``range(blocks)``, in block order, in ``jobs`` processes.

    The caller's own blocks are yielded piece by piece as ``make`` yields
    them; a worker's block in chunks of its file. The concatenation is the
    same whatever ``jobs`` is. Close the iterator (or let it be collected)
    to stop early: the workers are killed.
    """
    def write(b: int, out: BinaryIO) -> None:
        for piece in make(b):
            out.write(piece)

    for b, made in _in_order(blocks, jobs, write):
        if made is None:
            yield from make(b)
            continue
        while chunk := made.read(COPY_CHUNK):
            yield chunk


def map_blocks(blocks: int, jobs: int, make: Callable[[int], Any]) -> list[Any]:
    """``[make(b) for b in range(blocks)]``, in ``jobs`` processes (the values must pickle)."""
    def write(b: int, out: BinaryIO) -> None:
        pickle.dump(make(b), out, protocol=pickle.HIGHEST_PROTOCOL)

    return [make(b) if made is None else pickle.load(made) for b, made in _in_order(blocks, jobs, write)]


def _in_order(blocks: int, jobs: int, write: Callable[[int, BinaryIO], None]) -> Iterator[tuple[int, BinaryIO | None]]:
    """Every block in order: ``(b, None)`` when the caller is to make it now, ``(b, file)`` when a worker made it.

    Each process takes the next block nobody has taken yet (the caller
    takes block 0, and then a block when its turn comes and no worker has
    it): a busy CPU makes fewer blocks, none waits for a share fixed ahead.
    """
    jobs = max(1, min(jobs, blocks))
    if jobs == 1 or not can_fork():
        for b in range(blocks):
            yield b, None
        return
    with _Workers(blocks, jobs, write) as workers, single_threaded():
        for b in range(blocks):
            while not workers.ready(b):
                if workers.take(b):  # its turn, and nobody has it: made now, its bytes straight out
                    yield b, None
                    break
                workers.make_ahead(b)  # a worker has it: meanwhile, the next free block, into a file
            else:
                with workers.result(b) as made:
                    yield b, made


class _Workers:
    """The forked workers of one run, each making the next block nobody has taken, until none is left.

    A block is taken by creating its claim file (``O_EXCL``: exactly one
    process can); a worker says on its pipe when a block's file is complete,
    and that it has finished.
    """

    def __init__(self, blocks: int, jobs: int, write: Callable[[int, BinaryIO], None]):
        self.blocks, self.jobs, self._write = blocks, jobs, write
        self.folder: Path | None = None
        self._pids: dict[int, int] = {}  # worker number -> pid, while it may still run
        self._pipes: dict[int, int] = {}  # read end of its pipe -> worker number
        self._unread: dict[int, bytes] = {}  # what came on a pipe after its last full line
        self._done: set[int] = set()
        self._finished: set[int] = set()
        self._mine: set[int] = set()  # the blocks this process took

    def __enter__(self) -> _Workers:
        try:
            sweep_stale_folders()
            self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
            self.take(0)  # the caller's: its first bytes go out at once
            sys.stdout.flush()
            sys.stderr.flush()
            for p in range(1, self.jobs):
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:  # the worker: never returns
                    os.close(read)
                    self._work(p, write)
                os.close(write)
                self._pids[p] = pid
                self._pipes[read] = p
                self._unread[read] = b""
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def take(self, b: int) -> bool:
        """Take block ``b`` for this process, if no other has: whether it is this process's."""
        if b in self._mine:
            return True
        try:
            os.close(os.open(self.folder / f"{b}.taken", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        self._mine.add(b)
        return True

    def ready(self, b: int) -> bool:
        """Whether block ``b``'s file is complete (what the workers said so far; waits for nothing)."""
        if b not in self._done and self._pipes:
            ready, _, _ = select.select(list(self._pipes), [], [], 0)
            for fd in ready:
                self._read(fd)
        return b in self._done

    def make_ahead(self, b: int) -> None:
        """While block ``b`` is a worker's and not done: make the next block nobody has taken into a file, as a
        worker would; with none left, wait until a worker says something (``b`` done, perhaps)."""
        for ahead in range(b + 1, self.blocks):
            if ahead not in self._mine and self.take(ahead):
                with open(self.folder / str(ahead), "wb") as out:
                    self._write(ahead, out)
                self._done.add(ahead)
                return
        if not self._pipes:
            raise WorkerFailed(f"no worker process made block {b}")  # pragma: no cover - taken means made
        ready, _, _ = select.select(list(self._pipes), [], [])
        for fd in ready:
            self._read(fd)

    @contextmanager
    def result(self, b: int) -> Iterator[BinaryIO]:
        """Block ``b``'s file, open for reading (it is complete: :meth:`ready`); deleted afterwards."""
        path = self.folder / str(b)
        try:
            with open(path, "rb") as f:
                yield f
        finally:
            path.unlink(missing_ok=True)

    def _read(self, fd: int) -> None:
        """What worker ``fd`` said: blocks done, its end, or its failure (a :class:`WorkerFailed`)."""
        p = self._pipes[fd]
        data = os.read(fd, 65536)
        if not data:  # the pipe closed: the worker has ended
            del self._pipes[fd]
            os.close(fd)
            how = self._ended(p)
            if p not in self._finished:  # killed, or out of memory, before it said it was done
                raise WorkerFailed(f"worker process {p} {how} before its blocks were done")
            return
        *lines, self._unread[fd] = (self._unread[fd] + data).split(b"\n")
        for line in lines:
            report = json.loads(line)
            if "error" in report:
                raise WorkerFailed(report["error"])
            if "done" in report:
                self._done.add(report["done"])
            elif report.get("finished"):
                self._finished.add(p)

    def _ended(self, p: int) -> str:
        """Wait for worker ``p`` to end; how it did, in words."""
        pid = self._pids.pop(p, None)
        if pid is None:
            return "ended"
        _, status = os.waitpid(pid, 0)
        return _how_it_ended(status)

    def close(self) -> None:
        """Kill the workers still running, wait for them, close their pipes and remove their files."""
        for pid in self._pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self._pids.values():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self._pids.clear()
        for fd in self._pipes:
            os.close(fd)
        self._pipes.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _work(self, p: int, status: int) -> None:
        """The worker's life: make the blocks it takes into files, say so on ``status``, leave with ``os._exit``."""
        global _single, _worker
        code = 1
        try:
            parent = os.getppid()
            _single = _worker = True
            self._mine = set()
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the worker, without a traceback
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            _die_with_parent(parent)
            for fd in self._pipes:  # the other workers' pipes are the parent's to read
                os.close(fd)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)  # never the parent's stdout: the parent writes every byte of the output
            for b in range(1, self.blocks):
                if not self.take(b):
                    continue
                with open(self.folder / str(b), "wb") as out:
                    self._write(b, out)
                os.write(status, json.dumps({"done": b}).encode() + b"\n")
            os.write(status, b'{"finished": true}\n')
            code = 0
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, as words
            try:
                text = exc.message if isinstance(exc, OrbatError) else f"{type(exc).__name__}: {exc}"
                os.write(status, json.dumps({"error": f"a worker process failed: {text}"}).encode() + b"\n")
            except BaseException:  # noqa: BLE001 - the parent is gone: nothing to tell
                pass
        finally:
            os._exit(code)


class Child:
    """One forked process computing ``make()``, its value sent back pickled; for work beside the caller's own.

    The value comes on a pipe: the child pickles it there as soon as it is
    made, and the caller unpickles it in :meth:`result` while it comes (the
    two overlap, and the child's exit with them); nothing is left on disk.
    Like a worker, the child never writes to stdout, dies with the caller and
    leaves with ``os._exit``. Use it as a context manager: leaving kills the
    child if it still runs (an error, Ctrl-C) and waits for it.
    """

    def __init__(self, make: Callable[[], Any]):
        self._pid: int | None = None
        self._read: BinaryIO | None = None
        read, write = os.pipe()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read)
                self._run(make, write)
            self._pid = pid
        except BaseException:
            os.close(read)
            self.close()
            raise
        finally:
            os.close(write)
        self._read = os.fdopen(read, "rb")

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, make: Callable[[], Any], write: int) -> None:
        global _single, _worker
        code = 1
        try:
            parent = os.getppid()
            _single = _worker = True
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child, without a traceback
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # and so does the caller's end of the pipe closing
            _die_with_parent(parent)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)  # never the parent's stdout
            sys.stdout = open(os.devnull, "w")  # nor what stands for it (a test's capture)
            try:
                value = (True, make())
            except Exception as exc:  # noqa: BLE001 - the failure goes back to the parent, as words
                value = (False, exc.message if isinstance(exc, OrbatError) else f"{type(exc).__name__}: {exc}")
            with os.fdopen(write, "wb") as out:
                pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)

    def result(self) -> Any:
        """What ``make()`` returned, once the child has sent it and ended; or a :class:`WorkerFailed`."""
        if self._pid is None or self._read is None:
            raise WorkerFailed("the child process has already been waited for")
        try:
            made, value = pickle.load(self._read)
        except (EOFError, pickle.UnpicklingError):
            made, value = False, None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            raise WorkerFailed(f"the child process {_how_it_ended(status)}")
        if not made:
            raise WorkerFailed(f"the child process failed: {value}")
        return value

    def close(self) -> None:
        """Kill the child if it still runs, wait for it, and close its pipe."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - it has ended, not yet been waited for
                pass
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:  # pragma: no cover - somebody else waited for it
                pass
            self._pid = None
        if self._read is not None:
            self._read.close()
            self._read = None


def _how_it_ended(status: int) -> str:
    """A process's end, from its ``waitpid`` status, in words."""
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"ended with exit code {os.waitstatus_to_exitcode(status)}"


def sweep_stale_folders(root: Path | None = None) -> list[Path]:
    """Remove the temporary folders of runs whose parent process is gone; returns them.

    A parent killed with SIGKILL takes its workers along (``PR_SET_PDEATHSIG``)
    but cannot remove its folder; the next run does. A folder whose pid is
    alive (or is another user's) is left alone: at worst a reused pid keeps
    a dead run's folder until that process ends too.
    """
    root = Path(root or tempfile.gettempdir())
    removed = []
    for path in root.glob(f"{FOLDER_PREFIX}*-*"):
        pid = path.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not path.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except (PermissionError, OverflowError):  # another user's process, or no pid at all
            continue
    return removed


def _die_with_parent(parent: int) -> None:
    """Have Linux kill this worker should the parent die (SIGKILL leaves it no time to): no orphan goes on."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux's libc
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
