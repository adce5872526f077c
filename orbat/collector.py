"""Python's cyclic garbage collector, paused while orbat makes many small objects.

Importing a file, estimating many convoys, writing their JSON or a map
layer each make millions of short-lived tuples, lists and dicts, none of
them in a reference cycle. Every few hundred new objects the collector
runs anyway, and its full passes walk every object alive (a sightings
frame's text columns too): 15-25 % of those commands' CPU time, measured
(see docs/performance.md). Reference counting still frees everything as
usual; only cycles wait until the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block, back as it was after it (also on error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
