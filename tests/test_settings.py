"""Settings come from OPSLOOP_* variables or opsloop.toml; --data-dir wins over both."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.settings import Settings, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("OPSLOOP_DATA_DIR", "OPSLOOP_DATABASE_URL", "OPSLOOP_WAREHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert s.data_dir == Path("opsloop-data")
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'opsloop-data' / 'opsloop.sqlite3'}"
    assert s.event_store_path == Path("opsloop-data/events.duckdb")


def test_toml_then_environment_then_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSLOOP_DATA_DIR", raising=False)
    (tmp_path / "opsloop.toml").write_text(
        'data_dir = "from-toml"\ndatabase_url = "postgresql://db/ops"\n'
    )
    assert load_settings().data_dir == Path("from-toml")
    assert load_settings().resolved_database_url == "postgresql://db/ops"
    monkeypatch.setenv("OPSLOOP_DATA_DIR", "from-env")
    assert load_settings().data_dir == Path("from-env")
    assert load_settings(Path("from-flag")).data_dir == Path("from-flag")


def test_warehouse_url_names_the_duckdb_file(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert s.event_store_path == tmp_path / "w.duckdb"


def test_unknown_warehouse_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duckdb:///PATH"):
        Settings(data_dir=tmp_path, warehouse_url="clickhouse://localhost")
