"""Projects, users and EC2 access keys."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.db import Database, utcnow
from overcast.db.models import AccessKey, Project, User
from overcast.db.models_openstack import AppCredential, RoleAssignment, Token
from overcast.errors import Conflict, Forbidden, NotFound, invalid
from overcast.identity.access_keys import AccessKeys, KeyGrant
from overcast.identity.context import ADMIN_PROJECT
from overcast.identity.records import ProjectRecord, UserRecord
from overcast.identity.secrets import SecretBox
from overcast.ids import new_hex

__all__ = ["ADMIN_PROJECT", "Credentials", "Identity"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
QUOTA_COLUMNS = frozenset({"max_instances", "max_vcpus", "max_elastic_ips", "max_images",
                           "max_image_bytes", "max_volumes", "max_volume_gib"})


@dataclass(frozen=True)
class Credentials:
    project: str
    account_id: str
    access_key_id: str
    secret_access_key: str
    admin_password: str | None = None  # set on the first start only: the admin user's login


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name or ""):
        raise invalid(f"Invalid {what} name '{name}': use 1-64 letters, digits, '.', '_', '-'.")


class Identity:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        self.access_keys = AccessKeys(db, box)
        # the OpenStack side: roles and passwords, tokens, application credentials
        from overcast.identity.appcreds import AppCredentials
        from overcast.identity.roles import Roles
        from overcast.identity.tokens import Tokens

        self.roles = Roles(db)
        self.tokens = Tokens(db)
        self.app_credentials = AppCredentials(db, box)

    # projects -------------------------------------------------------------------------
    def create_project(self, name: str) -> ProjectRecord:
        _check_name(name, "project")
        with self.db.session() as s:
            if s.scalar(select(Project).where(Project.name == name)):
                raise Conflict("InvalidParameterValue", f"Project '{name}' already exists.")
            taken = set(s.scalars(select(Project.account_id)))
            account = self._new_account_id(taken)
            project = Project(id=new_hex(), name=name, account_id=account, created_at=utcnow())
            s.add(project)
        return ProjectRecord.of(project)

    @staticmethod
    def _new_account_id(taken: set[str]) -> str:
        while True:
            account = str(secrets.randbelow(9 * 10**11) + 10**11)
            if account not in taken:
                return account

    def list_projects(self) -> list[ProjectRecord]:
        with self.db.session() as s:
            return [ProjectRecord.of(p) for p in
                    s.scalars(select(Project).order_by(Project.created_at))]

    def get_project(self, name: str) -> ProjectRecord:
        with self.db.session() as s:
            project = s.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise NotFound("InvalidParameterValue", f"No project named '{name}'.")
        return ProjectRecord.of(project)

    def set_limits(self, name: str, limits: Mapping[str, int | None]) -> ProjectRecord:
        """Set a project's quotas (columns of QUOTA_COLUMNS) in one transaction; a limit
        given as None stays as it is."""
        unknown = set(limits) - QUOTA_COLUMNS
        if unknown:
            raise ValueError(f"not a quota: {', '.join(sorted(unknown))}")
        with self.db.session() as s:
            project = s.scalar(select(Project).where(Project.name == name))
            if project is None:
                raise NotFound("InvalidParameterValue", f"No project named '{name}'.")
            for column, value in limits.items():
                if value is not None:
                    setattr(project, column, value)
        return ProjectRecord.of(project)

    # users and keys ---------------------------------------------------------------------
    def create_user(self, name: str, project_name: str, is_admin: bool = False,
                    role: str | None = None) -> UserRecord:
        """A user of a home project, holding `role` there (default: admin for a cloud admin,
        else member) as a real assignment, so that removing it leaves no role behind."""
        from overcast.identity.roles import ROLES

        _check_name(name, "user")
        role = role or ("admin" if is_admin else "member")
        if role not in ROLES:
            raise invalid(f"Unknown role '{role}': use one of {', '.join(ROLES)}.")
        project = self.get_project(project_name)
        with self.db.session() as s:
            if s.scalar(select(User).where(User.name == name)):
                raise Conflict("InvalidParameterValue", f"User '{name}' already exists.")
            user = User(id=new_hex(), name=name, project_id=project.id, is_admin=is_admin,
                        created_at=utcnow())
            s.add(user)
            s.flush()
            s.add(RoleAssignment(user_id=user.id, project_id=project.id, role=role))
        return UserRecord.of(user)

    def delete_user(self, key: str) -> UserRecord:
        """Delete a user (by name or ID) with its access keys, tokens, application
        credentials and role assignments. Its instances stay: they belong to the project."""
        user = self.roles.user(key)
        with self.db.session() as s:
            if self._last_cloud_admin(s, user):
                raise Conflict("Conflict", f"User '{user.name}' is the cloud's last "
                               "administrator (admin on the admin project).")
            for model in (AccessKey, Token, AppCredential, RoleAssignment):
                s.execute(delete(model).where(model.user_id == user.id))
            s.execute(delete(User).where(User.id == user.id))
        return user

    @staticmethod
    def _last_cloud_admin(s: Session, user: UserRecord) -> bool:
        admins = set(s.scalars(
            select(RoleAssignment.user_id).join(Project, Project.id == RoleAssignment.project_id)
            .where(Project.name == ADMIN_PROJECT, RoleAssignment.role == "admin")))
        return admins == {user.id}

    def _project_user(self, project: ProjectRecord) -> UserRecord:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.project_id == project.id)
                            .order_by(User.created_at))
        if user is None:
            return self.create_user(f"{project.name}-user", project.name)
        return UserRecord.of(user)

    def create_access_key(self, project_name: str, user_key: str | None = None) -> Credentials:
        """A new key on a project for a user who holds a role there (default: the project's
        first user, made if there is none)."""
        project = self.get_project(project_name)
        user = self.roles.user(user_key) if user_key else self._project_user(project)
        if not self.roles.assigned(user, project.id):
            raise Forbidden("UnauthorizedOperation",
                            f"User '{user.name}' holds no role on project '{project.name}'.")
        key_id, secret = self.access_keys.create(user, project)
        return Credentials(project.name, project.account_id, key_id, secret)

    def credentials(self, project_name: str) -> Credentials:
        """The project's newest active key, decrypted (for the host admin's
        `overcast credentials`); a new one if it has none."""
        project = self.get_project(project_name)
        found = self.access_keys.newest(project.id)
        if found is None:
            return self.create_access_key(project_name)
        return Credentials(project.name, project.account_id, *found)

    def lookup(self, access_key_id: str) -> KeyGrant | None:
        """The secret and the caller's context (with current roles) of an active key."""
        return self.access_keys.lookup(access_key_id)

    def user_name(self, user_id: str) -> str:
        """The user's name, or the ID itself for a user that no longer exists."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            return user.name if user is not None else user_id

    def bootstrap(self) -> Credentials | None:
        """On the first start: the admin project, its user with a password (the dashboard's
        and Keystone's first login) and a key. None if done before."""
        with self.db.session() as s:
            if s.scalar(select(Project).where(Project.name == ADMIN_PROJECT)):
                return None
        self.create_project(ADMIN_PROJECT)
        self.create_user("admin", ADMIN_PROJECT, is_admin=True)
        password = secrets.token_hex(12)  # hex: never read as an option, easy to copy
        self.roles.set_password("admin", password)
        return replace(self.create_access_key(ADMIN_PROJECT), admin_password=password)
