"""Hyper-V hosts Overcast reaches over PowerShell remoting (migration 0301_hyperv_hosts).
The password is stored sealed; overcast.cloud.compute.hyperv_hosts keeps the rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class HyperVHost(Base):
    __tablename__ = "hyperv_hosts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # also the name of its row in `hosts` (kept alive by the host's agent)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=5986)
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    auth: Mapped[str] = mapped_column(String(16), default="negotiate")
    cert_validation: Mapped[bool] = mapped_column(Boolean, default=True)
    vm_path: Mapped[str] = mapped_column(Text)
    switch_name: Mapped[str] = mapped_column(String(255))
    zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
