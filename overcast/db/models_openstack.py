"""Tables of the OpenStack faces: role assignments, tokens, application credentials and the
Glance attributes an image carries beside its EC2 row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class RoleAssignment(Base):
    __tablename__ = "os_role_assignments"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Token(Base):
    __tablename__ = "os_tokens"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    roles: Mapped[str] = mapped_column(String(255))  # comma-separated
    methods: Mapped[str] = mapped_column(String(255))
    audit_id: Mapped[str] = mapped_column(String(32))
    app_credential_id: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AppCredential(Base):
    __tablename__ = "os_application_credentials"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    secret_hash: Mapped[str] = mapped_column(String(255))
    # only for the one `overcast credentials` prints again: sealed with the cloud's key
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    roles: Mapped[str] = mapped_column(String(255))
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GlanceImage(Base):
    """What Glance says about an image that EC2 has no words for."""

    __tablename__ = "os_image_attributes"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    container_format: Mapped[str | None] = mapped_column(String(16))
    disk_format: Mapped[str | None] = mapped_column(String(16))
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    data_size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    properties: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    # an owner an administrator set that is no project here (Glance takes any string)
    owner: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImageMember(Base):
    """A project an image is shared with, and whether it took the image (Glance members);
    the launch permission itself is EC2's."""

    __tablename__ = "os_image_members"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MetadefNamespace(Base):
    """A Glance metadata-definition namespace; its properties, objects, tags and resource
    type associations are kept together as one JSON document."""

    __tablename__ = "os_metadef_namespaces"
    namespace: Mapped[str] = mapped_column(String(80), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
