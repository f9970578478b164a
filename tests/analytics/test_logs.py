"""The random-log loader puts the same rows in both engines."""

from __future__ import annotations

from datetime import datetime

from tests.analytics.logs import ChdbPool, Row, load_log


def test_both_engines_hold_the_same_log(chdb_pool: ChdbPool) -> None:
    rows = [
        Row("a", "app_open", datetime(2026, 3, 1, 0, 30)),
        Row("a", "pay", datetime(2026, 3, 1, 23, 59), {"amount": 12.5}),
        Row("b", "app_open", datetime(2026, 3, 2, 8, 0)),
    ]
    loaded = load_log(rows, chdb_pool)
    sql = (
        "SELECT e.distinct_id, e.event, {day} AS day FROM events AS e"
        " ORDER BY e.distinct_id, e.timestamp"
    )
    for ctx in (loaded.duck, loaded.ch):
        day = ctx.dialect.date_text(ctx.dialect.local_date("e.timestamp", "Asia/Shanghai"))
        assert ctx.engine.rows(sql.format(day=day)) == [
            ("a", "app_open", "2026-03-01"),
            ("a", "pay", "2026-03-01"),
            ("b", "app_open", "2026-03-02"),
        ]
    assert list(loaded.frame["person"]) == ["a", "a", "b"]
