"""Saved insights and dashboards on SQLite and PostgreSQL: who sees and changes what, queries
checked by the engine's parser, the order of a dashboard's tiles, and rolling date ranges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsloop.accounts.models import User
from opsloop.db import open_database
from opsloop.errors import Forbidden, InvalidInput, NotFound
from opsloop.insights import dashboards as boards
from opsloop.insights import service
from opsloop.insights.access import Viewer
from opsloop.workspaces.service import create_workspace

FUNNEL = {
    "kind": "funnel",
    "steps": [{"event": "view_item"}, {"event": "pay"}],
    "date_from": "2026-11-01",
    "date_to": "2026-11-07",
}


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.close()


def _user(session: Session, email: str) -> int:
    user = User(email=email, password_hash="x", language="zh-CN")
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def people(session: Session) -> dict[str, Any]:
    ws = create_workspace(session, "shop").id
    return {
        "ws": ws,
        "other_ws": create_workspace(session, "blog").id,
        "li": Viewer(_user(session, "li@example.com"), "analyst"),
        "wang": Viewer(_user(session, "wang@example.com"), "analyst"),
        "boss": Viewer(_user(session, "boss@example.com"), "admin"),
        "guest": Viewer(_user(session, "guest@example.com"), "viewer"),
    }


def test_insights_are_private_until_shared(session: Session, people: dict[str, Any]) -> None:
    ws, li, wang = people["ws"], people["li"], people["wang"]
    mine = service.create_insight(session, ws, li, " 下单漏斗 ", FUNNEL)
    assert (mine.name, mine.kind, mine.query, mine.shared, mine.owner_id) == (
        "下单漏斗", "funnel", FUNNEL, False, li.user_id,
    )  # fmt: skip
    assert [i.id for i in service.list_insights(session, ws, li)] == [mine.id]
    assert service.list_insights(session, ws, wang) == []
    with pytest.raises(NotFound):
        service.get_insight(session, ws, wang, mine.id)
    with pytest.raises(NotFound):
        service.get_insight(session, people["other_ws"], li, mine.id)
    service.update_insight(session, ws, li, mine.id, shared=True)
    assert [i.id for i in service.list_insights(session, ws, wang)] == [mine.id]
    with pytest.raises(Forbidden):
        service.update_insight(session, ws, wang, mine.id, name="mine now")
    renamed = service.update_insight(session, ws, people["boss"], mine.id, name="漏斗 v2")
    assert renamed.name == "漏斗 v2"
    with pytest.raises(Forbidden):
        service.create_insight(session, ws, people["guest"], "x", FUNNEL)
    service.delete_insight(session, ws, li, mine.id)
    assert service.list_insights(session, ws, Viewer(None, "admin")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "funnel", "steps": [{"event": "pay"}]}, "query.steps"),
        ({"kind": "nope"}, "query.kind"),
        ({"kind": "timeline", "distinct_id": "u1"}, "query.kind"),
        ("not a body", "query"),
    ],
)
def test_queries_are_checked_and_errors_name_the_field(
    session: Session, people: dict[str, Any], query: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.create_insight(session, people["ws"], people["li"], "x", query)
    assert caught.value.field == field


def test_the_saved_body_keeps_only_what_was_given(session: Session, people: dict[str, Any]) -> None:
    body = {**FUNNEL, "window_seconds": 3600, "breakdown": None}
    saved = service.create_insight(session, people["ws"], people["li"], "x", body)
    assert saved.query == {**FUNNEL, "window_seconds": 3600, "breakdown": None}


def test_dashboard_tiles_keep_their_order(session: Session, people: dict[str, Any]) -> None:
    ws, li = people["ws"], people["li"]
    board = boards.create_dashboard(session, ws, li, "运营日报")
    ids = [service.create_insight(session, ws, li, f"i{n}", FUNNEL).id for n in range(4)]
    for i in ids:
        board = boards.pin(session, ws, li, board.id, i)
    assert [t.insight.id for t in board.tiles] == ids
    board = boards.pin(session, ws, li, board.id, ids[0], width=2)  # again: only the width
    assert [(t.insight.id, t.width) for t in board.tiles][:2] == [(ids[0], 2), (ids[1], 1)]
    board = boards.move(session, ws, li, board.id, ids[3], 0)
    assert [t.insight.id for t in board.tiles] == [ids[3], ids[0], ids[1], ids[2]]
    board = boards.move(session, ws, li, board.id, ids[3], 99)
    assert [t.insight.id for t in board.tiles] == [ids[0], ids[1], ids[2], ids[3]]
    board = boards.unpin(session, ws, li, board.id, ids[1])
    assert [(t.insight.id, t.position) for t in board.tiles] == [
        (ids[0], 0), (ids[2], 1), (ids[3], 2),
    ]  # fmt: skip
    with pytest.raises(NotFound):
        boards.unpin(session, ws, li, board.id, ids[1])
    with pytest.raises(InvalidInput):
        boards.pin(session, ws, li, board.id, ids[1], width=3)
    service.delete_insight(session, ws, li, ids[2])  # its tile goes with it
    assert [t.insight.id for t in boards.get_dashboard(session, ws, li, board.id).tiles] == [
        ids[0],
        ids[3],
    ]


def test_a_shared_dashboard_shares_what_is_pinned(session: Session, people: dict[str, Any]) -> None:
    ws, li, wang = people["ws"], people["li"], people["wang"]
    private = service.create_insight(session, ws, li, "private", FUNNEL)
    board = boards.create_dashboard(session, ws, li, "team", shared=True)
    boards.pin(session, ws, li, board.id, private.id)
    seen = boards.get_dashboard(session, ws, wang, board.id)
    assert [t.insight.id for t in seen.tiles] == [private.id]
    assert service.get_insight(session, ws, wang, private.id).shared is True
    with pytest.raises(Forbidden):
        boards.pin(session, ws, wang, board.id, private.id)
    own = boards.create_dashboard(session, ws, wang, "wang's")
    assert [b.name for b in boards.list_dashboards(session, ws, li)] == ["team"]
    assert [b.name for b in boards.list_dashboards(session, ws, wang)] == ["team", "wang's"]
    with pytest.raises(NotFound):
        boards.get_dashboard(session, ws, li, own.id)


@pytest.mark.parametrize(
    ("query", "rolling", "expected"),
    [
        (FUNNEL, True, {"date_from": "2026-11-09", "date_to": "2026-11-15"}),
        (FUNNEL, False, {"date_from": "2026-11-01", "date_to": "2026-11-07"}),
        (
            {"kind": "rfm", "as_of": "2026-11-07", "date_from": "2026-01-01"},
            True,
            {"as_of": "2026-11-15", "date_from": "2026-01-09"},
        ),
        ({"kind": "rfm"}, True, {}),
    ],
)
def test_rolling_insights_end_on_the_latest_day(
    query: dict[str, Any], rolling: bool, expected: dict[str, Any]
) -> None:
    insight = service.InsightInfo(
        1,
        1,
        "x",
        "",
        query["kind"],
        query,
        rolling,
        False,
        None,
        *(2 * [None]),  # type: ignore[arg-type]
    )
    ran = service.rolled(insight, date(2026, 11, 15))
    assert ran == {**query, **expected}
