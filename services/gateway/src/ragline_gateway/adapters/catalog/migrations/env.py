"""Alembic environment for the catalog, run only programmatically.

:func:`ragline_gateway.adapters.catalog.migrate.upgrade_to_head` hands over a connection that is
already inside a transaction (and, on PostgreSQL, holds the migration lock), so there is no URL,
no ``alembic.ini`` and no offline mode here.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "The catalog migrations run from SqlCatalog.open(); they need a connection, not a URL."
    )

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
