"""Run one repetition of one case in this (fresh) process; print one JSON line.

``python -m benchmarks._worker '{"case": "import.orbat", "file": ..., "work": ..., "rows": ...}'``

The line holds ``status`` (``ok``, ``missing`` or ``error``), the timed
``seconds``, what the run reported (``rows``, ...), and ``peak_kb``: the
peak resident memory of this process (setup included) or, for cases that
time a command, of that command (``RUSAGE_CHILDREN``: it is our only child).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    from benchmarks.steps import CASES, Missing

    case = CASES[spec["case"]]
    out: dict = {"case": case.id}
    try:
        state = case.setup(spec)
    except Missing as exc:
        out.update(status="missing", detail=str(exc))
        print(json.dumps(out))
        return 0
    except Exception as exc:  # a broken setup is reported, not fatal to the suite
        out.update(status="error", detail=f"setup: {type(exc).__name__}: {exc}",
                   trace=traceback.format_exc(limit=6))
        print(json.dumps(out))
        return 0
    try:
        started = time.perf_counter()
        info = case.run(state)
        seconds = time.perf_counter() - started
    except Exception as exc:
        out.update(status="error", detail=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc(limit=8))
        print(json.dumps(out))
        return 0
    # a case that times a command reports the command's own seconds
    out.update(status="ok", seconds=info.pop("seconds", seconds), **info)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["peak_kb"] = children if "argv" in state else own
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
