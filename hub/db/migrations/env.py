"""Alembic environment: runs on the connection `hub.db.engine.open_database` hands over (never a URL from
an ini file, so the hub's config stays the one place the database is named)."""

from __future__ import annotations

from alembic import context

from hub.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the hub's migrations through hub.db.engine.open_database(url)")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
