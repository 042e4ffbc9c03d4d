"""Projects, users and EC2 access keys."""

from __future__ import annotations

import re
import secrets
import string
import threading
from dataclasses import dataclass

from sqlalchemy import select

from overcast.db import Database, utcnow
from overcast.db.models import AccessKey, Project, User
from overcast.errors import Conflict, NotFound, invalid
from overcast.identity.context import Context
from overcast.identity.secrets import SecretBox
from overcast.ids import new_hex

ADMIN_PROJECT = "admin"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Credentials:
    project: str
    account_id: str
    access_key_id: str
    secret_access_key: str


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name or ""):
        raise invalid(f"Invalid {what} name '{name}': use 1-64 letters, digits, '.', '_', '-'.")


class Identity:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        self._secrets: dict[str, tuple[str, Context]] = {}
        self._cache_lock = threading.Lock()
        # the OpenStack side: roles and passwords, tokens, application credentials
        from overcast.identity.appcreds import AppCredentials
        from overcast.identity.roles import Roles
        from overcast.identity.tokens import Tokens

        self.roles = Roles(db)
        self.tokens = Tokens(db)
        self.app_credentials = AppCredentials(db, box)

    # projects -------------------------------------------------------------------------
    def create_project(self, name: str) -> Project:
        _check_name(name, "project")
        with self.db.session() as s:
            if s.scalar(select(Project).where(Project.name == name)):
                raise Conflict("InvalidParameterValue", f"Project '{name}' already exists.")
            taken = set(s.scalars(select(Project.account_id)))
            account = self._new_account_id(taken)
            project = Project(id=new_hex(), name=name, account_id=account, created_at=utcnow())
            s.add(project)
        return project

    @staticmethod
    def _new_account_id(taken: set[str]) -> str:
        while True:
            account = str(secrets.randbelow(9 * 10**11) + 10**11)
            if account not in taken:
                return account

    def list_projects(self) -> list[Project]:
        with self.db.session() as s:
            return list(s.scalars(select(Project).order_by(Project.created_at)))

    def get_project(self, name: str) -> Project:
        with self.db.session() as s:
            project = s.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise NotFound("InvalidParameterValue", f"No project named '{name}'.")
        return project

    def set_quota(self, name: str, max_instances: int | None, max_vcpus: int | None,
                  max_elastic_ips: int | None = None) -> Project:
        with self.db.session() as s:
            project = s.scalar(select(Project).where(Project.name == name))
            if project is None:
                raise NotFound("InvalidParameterValue", f"No project named '{name}'.")
            if max_instances is not None:
                project.max_instances = max_instances
            if max_vcpus is not None:
                project.max_vcpus = max_vcpus
            if max_elastic_ips is not None:
                project.max_elastic_ips = max_elastic_ips
        return project

    # users and keys ---------------------------------------------------------------------
    def create_user(self, name: str, project_name: str, is_admin: bool = False) -> User:
        _check_name(name, "user")
        project = self.get_project(project_name)
        with self.db.session() as s:
            if s.scalar(select(User).where(User.name == name)):
                raise Conflict("InvalidParameterValue", f"User '{name}' already exists.")
            user = User(id=new_hex(), name=name, project_id=project.id, is_admin=is_admin,
                        created_at=utcnow())
            s.add(user)
        return user

    def _project_user(self, project: Project) -> User:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.project_id == project.id)
                            .order_by(User.created_at))
        return user or self.create_user(f"{project.name}-user", project.name)

    def create_access_key(self, project_name: str) -> Credentials:
        project = self.get_project(project_name)
        user = self._project_user(project)
        key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        secret = secrets.token_urlsafe(30)[:40]
        with self.db.session() as s:
            s.add(AccessKey(access_key_id=key_id, secret_encrypted=self.box.seal(secret),
                            user_id=user.id, project_id=project.id, created_at=utcnow()))
        return Credentials(project.name, project.account_id, key_id, secret)

    def credentials(self, project_name: str) -> Credentials:
        """The project's newest key, decrypted (for the host admin's `overcast credentials`)."""
        project = self.get_project(project_name)
        with self.db.session() as s:
            key = s.scalar(select(AccessKey).where(AccessKey.project_id == project.id)
                           .order_by(AccessKey.created_at.desc()))
        if key is None:
            return self.create_access_key(project_name)
        return Credentials(project.name, project.account_id, key.access_key_id,
                           self.box.open(key.secret_encrypted))

    def lookup(self, access_key_id: str) -> tuple[str, Context] | None:
        """The secret and the caller's context for a key ID, or None if no such key."""
        cached = self._secrets.get(access_key_id)
        if cached:
            return cached
        with self.db.session() as s:
            row = s.execute(
                select(AccessKey, Project, User)
                .join(Project, Project.id == AccessKey.project_id)
                .join(User, User.id == AccessKey.user_id)
                .where(AccessKey.access_key_id == access_key_id)).first()
        if row is None:
            return None
        key, project, user = row
        found = (self.box.open(key.secret_encrypted),
                 Context(project.id, project.account_id, user.id, user.is_admin))
        with self._cache_lock:
            self._secrets[access_key_id] = found
        return found

    def user_name(self, user_id: str) -> str:
        """The user's name, or the ID itself for a user that no longer exists."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            return user.name if user is not None else user_id

    def bootstrap(self) -> Credentials | None:
        """On the first start: the admin project, its user and a key. None if done before."""
        with self.db.session() as s:
            if s.scalar(select(Project).where(Project.name == ADMIN_PROJECT)):
                return None
        self.create_project(ADMIN_PROJECT)
        self.create_user("admin", ADMIN_PROJECT, is_admin=True)
        return self.create_access_key(ADMIN_PROJECT)
