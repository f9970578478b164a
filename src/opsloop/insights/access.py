"""Who sees and changes saved insights and dashboards: everything the viewer owns, everything
shared in the workspace; the owner and admins change them. The workspace's own API token (no
user) acts as an admin."""

from __future__ import annotations

from dataclasses import dataclass

from opsloop.accounts.permissions import Permission, allows
from opsloop.errors import Forbidden, InvalidInput

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int | None  # None: the workspace's service token
    role: str

    def sees(self, owner_id: int | None, shared: bool) -> bool:
        return shared or self.user_id is None or owner_id == self.user_id

    def may_edit(self, owner_id: int | None) -> bool:
        if not allows(self.role, Permission.SAVE_ANALYSES):
            return False
        return (
            self.user_id is None
            or owner_id == self.user_id
            or allows(self.role, Permission.MANAGE_WORKSPACE)
        )

    def check_creates(self) -> None:
        if not allows(self.role, Permission.SAVE_ANALYSES):
            raise Forbidden(
                f"saving analyses needs the {Permission.SAVE_ANALYSES.value} permission"
            )

    def check_edits(self, owner_id: int | None, what: str) -> None:
        if not self.may_edit(owner_id):
            raise Forbidden(f"only its owner or an admin can change this {what}")


def clean_name(name: str, field: str = "name") -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a name of 1 to {MAX_NAME} characters is needed", field)
    return name
