"""`opsloop query funnel_persons ... --save-as NAME`: a funnel step's dropped users saved as a
static segment, on the stores themselves and through a running server, read back with `opsloop
query segment` and equal to a plain-Python reference over the shop's log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from opsloop.audit import AuditFilter, list_entries
from opsloop.db import open_database
from tests.cli.test_query import LOG, Shop, example, serving, shop  # noqa: F401  (shop: fixture)


def reference_dropped_after_sign_up() -> list[str]:
    """Who signed up between 1 and 7 June and paid no later than a day after it."""
    signed = {who: datetime.fromisoformat(t) for who, e, t, _ in LOG if e == "sign_up"}
    paid = {
        who
        for who, e, t, _ in LOG
        if e == "pay"
        and who in signed
        and signed[who] < datetime.fromisoformat(t)
        and datetime.fromisoformat(t) - signed[who] <= timedelta(days=1)
    }
    return sorted(set(signed) - paid)


def _members(shop: Shop, segment_id: int) -> list[str]:  # noqa: F811
    body = json.dumps({"rule": {"cohort": segment_id}})
    answer = shop.answer("segment", "--body", body, "--to", "2026-06-07")
    return sorted(p["distinct_id"] for p in answer["results"])


def test_dropped_users_saved_locally_and_through_the_server(shop: Shop) -> None:  # noqa: F811
    want = reference_dropped_after_sign_up()
    assert want == ["u2", "u3"]
    listed = shop.answer("funnel_persons", *example("funnel_persons"))
    assert sorted(p["distinct_id"] for p in listed["results"]) == want
    local = shop.answer(
        "funnel_persons", *example("funnel_persons"), "--save-as", "注册未付款",
        "--description", "June",
    )  # fmt: skip
    assert (local["name"], local["kind"], local["size"], local["description"]) == (
        "注册未付款", "static", 2, "June"
    )  # fmt: skip
    assert _members(shop, local["id"]) == want
    db = open_database(shop.settings.resolved_database_url)
    with db.session() as s:
        (entry,), _ = list_entries(s, shop.workspace.id, AuditFilter(action="segment.created"))
    db.close()
    assert entry.actor.endswith(" (cli)")
    assert (entry.via, entry.entity_id) == ("cli", str(local["id"]))
    assert entry.after is not None and entry.after["size"] == 2
    with serving(shop.settings):
        served = shop.answer(
            "funnel_persons", *example("funnel_persons"), "--save-as", "through the server"
        )
        assert _members(shop, served["id"]) == want
    assert served["id"] == local["id"] + 1 and served["size"] == 2
    assert list(served) == list(local)
    r = shop.cli("funnel_persons", *example("funnel_persons"), "--save-as", "plain")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"saved segment {served['id'] + 1} 'plain': 2 persons"


def test_saving_refusals(shop: Shop) -> None:  # noqa: F811
    def error(*args: str) -> str:
        r = shop.cli(*args)
        assert r.exit_code == 2 and r.stdout == "", r.output
        return " ".join(r.output.split())

    saved = ("funnel_persons", *example("funnel_persons"), "--save-as")
    assert "give --json or nothing, not --csv" in error(*saved, "x", "--csv")
    assert shop.answer(*saved, "注册未付款")["size"] == 2
    assert "a segment named '注册未付款' already exists (name)" in error(*saved, "注册未付款")
    trends = ("trends", "--event", "pay", "--from", "2026-06-01", "--to", "2026-06-07")
    assert "a trends answer is not a list of persons" in error(*trends, "--save-as", "x")
    with serving(shop.settings):
        text = error(*trends, "--save-as", "x")
    assert "the server answered 422" in text and "from_query" in text
