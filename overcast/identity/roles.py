"""Roles on projects (admin, member, reader), users' passwords, and who may do what.

Every role is a real assignment: a new user is given one on the home project (admin for
cloud admins, member for everyone else, unless another is asked for), so taking it away
leaves the user with no role there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from overcast.db import Database
from overcast.db.models import Project, User
from overcast.db.models_openstack import RoleAssignment
from overcast.errors import NotFound, invalid
from overcast.identity.passwords import hash_secret, verify_secret
from overcast.identity.records import ProjectRecord, UserRecord

ROLES = ("admin", "member", "reader")
# each role and the roles it implies
IMPLIED = {"admin": ("admin", "member", "reader"), "member": ("member", "reader"),
           "reader": ("reader",)}
MIN_PASSWORD = 8


def expand(roles: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    found: list[str] = []
    for role in ROLES:
        if any(role in IMPLIED.get(r, ()) for r in roles):
            found.append(role)
    return found


@dataclass(frozen=True)
class Assignment:
    user: UserRecord
    project: ProjectRecord
    role: str


class Roles:
    def __init__(self, db: Database) -> None:
        self.db = db

    # look-ups ----------------------------------------------------------------------------
    def user(self, key: str) -> UserRecord:
        """A user by ID or name."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(or_(User.id == key, User.name == key)))
        if user is None:
            raise NotFound("UserNotFound", f"Could not find user: {key}.")
        return UserRecord.of(user)

    def project(self, key: str) -> ProjectRecord:
        with self.db.session() as s:
            project = s.scalar(select(Project).where(or_(Project.id == key,
                                                         Project.name == key)))
        if project is None:
            raise NotFound("ProjectNotFound", f"Could not find project: {key}.")
        return ProjectRecord.of(project)

    def users(self) -> list[UserRecord]:
        with self.db.session() as s:
            return [UserRecord.of(u) for u in s.scalars(select(User).order_by(User.created_at))]

    # passwords ---------------------------------------------------------------------------
    def set_password(self, user_key: str, password: str) -> None:
        if len(password or "") < MIN_PASSWORD:
            raise invalid(f"A password needs at least {MIN_PASSWORD} characters.")
        user = self.user(user_key)
        with self.db.session() as s:
            row = s.get(User, user.id)
            assert row is not None
            row.password_hash = hash_secret(password)

    def check_password(self, user: UserRecord, password: str) -> bool:
        with self.db.read() as s:
            stored = s.scalar(select(User.password_hash).where(User.id == user.id))
        return verify_secret(password, stored)

    # assignments -------------------------------------------------------------------------
    def assign(self, user_key: str, project_key: str, role: str) -> Assignment:
        if role not in ROLES:
            raise invalid(f"Unknown role '{role}': use one of {', '.join(ROLES)}.")
        user, project = self.user(user_key), self.project(project_key)
        with self.db.session() as s:
            if s.get(RoleAssignment, (user.id, project.id, role)) is None:
                s.add(RoleAssignment(user_id=user.id, project_id=project.id, role=role))
        return Assignment(user, project, role)

    def unassign(self, user_key: str, project_key: str, role: str) -> None:
        user, project = self.user(user_key), self.project(project_key)
        with self.db.session() as s:
            s.execute(delete(RoleAssignment).where(
                RoleAssignment.user_id == user.id, RoleAssignment.project_id == project.id,
                RoleAssignment.role == role))

    def assigned(self, user: UserRecord, project_id: str) -> list[str]:
        """The roles given on a project (before implication)."""
        with self.db.session() as s:
            return sorted(s.scalars(select(RoleAssignment.role).where(
                RoleAssignment.user_id == user.id, RoleAssignment.project_id == project_id)))

    def effective(self, user: UserRecord, project_id: str) -> list[str]:
        return expand(self.assigned(user, project_id))

    def projects_of(self, user: UserRecord) -> list[ProjectRecord]:
        """Every project the user holds a role on."""
        with self.db.session() as s:
            ids = select(RoleAssignment.project_id).where(RoleAssignment.user_id == user.id)
            return [ProjectRecord.of(p) for p in s.scalars(
                select(Project).where(Project.id.in_(ids)).order_by(Project.created_at))]

    def assignments(self, user_id: str | None = None,
                    project_id: str | None = None) -> list[tuple[str, str, str]]:
        """(user ID, project ID, role) triples."""
        with self.db.session() as s:
            query = select(RoleAssignment)
            if user_id:
                query = query.where(RoleAssignment.user_id == user_id)
            if project_id:
                query = query.where(RoleAssignment.project_id == project_id)
            return sorted((a.user_id, a.project_id, a.role) for a in s.scalars(query))
