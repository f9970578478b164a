"""Settings → Members: who belongs to the workspace, with which role; add, change, remove; and
what each role may do."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.accounts.members import (
    AddedMember,
    add_member,
    change_role,
    list_members,
    remove_member,
)
from opsloop.accounts.models import ROLES
from opsloop.accounts.permissions import Permission, allows, roles_allowed
from opsloop.web.access import require_page
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.forms import Problem, Shower, notice, see_other, submit
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import ROLE_NAMES, page_router, render_page

router = page_router()
MembersDep = Annotated[ConsoleUser, Depends(require_page(Permission.MANAGE_MEMBERS))]
FormStr = Annotated[str, Form()]

# What each permission lets a member do, for the roles table (message ids).
PERMISSION_LABELS: dict[Permission, str] = {
    Permission.READ_DATA: N_("See events, analyses and dashboards; download tables"),
    Permission.USE_ACCOUNT: N_("Change their own password and language; own API tokens"),
    Permission.SAVE_ANALYSES: N_("Save analyses, segments and dashboards"),
    Permission.IMPORT_EVENTS: N_("Import events in bulk, send events with an API token"),
    Permission.RUN_OPERATIONS: N_("Run operations: campaigns, incentives, outreach"),
    Permission.MANAGE_MEMBERS: N_("Add and remove members and change their roles"),
    Permission.MANAGE_TOKENS: N_("See and revoke every API token of the workspace"),
    Permission.MANAGE_WORKSPACE: N_(
        "Rename the workspace, set its time zone, rotate the ingest key"
    ),
    Permission.READ_AUDIT: N_("Read the audit log"),
    Permission.MANAGE_OWNERS: N_("Make members owners or take the owner role away"),
}
NOTICES = {
    "role_changed": N_("The role has been changed."),
    "removed": N_("The member has been removed, and their API tokens of this workspace revoked."),
}
PROBLEMS: dict[tuple[str, str | None], str] = {
    ("invalid_input", "email"): N_("Enter a valid email address."),
    ("invalid_input", "role"): N_("Choose one of the roles."),
    ("conflict", "email"): N_("This person is already a member: change their role instead."),
    ("forbidden", "role"): N_("Only an owner can give or take away the owner role."),
    ("conflict", "role"): N_("A workspace needs an owner: make another member owner first."),
    ("conflict", "user_id"): N_("The last owner of a workspace cannot be removed."),
}


def assignable_roles(user: ConsoleUser) -> list[str]:
    """The roles this member may give: all but owner, and owner too for owners."""
    return [r for r in ROLES if r != "owner" or allows(user.role, Permission.MANAGE_OWNERS)]


def _page(
    request: Request,
    state: StateDep,
    user: ConsoleUser,
    *,
    done: str | None = None,
    added: AddedMember | None = None,
    problem: Problem | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with state.db.session() as s:
        members = list_members(s, user.workspace.id)
    context: dict[str, Any] = {
        "members": members,
        "roles": ROLES,
        "assignable": assignable_roles(user),
        "matrix": [
            (label, [r in roles_allowed(p) for r in ROLES])
            for p, label in PERMISSION_LABELS.items()
        ],
        "notice": notice(done, NOTICES, user.language),
        "added": added,
        "problem": problem,
        "form": form or {"email": "", "role": "viewer"},
    }
    return render_page(
        request,
        user,
        "settings/members.html",
        context,
        nav="settings-members",
        status_code=status_code,
    )


@router.get("/settings/members", response_class=HTMLResponse)
def members_page(
    request: Request, state: StateDep, user: MembersDep, done: str | None = None
) -> HTMLResponse:
    return _page(request, state, user, done=done)


@router.post("/settings/members", response_class=HTMLResponse)
def post_member(
    request: Request,
    state: StateDep,
    user: MembersDep,
    email: FormStr = "",
    role: FormStr = "viewer",
    csrf_token: FormStr = "",
) -> Response:
    """Add a member; a new person's generated password is shown on the answer, once."""
    return submit(
        request,
        state,
        user,
        csrf_token,
        lambda s: add_member(s, user.workspace.id, email, role, acting_role=user.role),
        problems=PROBLEMS,
        show=lambda problem, status: _page(
            request,
            state,
            user,
            problem=problem,
            form={"email": email, "role": role},
            status_code=status,
        ),
        done=lambda added: _page(request, state, user, added=added),
    )


def _show_problem(request: Request, state: StateDep, user: ConsoleUser) -> Shower:
    return lambda problem, status: _page(request, state, user, problem=problem, status_code=status)


@router.post("/settings/members/{user_id}/role")
def post_role(
    request: Request,
    state: StateDep,
    user: MembersDep,
    user_id: int,
    role: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    return submit(
        request,
        state,
        user,
        csrf_token,
        lambda s: change_role(s, user.workspace.id, user_id, role, acting_role=user.role),
        problems=PROBLEMS,
        show=_show_problem(request, state, user),
        done=see_other("/settings/members?done=role_changed"),
        forget_keys=True,
    )


@router.post("/settings/members/{user_id}/remove")
def post_remove(
    request: Request, state: StateDep, user: MembersDep, user_id: int, csrf_token: FormStr = ""
) -> Response:
    # Someone who removed themselves has no access here any more.
    target = "/" if user_id == user.user_id else "/settings/members?done=removed"
    return submit(
        request,
        state,
        user,
        csrf_token,
        lambda s: remove_member(s, user.workspace.id, user_id, acting_role=user.role),
        problems=PROBLEMS,
        show=_show_problem(request, state, user),
        done=see_other(target),
        forget_keys=True,
    )


@router.get("/settings/members/export.{fmt}")
def export_members(state: StateDep, user: MembersDep, fmt: str) -> Response:
    with state.db.session() as s:
        members = list_members(s, user.workspace.id)
    table = ExportTable(
        f"members-{user.workspace.name}",
        (Column("email"), Column("role"), Column("language"), Column("joined_at", "datetime")),
        [
            (m.email, translate(user.language, ROLE_NAMES[m.role]), m.language, m.joined_at)
            for m in members
        ],
        timezone=user.workspace.timezone,
        sheet=translate(user.language, N_("Members")),
    )
    return export_response(table, fmt)
