"""orbat's benchmark suite: each step timed beside the bare libraries it stands on.

Run ``python -m benchmarks --help``; see ``benchmarks/README.md`` for the
figures and the machine they came from, and :mod:`benchmarks.generate` for
the synthetic sightings the steps run on.
"""
