"""``python -m benchmarks``: see :func:`benchmarks.runner.main`."""

from benchmarks.runner import main

raise SystemExit(main())
