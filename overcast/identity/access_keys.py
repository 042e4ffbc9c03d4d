"""EC2 access keys, as IAM keeps them: each belongs to a user and a project, is Active or
Inactive, and can be listed (never with its secret) and deleted.

Nothing about a key is cached in memory: several controllers may share one database, so every
request looks up the key, its status, its user and the user's roles on its project in one
indexed query, and a change made through any controller holds at the next request."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, select

from overcast.db import Database, utcnow
from overcast.db.models import AccessKey, Project, User
from overcast.db.models_openstack import RoleAssignment
from overcast.errors import NotFound, invalid
from overcast.identity.context import Context, is_cloud_admin
from overcast.identity.records import ProjectRecord, UserRecord
from overcast.identity.roles import expand
from overcast.identity.secrets import SecretBox

ACTIVE, INACTIVE = "Active", "Inactive"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


class KeyGrant(NamedTuple):
    """What a live key stands for: its secret (to check a signature) and the caller."""

    secret: str
    context: Context


@dataclass(frozen=True)
class KeyInfo:
    """A key as listings show it: no secret."""

    access_key_id: str
    user_id: str
    user_name: str
    project_id: str
    project_name: str
    status: str
    created_at: datetime


def _not_found(access_key_id: str) -> NotFound:
    return NotFound("NoSuchEntity", f"The access key {access_key_id[:32]} does not exist.")


class AccessKeys:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def create(self, user: UserRecord, project: ProjectRecord) -> tuple[str, str]:
        """A new active key of `user` on `project`: (key ID, secret)."""
        key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        secret = secrets.token_urlsafe(30)[:40]
        with self.db.session() as s:
            s.add(AccessKey(access_key_id=key_id, secret_encrypted=self.box.seal(secret),
                            user_id=user.id, project_id=project.id, created_at=utcnow(),
                            status=ACTIVE))
        return key_id, secret

    def list(self, user_id: str | None = None, project_id: str | None = None,
             access_key_id: str | None = None) -> list[KeyInfo]:
        query = (select(AccessKey, User.name, Project.name)
                 .join(User, User.id == AccessKey.user_id)
                 .join(Project, Project.id == AccessKey.project_id)
                 .order_by(AccessKey.created_at))
        if user_id:
            query = query.where(AccessKey.user_id == user_id)
        if project_id:
            query = query.where(AccessKey.project_id == project_id)
        if access_key_id:
            query = query.where(AccessKey.access_key_id == access_key_id[:32])
        with self.db.session() as s:
            return [KeyInfo(key.access_key_id, key.user_id, user_name, key.project_id,
                            project_name, key.status, key.created_at)
                    for key, user_name, project_name in s.execute(query)]

    def get(self, access_key_id: str) -> KeyInfo:
        found = self.list(access_key_id=access_key_id or "-")
        if not found:
            raise _not_found(access_key_id)
        return found[0]

    def set_status(self, access_key_id: str, status: str) -> None:
        if status not in (ACTIVE, INACTIVE):
            raise invalid(f"Invalid status '{status[:16]}': use {ACTIVE} or {INACTIVE}.")
        with self.db.session() as s:
            key = s.get(AccessKey, access_key_id[:32])
            if key is None:
                raise _not_found(access_key_id)
            key.status = status

    def delete(self, access_key_id: str) -> None:
        with self.db.session() as s:
            key = s.get(AccessKey, access_key_id[:32])
            if key is None:
                raise _not_found(access_key_id)
            s.delete(key)

    def newest(self, project_id: str) -> tuple[str, str] | None:
        """The project's newest active key and its secret (for `overcast credentials`)."""
        with self.db.session() as s:
            key = s.scalar(select(AccessKey).where(AccessKey.project_id == project_id,
                                                   AccessKey.status == ACTIVE)
                           .order_by(AccessKey.created_at.desc()))
        return None if key is None else (key.access_key_id, self.box.open(key.secret_encrypted))

    def lookup(self, access_key_id: str) -> KeyGrant | None:
        """The secret and the caller (with the user's current roles on the key's project) of
        an active key; None for an unknown or inactive one."""
        if not access_key_id or len(access_key_id) > 32:
            return None
        query = (select(AccessKey, Project, RoleAssignment.role)
                 .join(Project, Project.id == AccessKey.project_id)
                 .outerjoin(RoleAssignment, and_(RoleAssignment.user_id == AccessKey.user_id,
                                                 RoleAssignment.project_id
                                                 == AccessKey.project_id))
                 .where(AccessKey.access_key_id == access_key_id,
                        AccessKey.status == ACTIVE))
        with self.db.read() as s:
            rows = s.execute(query).all()
        if not rows:
            return None
        key, project = rows[0][0], rows[0][1]
        roles = tuple(expand({role for _, _, role in rows if role}))
        context = Context(project.id, project.account_id, key.user_id,
                          is_cloud_admin(project.name, roles), roles)
        return KeyGrant(self.box.open(key.secret_encrypted), context)
