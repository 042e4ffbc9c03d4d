"""Tags on any resource of a project."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.db import Database
from overcast.db.models import Tag
from overcast.errors import InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import resource_type

MAX_TAGS = 50
Exists = Callable[[Session, Context, str], bool]

TAG_FILTERS: dict[str, flt.Extractor] = {
    "key": lambda t: t.item.key,
    "value": lambda t: t.item.value,
    "resource-id": lambda t: t.item.resource_id,
    "resource-type": lambda t: t.item.resource_type,
}


def validate(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidParameter("TagLimitExceeded", f"A resource can have at most {MAX_TAGS} tags")
    for key, value in tags.items():
        if not key or len(key) > 128:
            raise invalid("Tag keys must be 1 to 128 characters long.")
        if key.lower().startswith("aws:"):
            raise invalid("Tag keys starting with 'aws:' are reserved for internal use")
        if len(value) > 256:
            raise invalid("Tag values must be at most 256 characters long.")


def add(s: Session, project_id: str, resource_id: str, tags: dict[str, str],
        new: bool = False) -> None:
    """Set tags on a resource inside an open transaction (`new`: made in it, so untagged)."""
    existing = {} if new else {
        t.key: t for t in s.scalars(select(Tag).where(Tag.resource_id == resource_id))}
    if len(set(existing) | set(tags)) > MAX_TAGS:
        raise InvalidParameter("TagLimitExceeded", f"A resource can have at most {MAX_TAGS} tags")
    rtype = resource_type(resource_id) or "unknown"
    for key, value in tags.items():
        if key in existing:
            existing[key].value = value
        else:
            s.add(Tag(resource_id=resource_id, key=key, value=value, project_id=project_id,
                      resource_type=rtype))


def add_to_new(s: Session, project_id: str, resource_ids: Sequence[str],
               tags: dict[str, str]) -> None:
    """The same tags on resources made (and flushed) in this transaction: one INSERT."""
    if len(tags) > MAX_TAGS:
        raise InvalidParameter("TagLimitExceeded", f"A resource can have at most {MAX_TAGS} tags")
    rows = [{"resource_id": rid, "key": key, "value": value, "project_id": project_id,
             "resource_type": resource_type(rid) or "unknown"}
            for rid in resource_ids for key, value in tags.items()]
    if rows:
        s.execute(insert(Tag), rows)


def for_resources(s: Session, project_id: str | None,
                  ids: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    query = select(Tag)
    if project_id is not None:
        query = query.where(Tag.project_id == project_id)
    if ids is not None:
        id_list = list(ids)
        if not id_list:
            return {}
        query = query.where(Tag.resource_id.in_(id_list))
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for tag in s.scalars(query):
        found[tag.resource_id][tag.key] = tag.value
    return found


class Tags:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.resolvers: dict[str, Exists] = {}  # resource type -> does it exist for ctx

    def _check_resources(self, s: Session, ctx: Context, resource_ids: Sequence[str]) -> None:
        if not resource_ids:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter resourceIdSet")
        for rid in resource_ids:
            rtype = resource_type(rid)
            exists = self.resolvers.get(rtype or "")
            if exists is None:
                raise InvalidParameter("InvalidID", f"The ID '{rid}' is not valid")
            if not exists(s, ctx, rid):
                raise NotFound("InvalidID.NotFound" if rtype is None else
                               _not_found_code(rtype), f"The ID '{rid}' does not exist")

    def check(self, ctx: Context, resource_ids: Sequence[str]) -> None:
        with self.db.session() as s:
            self._check_resources(s, ctx, resource_ids)

    def create(self, ctx: Context, resource_ids: Sequence[str], tags: dict[str, str]) -> None:
        validate(tags)
        with self.db.session() as s:
            self._check_resources(s, ctx, resource_ids)
            for rid in resource_ids:
                add(s, ctx.project_id, rid, tags)

    def delete(self, ctx: Context, resource_ids: Sequence[str],
               tags: Sequence[tuple[str, str | None]]) -> None:
        with self.db.session() as s:
            self._check_resources(s, ctx, resource_ids)
            base = delete(Tag).where(Tag.project_id == ctx.project_id,
                                     Tag.resource_id.in_(resource_ids))
            if not tags:
                s.execute(base)
            for key, value in tags:
                query = base.where(Tag.key == key)
                if value is not None:
                    query = query.where(Tag.value == value)
                s.execute(query)

    def describe(self, ctx: Context, filters: Sequence[flt.Filter], max_results: int | None,
                 token: str | None) -> tuple[list[Tag], str | None]:
        flt.check_max_results(max_results, 5, 1000)
        with self.db.session() as s:
            rows = list(s.scalars(select(Tag).where(Tag.project_id == ctx.project_id)))
        items = flt.apply([flt.Tagged(t, {t.key: t.value}) for t in rows], filters, TAG_FILTERS)
        chunk, next_token = flt.page(items, lambda t: f"{t.item.resource_id}\0{t.item.key}",
                                     max_results, token)
        return [t.item for t in chunk], next_token

    def purge(self, s: Session, resource_id: str) -> None:
        s.execute(delete(Tag).where(Tag.resource_id == resource_id))


def _not_found_code(rtype: str) -> str:
    return {"instance": "InvalidInstanceID.NotFound", "image": "InvalidAMIID.NotFound",
            "key-pair": "InvalidKeyPair.NotFound"}.get(rtype, "InvalidID.NotFound")
