"""Every table of the operational store, gathered for Alembic's autogenerate."""

from opsloop.accounts.models import Membership, User
from opsloop.analytics.catalog.models import SpendEntry, WorkspaceMetric
from opsloop.analytics.segments.models import SavedSegment, SegmentMember
from opsloop.audit.models import AuditEntry
from opsloop.db.base import Base
from opsloop.importer.models import ImportRun
from opsloop.insights.models import Dashboard, DashboardTile, Insight
from opsloop.workspaces.models import ApiToken, Workspace

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Dashboard",
    "DashboardTile",
    "ImportRun",
    "Insight",
    "Membership",
    "SavedSegment",
    "SegmentMember",
    "SpendEntry",
    "User",
    "Workspace",
    "WorkspaceMetric",
]
