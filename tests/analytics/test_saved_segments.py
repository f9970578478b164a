"""Saved segments on SQLite and PostgreSQL: the CRUD service, its refusals, and members, counts
and exports evaluated on a small event log in both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from opsloop.accounts.models import User
from opsloop.db import open_database
from opsloop.errors import Conflict, InvalidInput, NotFound
from opsloop.workspaces.service import create_workspace
from tests.analytics.logs import ChdbPool, Loaded, Row, person_id
from tests.analytics.test_segment_rules import load_people

from opsloop.analytics.segments.service import (  # isort: skip
    count,
    create_segment,
    create_static_segment,
    delete_segment,
    export,
    get_segment,
    list_segments,
    members,
    update_segment,
)

AS_OF = date(2026, 3, 10)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.close()


@pytest.fixture
def log(chdb_pool: ChdbPool) -> Loaded:
    rows = [
        Row("a", "pay", datetime(2026, 3, 1, 10), {"amount": 10}),
        Row("a", "pay", datetime(2026, 3, 9, 10), {"amount": 20}),
        Row("b", "pay", datetime(2026, 3, 8, 23, 59), {"amount": 5}),
        Row("c", "app_open", datetime(2026, 3, 9)),
        Row("d", "app_open", datetime(2026, 2, 1)),
    ]
    people = {"a": {"channel": "小红书", "age": 30}, "b": {"channel": "抖音信息流"}, "c": {}}
    return load_people(rows, people, chdb_pool)


def _workspace(session: Session, name: str = "shop") -> int:
    return create_workspace(session, name).id


def test_create_get_list_update_delete(session: Session) -> None:
    ws = _workspace(session)
    user = User(email="ops@example.com", password_hash="x")
    session.add(user)
    session.flush()
    payers = create_segment(
        session, ws, " 付费用户 ", rule={"did": "pay"}, description="paid once", created_by=user.id
    )
    pid = "6bb15019-d8f5-57c9-811f-d38259a0a19f"
    dropped = create_static_segment(session, ws, "dropped at step 2", [pid, pid.upper()])
    assert (payers.name, payers.kind, payers.rule, payers.size) == (
        "付费用户",
        "rule",
        {"did": "pay"},
        None,
    )
    assert (dropped.kind, dropped.rule, dropped.size) == ("static", None, 1)
    assert get_segment(session, ws, payers.id) == payers
    assert payers.created_by == user.id and payers.created_at.tzinfo is not None
    assert [s.name for s in list_segments(session, ws)] == ["dropped at step 2", "付费用户"]

    changed = update_segment(
        session, ws, payers.id, name="big payers", rule={"did": "pay", "at_least": 2}
    )
    assert (changed.name, changed.rule, changed.description) == (
        "big payers",
        {"did": "pay", "at_least": 2},
        "paid once",
    )
    assert changed.updated_at >= payers.updated_at
    frozen = update_segment(session, ws, payers.id, person_ids=[pid])
    assert (frozen.kind, frozen.rule, frozen.size) == ("static", None, 1)
    back = update_segment(session, ws, payers.id, rule={"cohort": dropped.id})
    assert (back.kind, back.size) == ("rule", None)
    assert back.to_dict()["rule"] == {"cohort": dropped.id}

    with pytest.raises(Conflict) as err:
        delete_segment(session, ws, dropped.id)
    assert "big payers" in err.value.message
    delete_segment(session, ws, payers.id)
    delete_segment(session, ws, dropped.id)
    assert list_segments(session, ws) == []
    with pytest.raises(NotFound):
        get_segment(session, ws, payers.id)


def test_refusals_name_their_field(session: Session) -> None:
    ws, other = _workspace(session), _workspace(session, "other")
    a = create_segment(session, ws, "a", rule={"did": "pay"})
    theirs = create_segment(session, other, "theirs", rule={"did": "pay"})
    cases = [
        (lambda: create_segment(session, ws, "a", rule={"did": "x"}), Conflict, "name"),
        (lambda: create_segment(session, ws, "  ", rule={"did": "x"}), InvalidInput, "name"),
        (lambda: create_segment(session, ws, "n", rule={"did": 1}), InvalidInput, "rule.did"),
        (lambda: create_segment(session, ws, "n"), InvalidInput, "rule"),
        (
            lambda: create_static_segment(
                session, ws, "n", ["6bb15019-d8f5-57c9-811f-d38259a0a19f", "x"]
            ),
            InvalidInput,
            "person_ids[1]",
        ),
        (
            lambda: create_segment(session, ws, "n", rule={"and": [{"cohort": theirs.id}]}),
            InvalidInput,
            "rule.and[0].cohort",
        ),
        (lambda: get_segment(session, ws, theirs.id), NotFound, "segment_id"),
        (
            lambda: update_segment(session, ws, a.id, rule={"cohort": a.id}),
            InvalidInput,
            "rule.cohort",
        ),
    ]
    for call, error, field in cases:
        with pytest.raises(error) as err:
            call()
        assert err.value.field == field
    # a -> b is fine; then b -> a would close a loop.
    b = create_segment(session, ws, "b", rule={"not": {"did": "app_open"}})
    update_segment(session, ws, a.id, rule={"or": [{"cohort": b.id}, {"did": "pay"}]})
    with pytest.raises(InvalidInput) as err:
        update_segment(session, ws, b.id, rule={"and": [{"did": "pay"}, {"cohort": a.id}]})
    assert err.value.field == "rule.and[1].cohort"
    assert get_segment(session, ws, b.id).rule == {"not": {"did": "app_open"}}


def test_members_count_and_export(session: Session, log: Loaded) -> None:
    ws = _workspace(session)
    assert ws == 1  # the log's workspace
    ids = {p: person_id(log.duck, p) for p in "abcd"}
    static = create_static_segment(session, ws, "dropped", [ids["c"], ids["a"]])
    recent = create_segment(session, ws, "recent payers", rule={"did": "pay", "in_last_days": 3})
    # 23:59 on 8 March is outside the two days ending 10 March.
    two_days = create_segment(session, ws, "two days", rule={"did": "pay", "in_last_days": 2})
    both = create_segment(
        session, ws, "either", rule={"or": [{"cohort": static.id}, {"cohort": recent.id}]}
    )
    expected = {
        static.id: sorted([ids["a"], ids["c"]]),
        recent.id: sorted([ids["a"], ids["b"]]),  # paid 9 and 8 March (23:59)
        both.id: sorted([ids["a"], ids["b"], ids["c"]]),
        two_days.id: [ids["a"]],
    }
    for segment_id, persons in expected.items():
        answer = members(session, log.duck, segment_id, as_of=AS_OF)
        assert [r["person_id"] for r in answer["results"]] == persons
        assert answer["count"] == len(persons) == count(session, log.duck, segment_id, AS_OF)
        assert answer["segment"]["id"] == segment_id
        assert members(session, log.ch, segment_id, as_of=AS_OF) == answer
        assert count(session, log.ch, segment_id, AS_OF) == len(persons)
    page = members(session, log.duck, both.id, as_of=AS_OF, limit=1, offset=1)
    assert [r["person_id"] for r in page["results"]] == expected[both.id][1:2]
    assert page["count"] == 3

    by_id = {ids[p]: p for p in "abcd"}
    rows = list(export(session, log.duck, both.id, as_of=AS_OF))
    assert rows[0] == ["person_id", "distinct_id", "age", "channel"]
    props = {"a": ["30", "小红书"], "b": ["", "抖音信息流"], "c": ["", ""]}
    assert rows[1:] == [[pid, by_id[pid], *props[by_id[pid]]] for pid in expected[both.id]]
    assert list(export(session, log.ch, both.id, as_of=AS_OF)) == rows
    narrow = list(export(session, log.duck, static.id, as_of=AS_OF, properties=["channel"]))
    assert narrow == [["person_id", "distinct_id", "channel"]] + [
        [pid, by_id[pid], props[by_id[pid]][1]] for pid in expected[static.id]
    ]
    with pytest.raises(NotFound):
        count(session, log.duck, 999, AS_OF)
