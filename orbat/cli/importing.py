"""`orbat import`, `orbat add`, `orbat template` (being written)."""

from __future__ import annotations

from orbat.cli.app import app  # noqa: F401
