"""orbat: from OSINT equipment sightings to order-of-battle estimates.

The library API lives in one module per noun (``orbat.catalog``,
``orbat.sightings``, ``orbat.store``, ``orbat.estimate``, ...); the
command-line interface in ``orbat.cli`` is a thin layer over it.
"""

__version__ = "0.1.0"
