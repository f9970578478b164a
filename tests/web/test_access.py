"""Every route of the app, called by every role, anonymously, with the ingest key and as a member
of another workspace: the answers match the permission table (`accounts/permissions.py`).

A route that declares no permission (nor `public`, nor `ingest_key_only`) fails here, and so does
any 5xx. "Denied" means: 401, a role 403 (the message the access layer writes), or, for a page,
the redirect to /login; anything else (2xx, 3xx elsewhere, 400, 404, 422, ...) got past the
access check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from fastapi import routing

from opsloop.accounts.models import ROLES
from opsloop.accounts.permissions import MINIMUM_ROLE, allows
from opsloop.web.access import PAGE_DENIED, AccessRule, declared_access
from tests.web.access_world import Member, World

# The Starlette route FastAPI adds for the schema: public by design (/docs is OpsLoop's own).
DOC_PATHS = {"/openapi.json"}
# Path parameters: A's resources where they name one (so another workspace must get 404).
A_RESOURCE_PARAMS = {"user_id", "token_id", "insight_id", "dashboard_id", "segment_id"}
JSON = {"Accept": "application/json"}
# Valid bodies where a route names one of A's resources, so that B's 404 is not hidden by a 422.
BODIES: dict[str, dict[str, object]] = {
    "PATCH /api/v1/members/{user_id}": {"role": "analyst"},
    "POST /settings/members/{user_id}/role": {"role": "analyst"},
    "POST /api/v1/dashboards/{dashboard_id}/tiles": {"insight_id": "{insight_id}"},
    "PATCH /api/v1/dashboards/{dashboard_id}/tiles/{insight_id}": {"position": 0},
}
ROLE_DENIAL = re.compile(r"^the \w+ role may not do this \(")


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    rule: AccessRule

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(app: object) -> list[Endpoint]:
    """Every (path, method) the app serves, with what it declared; fails on an undeclared one."""
    found: list[Endpoint] = []
    undeclared: list[str] = []
    for rc in routing.iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        if not isinstance(rc.original_route, routing.APIRoute):
            assert rc.path in DOC_PATHS, f"an unknown kind of route: {rc.path}"
            continue
        rules = declared_access(rc.dependant)
        for method in sorted(rc.methods or ()):
            if method == "HEAD":
                continue
            if len(rules) != 1:
                undeclared.append(f"{method} {rc.path}: {rules}")
                continue
            found.append(Endpoint(rc.path, method, rules[0]))
    assert undeclared == [], "routes must declare exactly one permission"
    return found


def _url(world: World, ep: Endpoint) -> str:
    assert world.victim is not None
    samples = {
        "user_id": str(world.victim.user_id),
        "token_id": str(world.victim.token_id),
        "distinct_id": "walk-person",
        "fmt": "csv",
        "action": "share",
        "name": "console.css",
        **{k: str(v) for k, v in world.resources.items()},
    }

    def fill(match: re.Match[str]) -> str:
        return samples.get(match.group(1), "1")

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, ep.path)


def _call(
    world: World, ep: Endpoint, *, member: Member | None, bearer: str | None = None
) -> httpx.Response:
    """The request as that caller sends it: a session (with its CSRF token) when `member` is
    given, else the bearer token (or nothing)."""
    world.as_session(member)
    headers = dict(JSON)
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if member is not None:
        headers["X-CSRF-Token"] = member.csrf
    url = _url(world, ep)
    resources = {f"{{{k}}}": v for k, v in world.resources.items()}
    body = {k: resources.get(str(v), v) for k, v in BODIES.get(str(ep), {}).items()}
    if ep.method == "GET":
        return world.client.get(url, headers=headers)
    if ep.rule.door in ("page", "console_json", "public") and member is not None:
        return world.client.request(
            ep.method, url, data={"csrf_token": member.csrf, **body}, headers=headers
        )
    return world.client.request(ep.method, url, json=body, headers=headers)


def outcome(r: httpx.Response) -> str:
    """ "denied" or "allowed" (see the module's docstring); a 5xx fails the test."""
    assert r.status_code < 500, r.text
    if r.status_code == 401:
        return "denied"
    if r.status_code == 303 and r.headers["location"].startswith("/login"):
        return "denied"
    if r.status_code == 403 and r.headers["content-type"].startswith("application/json"):
        message = r.json()["error"]["message"]
        if ROLE_DENIAL.match(message) or message in PAGE_DENIED.values():
            return "denied"
    return "allowed"


def _expected(ep: Endpoint, role: str) -> str:
    assert ep.rule.permission is not None
    return "allowed" if allows(role, ep.rule.permission) else "denied"


def test_every_route_declares_one_permission_and_the_table_covers_it(world: World) -> None:
    eps = endpoints(world.app)
    declared = {ep.rule.permission for ep in eps if ep.rule.permission is not None}
    assert declared <= set(MINIMUM_ROLE)
    doors = {ep.rule.door for ep in eps}
    assert {"api", "page", "public", "ingest"} <= doors
    # The ingestion endpoints are the only ones outside /api/v1 and the console that take data.
    assert {str(ep) for ep in eps if ep.rule.door == "ingest"} >= {
        "POST /api/v1/events",
        "POST /capture/",
        "POST /v1/batch",
        "POST /sa",
    }


def test_console_pages_ask_what_their_rest_routes_ask(world: World) -> None:
    """A page doing what a REST route does declares the same permission (the walk below then
    checks every role against it)."""
    perms = {str(ep): ep.rule.permission for ep in endpoints(world.app)}
    same = [
        ("GET /metrics/spend", "GET /api/v1/spend"),
        ("GET /metrics/spend/export.{fmt}", "GET /api/v1/spend"),
        ("POST /metrics/spend", "POST /api/v1/spend"),
        ("POST /metrics/spend/delete", "DELETE /api/v1/spend"),
        ("POST /metrics/new", "POST /api/v1/metrics"),
        ("POST /metrics/{key}/edit", "PUT /api/v1/metrics/{key}"),
        ("POST /metrics/{key}/delete", "DELETE /api/v1/metrics/{key}"),
    ]
    assert [(page, perms[page]) for page, _ in same] == [(page, perms[api]) for page, api in same]


def test_every_role_gets_what_the_table_allows(world: World) -> None:
    got: dict[str, dict[str, str]] = {}
    want: dict[str, dict[str, str]] = {}
    for ep in endpoints(world.app):
        if ep.rule.door in ("public", "ingest"):
            continue
        for role in ROLES:
            member = world.members[role]
            key = f"{ep} as {role}"
            want[key] = {"token": _expected(ep, role), "session": _expected(ep, role)}
            via_session = outcome(_call(world, ep, member=member))
            if ep.rule.door == "api":
                via_token = outcome(_call(world, ep, member=None, bearer=member.token))
            else:
                via_token = via_session  # pages and console JSON take sessions only
            got[key] = {"token": via_token, "session": via_session}
    assert got == want


def test_anonymous_callers_and_the_ingest_key_get_nothing(world: World) -> None:
    key = world.ingest_key(world.a.id)
    got: dict[str, tuple[str, str]] = {}
    for ep in endpoints(world.app):
        if ep.rule.door == "ingest":
            continue
        anonymous = outcome(_call(world, ep, member=None))
        with_key = outcome(_call(world, ep, member=None, bearer=key))
        # A public route may still send a signed-out visitor to /login ("/", /no-access).
        got[str(ep)] = ("public", "public") if ep.rule.door == "public" else (anonymous, with_key)
    want = {
        str(ep): ("public", "public") if ep.rule.door == "public" else ("denied", "denied")
        for ep in endpoints(world.app)
        if ep.rule.door != "ingest"
    }
    assert got == want


def test_a_member_of_another_workspace_finds_none_of_its_resources(world: World) -> None:
    """B's admin acts in B: where a route names one of A's members or tokens, the answer is 404;
    elsewhere the role decides, as for anyone."""
    other = world.members["b-admin"]
    got: dict[str, tuple[int | str, ...]] = {}
    want: dict[str, tuple[int | str, ...]] = {}
    for ep in endpoints(world.app):
        if ep.rule.door in ("public", "ingest"):
            continue
        names_a = bool(A_RESOURCE_PARAMS & set(re.findall(r"\{(\w+)", ep.path)))
        expected = _expected(ep, "admin")
        calls = [_call(world, ep, member=other)]
        if ep.rule.door == "api":
            calls.append(_call(world, ep, member=None, bearer=other.token))
        for i, r in enumerate(calls):
            key = f"{ep} #{i}"
            result = outcome(r)
            if names_a and result == "allowed":
                got[key] = (result, r.status_code)
                want[key] = ("allowed", 404)
            else:
                got[key] = (result,)
                want[key] = (expected,) if not names_a or expected == "denied" else ("allowed", 404)
    assert got == want


def test_every_console_form_needs_its_csrf_token(world: World) -> None:
    """A signed-in owner's forms, posted with a forged token (as another site would), are
    refused with a 403 whatever the form."""
    owner = world.members["owner"]
    got: dict[str, int] = {}
    for ep in endpoints(world.app):
        if ep.method != "POST" or ep.rule.door not in ("page", "public"):
            continue
        world.as_session(owner)
        r = world.client.post(_url(world, ep), data={"csrf_token": "forged"}, headers=JSON)
        got[str(ep)] = r.status_code
    assert got and got == dict.fromkeys(got, 403)
