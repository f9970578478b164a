"""Alembic environment: runs on the connection OpsLoop hands over (see db.engine.migrate)."""

from alembic import context

from opsloop.db.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
