"""RunInstances' ClientToken: a repeated request answers with the launch the first one made.

The database guards it: a unique index on (project, client token) of each launch's first
instance (launch index 0, made once per RunInstances), so two requests racing with one token
cannot both commit; the loser reads the winner's instances. Each launch's rows keep a digest
of the request, so the same token with other parameters is refused, as EC2 refuses it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from overcast.db.models import Instance
from overcast.errors import invalid

_BY_TOKEN = select(Instance).where(Instance.project_id == bindparam("project"),
                                  Instance.client_token == bindparam("token")).order_by(
    Instance.launch_index)
_IGNORED = ("client_token", "dry_run")


def request_digest(request: Any) -> str:
    """A fingerprint of a RunRequest's parameters (all but the token itself)."""
    fields = {k: v for k, v in dataclasses.asdict(request).items() if k not in _IGNORED}
    text = json.dumps(fields, sort_keys=True,
                      default=lambda v: v.hex() if isinstance(v, bytes) else repr(v))
    return hashlib.sha256(text.encode()).hexdigest()


def earlier_launch(s: Session, project_id: str, token: str, digest: str) -> list[Instance]:
    """The instances an earlier request with this token made (none: it is the first); a
    different request with the same token gets IdempotentParameterMismatch."""
    rows = list(s.scalars(_BY_TOKEN, {"project": project_id, "token": token}))
    if rows and rows[0].launch_digest not in (None, digest):
        raise invalid("Arguments on this idempotent request are inconsistent with arguments "
                      "used in previous request(s).",
                      "IdempotentParameterMismatch")
    return rows
