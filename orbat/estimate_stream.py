"""A frame's estimates a block of convoys at a time: in order in one process, or in several (``--jobs``).

A convoy's estimate depends only on its own rows, its random draws only on
its own keys: a frame cut into contiguous blocks of convoys in key order
(:class:`ConvoyBlocks`) gives, block after block, the same estimates as one
run over the whole frame. :class:`EstimateStream` estimates the blocks one
after the other, so that memory is that of one block; :func:`json_output`,
:func:`overview_rows` and :func:`markdown_output` spread the blocks over
worker processes (:mod:`orbat.workers`) and give back the same bytes, or
rows, as one process would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from orbat.coded_frame import CodedFrame
from orbat.collector import gc_paused
from orbat.workers import PROCESS_SPARE, can_fork, free_cpus, map_blocks, stream_blocks

if TYPE_CHECKING:
    from orbat.estimate_result import ConvoyEstimate
    from orbat.overview import OverviewRow

#: Convoys estimated together when a whole file is streamed (:func:`iter_estimates`).
STREAM_CONVOYS = 50_000
#: From this many convoys on, ``--jobs`` left to itself uses more than one process (when CPUs are free):
#: below it, forking and copying cost more than the second CPU saves (docs/performance.md, "Both CPUs").
PARALLEL_CONVOYS = 5_000
#: Processes ``--jobs`` left to itself uses at most.
AUTO_JOBS = 4
#: Blocks of convoys per process with ``--jobs``: more even out a CPU the machine slows, but each block costs
#: its own rule tables, scenario chunks and trace entries. At 20,000 convoys on 2 free CPUs one block a
#: process took 3.6-3.8 s of wall time against 4.3-4.5 s for two (docs/performance.md, "Third pass");
#: processes are only used when the CPUs are free (:data:`orbat.workers.PROCESS_SPARE`).
BLOCKS_PER_JOB = 1
#: Convoys a block holds at least with ``--jobs`` (a smaller block costs more in fixed costs than it evens out).
MIN_BLOCK = 1_000


class ConvoyBlocks:
    """A frame's convoys, in key order, cut into contiguous blocks of ``block`` estimated convoys.

    ``convoys`` is how many distinct keys the frame has, ``estimated`` how
    many of them get an estimate (a key with loss rows only has none);
    ``frame_of(b)`` is the rows of block ``b``.
    """

    def __init__(self, frame: pd.DataFrame | CodedFrame):
        from orbat.convoy import CONVOY_EVENTS

        # Each row's rank among the distinct keys as numpy text sorts them.
        self._index, self.convoys = _key_ranks(frame)
        # Keys with a row that describes a convoy (what orbat.convoy.aggregate_convoys estimates).
        codes, uniques = _codes_of(frame, "event")
        describes = np.array([True if pd.isna(u) else u in CONVOY_EVENTS for u in uniques] + [True],
                             dtype=bool)  # (NA: a sighting)
        described = np.zeros(self.convoys, dtype=bool)
        described[self._index[describes[codes]]] = True  # (np.unique of the rows' ranks costs 30x this)
        self.estimated = int(described.sum())
        # Each key's place among the estimated keys (a key with loss rows only: that of the next estimated
        # key), so that blocks are cut by the convoys that cost an estimate: at 20,000 convoys with 2,045
        # loss-only keys, cutting by keys gave one process 11,023 estimates and the other 8,977.
        self._place = np.cumsum(described) - described
        self._frame: pd.DataFrame | CodedFrame | None = frame
        self.cut(STREAM_CONVOYS)

    def cut(self, block: int) -> None:
        """Blocks of ``block`` estimated convoys from now on (``blocks`` says how many); a key with loss
        rows only goes with the next estimated key (with the last block after the last one)."""
        self.block = max(1, block)
        self.blocks = max(1, -(-self.estimated // self.block))
        self._part = np.minimum(self._place // self.block, self.blocks - 1)[self._index]

    def frame_of(self, b: int) -> pd.DataFrame:
        """The rows of block ``b``'s convoys (the whole frame when there is one block)."""
        if isinstance(self._frame, CodedFrame):
            if self.blocks == 1:  # made once, kept: the one block may be asked for again (--markdown)
                self._frame = self._frame.frame()
            else:  # only this block's rows are made (in the worker that estimates it)
                return self._frame.take(np.flatnonzero(self._part == b))
        if self.blocks == 1:
            return self._frame
        return self._frame[self._part == b]

    def estimate(self, b: int, *, release: bool = False, **options) -> list[ConvoyEstimate]:
        """Block ``b``'s estimates (:func:`orbat.estimate.estimate_convoys`); ``release``: the frame is not needed after."""
        from orbat.estimate import estimate_convoys

        frame = self.frame_of(b)
        if release:
            self._frame = None
        return estimate_convoys(frame, **options) if self.blocks == 1 or len(frame) else []


def _key_ranks(frame: pd.DataFrame | CodedFrame) -> tuple[np.ndarray, int]:
    """Each row's convoy key (:func:`orbat.convoy.convoy_keys`) as its rank among the distinct keys sorted as
    numpy text, and how many distinct keys there are."""
    from orbat.convoy import convoy_keys

    if isinstance(frame, CodedFrame):
        # From the codes: a row's key is its convoy's value, or (no convoy) its sighting's; only the values
        # some row has are made text and sorted (two codes of one text get one rank). No row's text is hashed.
        convoy, convoys = frame.codes_of("convoy")
        sighting, sightings = frame.codes_of("sighting_id")
        blank = pd.isna(convoys) | (convoys == "")
        by_row = np.where(blank[convoy], len(convoys) + sighting.astype(np.intp), convoy)
        present = np.zeros(len(convoys) + len(sightings), dtype=bool)
        present[by_row] = True
        keys = np.flatnonzero(present)
        texts = np.concatenate([convoys, sightings])[keys]  # a missing sighting_id is the text "nan", as there
        rank_of = np.zeros(len(present), dtype=np.intp)
    else:
        # Hashed once per row (pd.factorize), then only the distinct keys are made numpy text and sorted:
        # sorting every row's key as text cost four times as much.
        by_row, texts = pd.factorize(convoy_keys(frame).to_numpy(dtype=object))
        keys = rank_of = None
    distinct, rank = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    if keys is not None:
        rank_of[keys] = rank
        rank = rank_of
    return (rank[by_row] if len(by_row) else np.zeros(0, dtype=np.int64)), len(distinct)


def _codes_of(frame: pd.DataFrame | CodedFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A column as ``(codes, distinct values)``; a code -1 (a frame's missing value) is the value after the last."""
    if isinstance(frame, CodedFrame):
        return frame.codes_of(name)
    return pd.factorize(frame[name].to_numpy(dtype=object))


class EstimateStream:
    """Every convoy's estimate of a frame, in convoy key order, estimated a block of convoys at a time.

    The same estimates as :func:`orbat.estimate.estimate_convoys` (a convoy's
    estimate depends on its own rows only, its draws on its own keys), but
    the estimator's working memory is that of one block of ``block``
    convoys, and each block's run is let go once its convoys are taken:
    200,000 convoys stream in about the memory of 50,000. The first block
    is estimated when the stream is made (``first``); ``blocks`` says how
    many there are (one: ``first`` is every convoy). Iterate it once.
    """

    def __init__(self, frame: pd.DataFrame, catalog, doctrine=None, *, samples: int = 200, seed: int = 0,
                 block: int | None = None):
        self._options = block_options(catalog, doctrine, samples=samples, seed=seed)
        self._cut = ConvoyBlocks(frame)
        self._cut.cut(block or STREAM_CONVOYS)
        self.blocks = self._cut.blocks
        self.first = self._estimate(0)

    def _estimate(self, b: int) -> list[ConvoyEstimate]:
        return self._cut.estimate(b, release=b == self.blocks - 1, **self._options)

    def __iter__(self) -> Iterator[ConvoyEstimate]:
        first, self.first = self.first, []
        yield from _taken(first)
        for b in range(1, self.blocks):
            yield from _taken(self._estimate(b))


def block_options(catalog, doctrine=None, *, samples: int = 200, seed: int = 0) -> dict:
    """What every block's :func:`orbat.estimate.estimate_convoys` takes, the doctrine's rule reads among it.

    What the rules read (:class:`orbat.estimate.RuleReads`) depends on the
    doctrine only: found once here, in the process that forks the workers
    (they inherit it), not once per block.
    """
    from orbat.estimate import RuleReads

    reads = RuleReads.of(doctrine)
    return {"catalog": catalog, "doctrine": reads.doctrine, "samples": samples, "seed": seed, "reads": reads}


def iter_estimates(frame: pd.DataFrame, catalog, doctrine=None, *, samples: int = 200, seed: int = 0,
                   block: int | None = None) -> Iterator[ConvoyEstimate]:
    """Every convoy's estimate, in convoy key order, ``block`` convoys estimated at a time (see :class:`EstimateStream`)."""
    return iter(EstimateStream(frame, catalog, doctrine, samples=samples, seed=seed, block=block))


def _taken(estimates: list[ConvoyEstimate]) -> Iterator[ConvoyEstimate]:
    """The estimates one by one, each let go of once taken: what it cached for its JSON goes with it."""
    for i in range(len(estimates)):
        estimate, estimates[i] = estimates[i], None
        yield estimate


# --- the same in several processes (--jobs) ---------------------------------------------------------


def job_count(requested: int | None, convoys: int, *, pays: bool = True) -> int:
    """Processes to estimate ``convoys`` convoys in: ``requested``, or, left to orbat, what pays.

    More than one only with ``fork`` (:func:`orbat.workers.can_fork`),
    from :data:`PARALLEL_CONVOYS` convoys on, and as many as
    :func:`orbat.workers.free_cpus` finds free (at most :data:`AUTO_JOBS`; the
    load average below the CPUs less :data:`orbat.workers.PROCESS_SPARE`).
    ``pays=False``: the output has little per-convoy work besides the
    estimate, which has its two threads already (the many-convoy table: no
    faster in two processes, measured), so one unless ``requested``.
    """
    if not can_fork():
        return 1
    if requested is not None:
        return max(1, requested)
    if convoys < PARALLEL_CONVOYS or not pays:
        return 1
    return max(1, min(free_cpus(AUTO_JOBS, spare=PROCESS_SPARE), convoys // PARALLEL_CONVOYS))


def cut_for(blocks: ConvoyBlocks, jobs: int, block: int | None = None) -> int:
    """Cut ``blocks`` for ``jobs`` processes; returns how many processes get a block.

    ``block`` convoys a block; by default :data:`BLOCKS_PER_JOB` blocks a
    process (each process takes the next free block: small blocks even out
    a CPU the machine's other work slows), of :data:`MIN_BLOCK` to
    :data:`STREAM_CONVOYS` convoys. One process: one block of up to
    :data:`STREAM_CONVOYS`, as :class:`EstimateStream`.
    """
    if block is None:
        share = -(-blocks.estimated // (max(jobs, 1) * BLOCKS_PER_JOB)) if jobs > 1 else STREAM_CONVOYS
        block = min(STREAM_CONVOYS, max(MIN_BLOCK, share))
    blocks.cut(block)
    return max(1, min(jobs, blocks.blocks))


def json_output(blocks: ConvoyBlocks, catalog, doctrine=None, *, samples: int = 200, seed: int = 0,
                trace: str = "best", lines: bool = False, indent: bool = False,
                jobs: int = 1) -> Iterator[bytes]:
    """Every convoy's JSON, in key order: the pieces of :func:`orbat.jsonio.json_pieces` (``lines``: of
    :func:`orbat.jsonio.jsonl_pieces`), made block by block in ``jobs`` processes.

    Cut ``blocks`` first (:func:`cut_for`). The bytes are the same whatever
    ``jobs`` and the block size are.
    """
    from orbat.jsonio import json_pieces, jsonl_pieces

    options = block_options(catalog, doctrine, samples=samples, seed=seed)

    def make(b: int) -> Iterator[bytes]:
        with gc_paused():
            estimates = blocks.estimate(b, release=b == blocks.blocks - 1, **options)
            objects = (e.to_dict(trace) for e in _taken(estimates))
            yield from jsonl_pieces(objects) if lines else json_pieces(objects, indent=indent)

    return stream_blocks(blocks.blocks, jobs, make)


def overview_rows(blocks: ConvoyBlocks, catalog, doctrine=None, *, samples: int = 200, seed: int = 0,
                  sort: str = "convoy", jobs: int = 1) -> list[OverviewRow]:
    """Every convoy's row of the many-convoy table, sorted (:func:`orbat.overview.overview_rows`), the
    blocks estimated in ``jobs`` processes (cut ``blocks`` first: :func:`cut_for`)."""
    from orbat.overview import overview_rows as sorted_rows

    options = block_options(catalog, doctrine, samples=samples, seed=seed)

    def make(b: int) -> list[OverviewRow]:
        with gc_paused():
            return [e.overview_row for e in blocks.estimate(b, release=b == blocks.blocks - 1, **options)]

    with gc_paused():
        return sorted_rows([_Made(row) for rows in map_blocks(blocks.blocks, jobs, make) for row in rows], sort)


class _Made:
    """A row already made, as :func:`orbat.overview.overview_rows` takes it (an ``overview_row``)."""

    __slots__ = ("overview_row",)

    def __init__(self, row: OverviewRow):
        self.overview_row = row


def markdown_output(blocks: ConvoyBlocks, catalog, doctrine=None, *, samples: int = 200, seed: int = 0,
                    jobs: int = 1) -> Iterator[bytes]:
    """Every convoy's written assessment (:func:`orbat.assessment.markdown_assessment`) as UTF-8, each but the
    first after a blank line, the blocks made in ``jobs`` processes (cut ``blocks`` first: :func:`cut_for`).

    Each piece starts with its blank line (``b"\\n\\n"``); drop the first
    one's (as :func:`orbat.jsonio.write_json_pieces` drops a separator).
    """
    from orbat.assessment import markdown_assessment
    from orbat.estimate_result import to_dicts

    options = block_options(catalog, doctrine, samples=samples, seed=seed)

    def make(b: int) -> Iterator[bytes]:
        frame = blocks.frame_of(b)  # an assessment reads its convoy's rows: those of its block are enough
        for data in to_dicts(blocks.estimate(b, **options)):
            yield ("\n\n" + markdown_assessment(data, frame).rstrip()).encode()

    return stream_blocks(blocks.blocks, jobs, make)
