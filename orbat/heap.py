"""How the C heap of an ``orbat`` process keeps the memory it frees (glibc only).

glibc maps each block above its mmap threshold on its own and unmaps it
when freed, and gives the top of the heap back above its trim threshold:
each new array of a few MB then costs a page fault per 4 KB on first touch.
Both thresholds grow by themselves only when a block that large happens to
be freed, so the estimator's page faults depended on what the read before
it had freed: at 20,000 convoys, 390,000-410,000 minor faults (1.1 s of
system time) when the reader left no large block behind, against 175,000
(0.6 s) with these fixed thresholds (4 runs each, ``--json``, 2 processes).
"""

from __future__ import annotations

import ctypes
import os
import sys

#: glibc's ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks from this size on are mapped on their own: glibc's own upper bound for its moving threshold
#: (``DEFAULT_MMAP_THRESHOLD_MAX`` on 64-bit), which the arrays of a block of convoys stay below.
MMAP_THRESHOLD = 32 * 1024**2
#: Free memory kept at the top of the heap: twice the mmap threshold, as glibc moves it itself.
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


def keep_freed_memory() -> bool:
    """Fix the heap's thresholds at :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD`; False where not glibc.

    For the command line's process (its worker processes inherit it); a
    library caller's process is left as it is.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""  # (platform.libc_ver reads the executable: 10 ms)
    except (ValueError, OSError):
        return False
    if not libc.startswith("glibc"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    # The trim threshold first: setting either stops glibc moving both.
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) & bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
