"""How `overcast agent` processes on other hosts prove who they are (migration 0971_agents):
one-time join tokens an admin makes, and the per-host credential a token is exchanged for.
Both are kept only as SHA-256 hashes (they are long random secrets: no slow hash needed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class HostJoinToken(Base):
    __tablename__ = "host_join_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    host_name: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HostCredential(Base):
    """The one live credential of a host name: a new join replaces it."""

    __tablename__ = "host_credentials"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host_name: Mapped[str] = mapped_column(String(255), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
