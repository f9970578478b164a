"""Operational store: SQLAlchemy 2 on SQLite (WAL) by default, PostgreSQL in production."""

from opsloop.db.engine import Database, open_database

__all__ = ["Database", "open_database"]
