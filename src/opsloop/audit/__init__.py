"""The audit log: who changed what, when, from where, with the entity before and after.

One call records a change: `record(session, "member.role_changed", workspace_id=..., entity_type=
"member", entity_id=..., before={...}, after={...})`. Who acted is bound to the session once by
the door that opened it (`acting_as(session, Who(...))`: the console, the REST API, the CLI), so
services only describe the change. See docs/architecture.md, "Audit log".
"""

from opsloop.audit.service import (
    SYSTEM,
    AuditFilter,
    AuditRecord,
    Who,
    acting_as,
    actions_in,
    cli_who,
    list_entries,
    record,
    who_of,
)

__all__ = [
    "SYSTEM",
    "AuditFilter",
    "AuditRecord",
    "Who",
    "acting_as",
    "actions_in",
    "cli_who",
    "list_entries",
    "record",
    "who_of",
]
