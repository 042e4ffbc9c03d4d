"""Glance metadata definitions: namespaces that describe properties, objects and tags
clients may put on images. Each namespace is one JSON document; public namespaces are
seen by every project, private ones by their owner."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from overcast.db import Database, utcnow
from overcast.db.models_openstack import MetadefNamespace
from overcast.errors import Conflict, Forbidden, NotFound, invalid
from overcast.identity.context import Context

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
RESOURCE_TYPES = ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor",
                  "OS::Nova::Server", "OS::Glance::Snapshot")


@dataclass(frozen=True)
class Namespace:
    name: str
    owner: str
    visibility: str
    protected: bool
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _view(row: MetadefNamespace) -> Namespace:
    return Namespace(row.namespace, row.project_id, row.visibility, row.protected,
                     json.loads(row.document or "{}"), row.created_at, row.updated_at)


def check_name(name: Any, what: str = "namespace") -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid(f"Invalid {what} name: 1 to 80 letters, digits, '_', '.', ':', '-'.")
    return name


def check_visibility(value: Any) -> str:
    if value not in ("public", "private"):
        raise invalid("visibility must be public or private.")
    return str(value)


class Metadefs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _visible(self, ctx: Context) -> ColumnElement[bool]:
        if ctx.is_admin:
            return MetadefNamespace.namespace.is_not(None)
        return or_(MetadefNamespace.visibility == "public",
                   MetadefNamespace.project_id == ctx.project_id)

    def list(self, ctx: Context) -> list[Namespace]:
        with self.db.session() as s:
            rows = s.scalars(select(MetadefNamespace).where(self._visible(ctx))
                             .order_by(MetadefNamespace.created_at))
            return [_view(r) for r in rows]

    def get(self, ctx: Context, name: str) -> Namespace:
        with self.db.session() as s:
            row = s.scalar(select(MetadefNamespace).where(
                MetadefNamespace.namespace == name, self._visible(ctx)))
        if row is None:
            raise NotFound("NotFound", f"Metadata definition namespace={name} was not found.")
        return _view(row)

    def create(self, ctx: Context, name: str, visibility: str, protected: bool,
               document: dict[str, Any]) -> Namespace:
        check_name(name)
        now = utcnow()
        with self.db.session() as s:
            if s.get(MetadefNamespace, name) is not None:
                raise Conflict("Conflict", f"Metadata definition namespace={name} exists.")
            row = MetadefNamespace(namespace=name, project_id=ctx.project_id,
                                   visibility=check_visibility(visibility),
                                   protected=bool(protected), document=json.dumps(document),
                                   created_at=now, updated_at=now)
            s.add(row)
        return _view(row)

    def change(self, ctx: Context, name: str,
               mutate: Callable[[Namespace], Namespace]) -> Namespace:
        """Apply `mutate` to a namespace the caller owns, in one transaction."""
        with self.db.session() as s:
            row = s.scalar(select(MetadefNamespace).where(
                MetadefNamespace.namespace == name, self._visible(ctx)).with_for_update())
            if row is None:
                raise NotFound("NotFound",
                               f"Metadata definition namespace={name} was not found.")
            if row.project_id != ctx.project_id and not ctx.is_admin:
                raise Forbidden("Forbidden", "You do not own this namespace.")
            changed = mutate(_view(row))
            if changed.name != row.namespace:
                check_name(changed.name)
                if s.get(MetadefNamespace, changed.name) is not None:
                    raise Conflict("Conflict", f"Namespace {changed.name} exists.")
                s.delete(row)
                s.flush()
                row = MetadefNamespace(namespace=changed.name, project_id=row.project_id,
                                       created_at=row.created_at)
                s.add(row)
            row.visibility = check_visibility(changed.visibility)
            row.protected = changed.protected
            row.document = json.dumps(changed.document)
            row.updated_at = utcnow()
        return _view(row)

    def delete(self, ctx: Context, name: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(MetadefNamespace).where(
                MetadefNamespace.namespace == name, self._visible(ctx)))
            if row is None:
                raise NotFound("NotFound",
                               f"Metadata definition namespace={name} was not found.")
            if row.project_id != ctx.project_id and not ctx.is_admin:
                raise Forbidden("Forbidden", "You do not own this namespace.")
            if row.protected:
                raise Forbidden("Forbidden", f"Namespace {name} is protected and cannot be "
                                "deleted.")
            s.delete(row)
