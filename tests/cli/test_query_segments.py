"""`opsloop query segment` with rules naming saved segments: on the event store itself and through
a running server, against a plain-Python reference over the shop's log."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from opsloop.analytics.segments.service import create_segment, create_static_segment
from opsloop.db import open_database
from tests.cli.test_query import LOG, Shop, serving, shop, stable  # noqa: F401  (shop: fixture)


def _person_ids(shop: Shop) -> dict[str, str]:  # noqa: F811
    answer = shop.answer("segment", "--body", json.dumps({"rule": {"did": "$any"}}))
    return {p["distinct_id"]: p["person_id"] for p in answer["results"]}


def _save(shop: Shop, **segment: Any) -> int:  # noqa: F811
    db = open_database(shop.settings.resolved_database_url)
    try:
        with db.session() as s:
            return create_segment(s, shop.workspace.id, **segment).id
    finally:
        db.close()


def test_rules_naming_saved_segments_answer_locally_and_through_the_server(shop: Shop) -> None:  # noqa: F811
    pid = _person_ids(shop)
    static = _save(shop, name="picked", person_ids=[pid["u2"], pid["u3"]])
    db = open_database(shop.settings.resolved_database_url)
    with db.session() as s:
        assert create_static_segment(s, shop.workspace.id, "empty", []).size == 0
    db.close()
    repeat = _save(shop, name="repeat payers", rule={"did": "pay", "at_least": 2})
    nested = _save(
        shop, name="nested", rule={"and": [{"cohort": repeat}, {"not": {"cohort": static}}]}
    )
    pays = Counter(who for who, event, _, _ in LOG if event == "pay")
    repeat_payers = {who for who, n in pays.items() if n >= 2}
    expected = {
        static: {"u2", "u3"},
        repeat: repeat_payers,
        nested: repeat_payers - {"u2", "u3"},
    }
    assert expected[repeat] == {"u1", "u4"}
    for segment_id, persons in expected.items():
        body = json.dumps({"rule": {"or": [{"cohort": segment_id}]}})
        local = shop.answer("segment", "--body", body, "--to", "2026-06-07")
        assert {p["distinct_id"] for p in local["results"]} == persons
        assert local["count"] == len(persons)
        assert sorted(p["person_id"] for p in local["results"]) == sorted(pid[p] for p in persons)
        with serving(shop.settings):
            served = shop.answer("segment", "--body", body, "--to", "2026-06-07")
        assert stable(served) == stable(local)


def test_a_missing_saved_segment_is_a_clear_error(shop: Shop) -> None:  # noqa: F811
    r = shop.cli("segment", "--body", '{"rule": {"not": {"cohort": 42}}}')
    assert r.exit_code == 2 and r.stdout == ""
    assert "rule.not.cohort: no saved segment 42 (rule.not.cohort)" in " ".join(r.output.split())
