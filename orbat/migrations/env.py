"""Alembic environment for orbat's schema.

orbat runs its migrations itself (``orbat.store.open_store`` and
``orbat db upgrade``): it hands Alembic a connection that is already inside
the transaction holding the database's write lock, so a migration and the
revision check before it are one atomic step, even with several processes
opening a fresh database at once. There is no alembic.ini and no offline mode.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs `alembic` by hand
    raise RuntimeError(
        "orbat's migrations run through orbat itself: use `orbat db upgrade --db URL`"
    )

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
