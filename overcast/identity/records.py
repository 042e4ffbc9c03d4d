"""What the identity service hands out: frozen views of projects, users, application
credentials and tokens, never ORM rows, so the faces and the CLI never hold the database's
objects (and never see a password or secret hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from overcast.db.models import Project, User
from overcast.db.models_openstack import AppCredential, Token


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    account_id: str
    created_at: datetime
    max_instances: int | None = None
    max_vcpus: int | None = None
    max_images: int | None = None
    max_image_bytes: int | None = None
    max_elastic_ips: int | None = None
    max_volumes: int | None = None
    max_volume_gib: int | None = None

    @classmethod
    def of(cls, row: Project) -> ProjectRecord:
        return cls(row.id, row.name, row.account_id, row.created_at, row.max_instances,
                   row.max_vcpus, row.max_images, row.max_image_bytes, row.max_elastic_ips,
                   row.max_volumes, row.max_volume_gib)


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    project_id: str  # the home project
    is_admin: bool
    created_at: datetime
    has_password: bool = False

    @classmethod
    def of(cls, row: User) -> UserRecord:
        return cls(row.id, row.name, row.project_id, bool(row.is_admin), row.created_at,
                   row.password_hash is not None)


@dataclass(frozen=True)
class AppCredentialRecord:
    id: str
    user_id: str
    project_id: str
    name: str
    description: str
    roles: str  # comma-separated, as stored
    unrestricted: bool
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: AppCredential) -> AppCredentialRecord:
        return cls(row.id, row.user_id, row.project_id, row.name, row.description or "",
                   row.roles, bool(row.unrestricted), row.expires_at, row.created_at)


@dataclass(frozen=True)
class TokenRecord:
    user_id: str
    project_id: str
    roles: str  # comma-separated
    methods: str
    audit_id: str
    app_credential_id: str | None
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, row: Token) -> TokenRecord:
        return cls(row.user_id, row.project_id, row.roles, row.methods, row.audit_id,
                   row.app_credential_id, row.issued_at, row.expires_at)
