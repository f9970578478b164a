"""One settings object: OPSLOOP_* environment or opsloop.toml; nothing else reads os.environ."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Where OpsLoop keeps its data and how it serves it."""

    model_config = SettingsConfigDict(
        env_prefix="OPSLOOP_", toml_file="opsloop.toml", extra="ignore"
    )

    data_dir: Path = Field(default=Path("opsloop-data"))
    # Operational store; default: SQLite (WAL) file inside data_dir.
    database_url: str | None = None
    # Event store; default: DuckDB file inside data_dir. "clickhouse://..." later.
    warehouse_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Ingestion limits.
    max_body_bytes: int = 20 * 1024 * 1024
    max_batch_events: int = 10_000
    max_future_seconds: int = 24 * 3600
    # Group commit: while several requests are arriving, the writer waits at most this long to
    # gather more into one commit. 0 (measured best with a few busy clients, benchmarks/README.md):
    # every commit takes whatever queued while the previous one ran.
    commit_interval_ms: int = 0
    # "group": one transaction per group of queued requests. "row": one transaction and one
    # single-row INSERT per event, only as the baseline benchmarks/bench_ingest.py compares with.
    writer_mode: Literal["group", "row"] = "group"
    secret_key: str | None = None
    log_level: str = "info"

    @field_validator("warehouse_url")
    @classmethod
    def _known_warehouse(cls, value: str | None) -> str | None:
        if value and not value.startswith("duckdb:///"):
            raise ValueError(
                "OPSLOOP_WAREHOUSE_URL must be duckdb:///PATH (ClickHouse support comes later)"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'opsloop.sqlite3').resolve()}"

    @cached_property
    def event_store_path(self) -> Path:
        if self.warehouse_url and self.warehouse_url.startswith("duckdb:///"):
            return Path(self.warehouse_url.removeprefix("duckdb:///"))
        return self.data_dir / "events.duckdb"

    @property
    def server_file(self) -> Path:
        """Written by a running server so that the CLI can go through it."""
        return self.data_dir / "server.json"


def load_settings(data_dir: Path | None = None) -> Settings:
    if data_dir is not None:
        return Settings(data_dir=data_dir)
    return Settings()
