"""Who an `overcast agent` on another host is: one-time join tokens an admin makes for a host
name, exchanged once for that host's credential (`<id>.<secret>`), which every later call of
the agent API carries. Tokens and secrets are kept only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Host, Instance
from overcast.db.models_agents import HostCredential, HostJoinToken
from overcast.errors import CloudError, invalid
from overcast.ids import new_hex

JOIN_TOKEN_LIFETIME = timedelta(hours=1)
TOKEN_PREFIX = "ocjoin-"


class JoinRefused(CloudError):
    kind = "auth"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_host_name(name: str) -> str:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise invalid(f"host name {name!r}: 1-64 letters, digits, '-', '_' or '.'")
    return name


class HostCredentials:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create_token(self, host_name: str, lifetime: timedelta = JOIN_TOKEN_LIFETIME) -> str:
        """A join token for `host_name`, usable once before it expires; shown only now."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        with self.db.session() as s:
            s.add(HostJoinToken(token_hash=_hash(token), host_name=check_host_name(host_name),
                                created_at=now, expires_at=now + lifetime))
        return token

    def join(self, token: str, host_name: str) -> str:
        """Spend the token (once) and give the host its credential; a host that joins again
        gets a new one and its old credential stops working."""
        now = utcnow()
        with self.db.session() as s:
            row = s.scalar(select(HostJoinToken).where(
                HostJoinToken.token_hash == _hash(token)).with_for_update())
            if row is None or row.used_at is not None or as_utc(row.expires_at) <= now:
                raise JoinRefused("InvalidJoinToken",
                                  "The join token is unknown, spent or expired.")
            if row.host_name != host_name:
                raise JoinRefused("InvalidJoinToken",
                                  f"The join token is not for host {host_name}.")
            row.used_at = now
            secret, credential_id = secrets.token_urlsafe(32), new_hex()
            s.execute(delete(HostCredential).where(HostCredential.host_name == host_name))
            s.add(HostCredential(id=credential_id, host_name=host_name,
                                 secret_hash=_hash(secret), created_at=now))
        return f"{credential_id}.{secret}"

    def authenticate(self, credential: str) -> str | None:
        """The host name a credential belongs to, or None."""
        credential_id, _, secret = credential.partition(".")
        if not credential_id or not secret:
            return None
        with self.db.read() as s:
            row = s.get(HostCredential, credential_id)
        if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
            return None
        return row.host_name

    def host_id(self, host_name: str) -> str | None:
        """The ID of the host registered under this name (None until its first heartbeat)."""
        with self.db.read() as s:
            return s.scalar(select(Host.id).where(Host.name == host_name))

    def placement(self, instance_ids: list[str]) -> dict[str, str | None]:
        """Each of these instances that exists -> the host it is placed on."""
        if not instance_ids:
            return {}
        with self.db.read() as s:
            return {i: h for i, h in s.execute(select(Instance.id, Instance.host_id).where(
                Instance.id.in_(instance_ids)))}
