"""The migrations build exactly the tables the models declare, on SQLite and PostgreSQL, in one
linear chain."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from opsloop.db import open_database
from opsloop.db.engine import MIGRATIONS
from opsloop.db.models import Base


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    db = open_database(database_url)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        db.close()
    assert diff == []


def test_the_revisions_form_one_chain() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1
    chain = [r.revision for r in script.walk_revisions()]
    assert chain[-1] == "0001"
    assert len(chain) == len(set(chain))
