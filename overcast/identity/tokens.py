"""Keystone tokens: random strings handed out once and kept as SHA-256 hashes, with their
scope (one project), roles and expiry; revocable one by one."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Project, User
from overcast.db.models_openstack import AppCredential, Token
from overcast.identity.context import ADMIN_PROJECT, Context
from overcast.identity.records import ProjectRecord, TokenRecord, UserRecord

TOKEN_LIFETIME = timedelta(hours=1)
PURGE_EVERY = 600.0  # seconds between sweeps of expired tokens


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Scope:
    """What a valid token stands for."""

    token: TokenRecord
    user: UserRecord
    project: ProjectRecord

    @property
    def roles(self) -> list[str]:
        return [r for r in self.token.roles.split(",") if r]

    @property
    def methods(self) -> list[str]:
        return [m for m in self.token.methods.split(",") if m]

    @property
    def is_cloud_admin(self) -> bool:
        """Admin of the whole cloud: the admin role on the admin project."""
        return "admin" in self.roles and self.project.name == ADMIN_PROJECT

    def has(self, role: str) -> bool:
        return role in self.roles

    def context(self) -> Context:
        return Context(self.project.id, self.project.account_id, self.user.id,
                       self.is_cloud_admin, tuple(self.roles))


@dataclass(frozen=True)
class TokenRequest:
    user: UserRecord
    project: ProjectRecord
    roles: list[str]
    methods: list[str]
    app_credential_id: str | None = None
    expires_at: datetime | None = None  # capped at the default lifetime


class Tokens:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._purged_at = 0.0

    def issue(self, req: TokenRequest) -> tuple[str, Scope]:
        if time.monotonic() - self._purged_at > PURGE_EVERY:
            self._purged_at = time.monotonic()
            self.purge_expired()
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + TOKEN_LIFETIME
        if req.expires_at is not None:
            expires = min(expires, as_utc(req.expires_at))
        row = Token(id_hash=_hash(token), user_id=req.user.id, project_id=req.project.id,
                    roles=",".join(req.roles), methods=",".join(req.methods),
                    audit_id=secrets.token_urlsafe(16)[:22],
                    app_credential_id=req.app_credential_id, issued_at=now, expires_at=expires,
                    revoked=False)
        with self.db.session() as s:
            s.add(row)
        return token, Scope(TokenRecord.of(row), req.user, req.project)

    def validate(self, token: str | None) -> Scope | None:
        """The scope of a live token, or None (unknown, expired, revoked, or its user,
        project or application credential gone)."""
        if not token or len(token) > 256:
            return None
        with self.db.read() as s:
            found = s.execute(
                select(Token, User, Project)
                .join(User, User.id == Token.user_id)
                .join(Project, Project.id == Token.project_id)
                .where(Token.id_hash == _hash(token))).first()
            if found is None:
                return None
            row, user, project = found
            if row.revoked or as_utc(row.expires_at) <= utcnow():
                return None
            if row.app_credential_id and s.get(AppCredential, row.app_credential_id) is None:
                return None
        return Scope(TokenRecord.of(row), UserRecord.of(user), ProjectRecord.of(project))

    def revoke(self, token: str) -> bool:
        with self.db.session() as s:
            row = s.get(Token, _hash(token))
            if row is None or row.revoked:
                return False
            row.revoked = True
        return True

    def revoke_user(self, user_id: str) -> None:
        with self.db.session() as s:
            for row in s.scalars(select(Token).where(Token.user_id == user_id)):
                row.revoked = True

    def purge_expired(self) -> int:
        with self.db.session() as s:
            result = s.execute(delete(Token).where(Token.expires_at < utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)
