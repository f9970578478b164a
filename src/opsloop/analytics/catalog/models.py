"""Tables of the metric catalog: the metrics a workspace defines, and its acquisition spend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opsloop.db.base import Base, TimestampMixin, utcnow


class WorkspaceMetric(TimestampMixin, Base):
    """A metric a workspace defined: its definition as the catalog's YAML spells it (JSON),
    validated by catalog.spec on every write. Keys are unique per workspace and never a
    built-in metric's key."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(63))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class SpendEntry(TimestampMixin, Base):
    """One day's acquisition spend of one channel (uploaded; a new upload of the same channel
    and day replaces it). One currency per workspace."""

    __tablename__ = "acquisition_spend"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", "day"),
        Index("ix_acquisition_spend_workspace_day", "workspace_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    spend: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
