"""EC2 launch templates and their numbered versions (migration 0801_clients)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class LaunchTemplate(Base):
    __tablename__ = "launch_templates"
    __table_args__ = (UniqueConstraint("project_id", "name",
                                       name="uq_launch_templates_project_name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    default_version: Mapped[int] = mapped_column(Integer)
    latest_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LaunchTemplateVersion(Base):
    __tablename__ = "launch_template_versions"
    template_id: Mapped[str] = mapped_column(
        ForeignKey("launch_templates.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text)  # the version's LaunchTemplateData as JSON
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
