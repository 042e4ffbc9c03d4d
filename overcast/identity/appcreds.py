"""Application credentials: a secret that stands for one user on one project with a fixed
set of roles, as Keystone's v3 API offers them."""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from overcast.db import Database, as_utc, utcnow
from overcast.db.models_openstack import AppCredential
from overcast.errors import AuthenticationFailed, Conflict, NotFound, invalid
from overcast.identity.passwords import hash_secret, verify_secret
from overcast.identity.records import AppCredentialRecord, ProjectRecord, UserRecord
from overcast.identity.secrets import SecretBox
from overcast.ids import new_hex

CLI_CREDENTIAL = "overcast-cli"


@dataclass(frozen=True)
class NewAppCredential:
    user: UserRecord
    project: ProjectRecord
    name: str
    roles: list[str]
    secret: str | None = None
    description: str = ""
    expires_at: datetime | None = None
    unrestricted: bool = False
    keep_sealed: bool = False  # `overcast credentials` may print it again


class AppCredentials:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def create(self, req: NewAppCredential) -> tuple[AppCredentialRecord, str]:
        if not req.name or len(req.name) > 255:
            raise invalid("An application credential needs a name of 1 to 255 characters.")
        if req.expires_at is not None and as_utc(req.expires_at) <= utcnow():
            raise invalid("The expiry time must be in the future.")
        secret = req.secret or secrets.token_urlsafe(48)
        row = AppCredential(
            id=new_hex(), user_id=req.user.id, project_id=req.project.id, name=req.name,
            description=req.description or "", secret_hash=hash_secret(secret),
            secret_sealed=self.box.seal(secret) if req.keep_sealed else None,
            roles=",".join(req.roles), unrestricted=req.unrestricted,
            expires_at=req.expires_at, created_at=utcnow())
        with self.db.session() as s:
            if s.scalar(select(AppCredential.id).where(AppCredential.user_id == req.user.id,
                                                       AppCredential.name == req.name)):
                raise Conflict("Conflict", f"An application credential named '{req.name}' "
                               "exists for this user.")
            s.add(row)
        return AppCredentialRecord.of(row), secret

    def list(self, user_id: str, name: str | None = None) -> list[AppCredentialRecord]:
        return [AppCredentialRecord.of(row) for row in self._rows(user_id, name)]

    def _rows(self, user_id: str, name: str | None = None) -> builtins.list[AppCredential]:
        with self.db.session() as s:
            query = select(AppCredential).where(AppCredential.user_id == user_id)
            if name:
                query = query.where(AppCredential.name == name)
            return list(s.scalars(query.order_by(AppCredential.created_at)))

    def get(self, user_id: str, credential_id: str) -> AppCredentialRecord:
        with self.db.session() as s:
            row = s.scalar(select(AppCredential).where(AppCredential.user_id == user_id,
                                                       AppCredential.id == credential_id))
        if row is None:
            raise NotFound("ApplicationCredentialNotFound",
                           f"Could not find application credential: {credential_id}.")
        return AppCredentialRecord.of(row)

    def delete(self, user_id: str, credential_id: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(AppCredential).where(AppCredential.user_id == user_id,
                                                       AppCredential.id == credential_id))
            if row is None:
                raise NotFound("ApplicationCredentialNotFound",
                               f"Could not find application credential: {credential_id}.")
            s.delete(row)

    def authenticate(self, credential_id: str | None, secret: str, name: str | None = None,
                     user_id: str | None = None) -> AppCredentialRecord:
        with self.db.session() as s:
            query = select(AppCredential)
            if credential_id:
                query = query.where(AppCredential.id == credential_id)
            elif name and user_id:
                query = query.where(AppCredential.name == name,
                                    AppCredential.user_id == user_id)
            else:
                raise AuthenticationFailed("Unauthorized", "The request you have made "
                                           "requires authentication.")
            row = s.scalar(query)
        expired = row is not None and row.expires_at is not None \
            and as_utc(row.expires_at) <= utcnow()
        if row is None or expired or not verify_secret(secret, row.secret_hash):
            raise AuthenticationFailed("Unauthorized", "Invalid application credential.")
        return AppCredentialRecord.of(row)

    def sealed_for_cli(self, user: UserRecord, project: ProjectRecord,
                       roles: builtins.list[str]) -> tuple[AppCredentialRecord, str]:
        """The credential `overcast credentials` prints: made once, shown again later."""
        for row in self._rows(user.id, CLI_CREDENTIAL):
            if row.project_id == project.id and row.secret_sealed:
                return AppCredentialRecord.of(row), self.box.open(row.secret_sealed)
            self.delete(user.id, row.id)
        return self.create(NewAppCredential(user, project, CLI_CREDENTIAL, roles,
                                            description="made by `overcast credentials`",
                                            keep_sealed=True))
