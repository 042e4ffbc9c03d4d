"""EC2 launch templates: named, numbered versions of launch parameters, one of them the
default; RunInstances launches from one by ID or name and version ($Latest, $Default, N)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.compute.launch_template_data import check_data
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Tag
from overcast.db.models_launch import LaunchTemplate, LaunchTemplateVersion
from overcast.errors import Conflict, InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id

__all__ = ["LaunchTemplate", "LaunchTemplates", "TemplateRef", "VersionView"]
_NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}$")
MAX_VERSIONS = 10000


@dataclass(frozen=True)
class TemplateRef:
    """A template named by ID or by name, as the API takes it."""

    template_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class VersionView:
    template: LaunchTemplate
    version: LaunchTemplateVersion

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.version.data)
        return data


def _iso(row: Any) -> str:
    return as_utc(row.created_at).strftime("%Y-%m-%dT%H:%M:%S.000Z")


TEMPLATE_FILTERS: dict[str, flt.Extractor] = {
    "create-time": lambda t: _iso(t.item),
    "launch-template-name": lambda t: t.item.name,
}


def _data_field(*path: str) -> flt.Extractor:
    def extract(t: flt.Tagged[VersionView]) -> str | None:
        value: Any = t.item.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return "true" if value else "false"
        return None if value is None else str(value)
    return extract


VERSION_FILTERS: dict[str, flt.Extractor] = {
    "create-time": lambda t: _iso(t.item.version),
    "image-id": _data_field("ImageId"),
    "instance-type": _data_field("InstanceType"),
    "is-default-version": lambda t: "true" if t.item.template.default_version
    == t.item.version.version else "false",
    "ebs-optimized": _data_field("EbsOptimized"),
    "http-endpoint": _data_field("MetadataOptions", "HttpEndpoint"),
    "http-tokens": _data_field("MetadataOptions", "HttpTokens"),
    "http-protocol-ipv4": lambda t: "enabled",
    "host-resource-group-arn": lambda t: None,
    "iam-instance-profile": lambda t: None,
    "kernel-id": lambda t: None,
    "license-configuration-arn": lambda t: None,
    "network-card-index": lambda t: None,
    "ram-disk-id": lambda t: None,
}


def _not_found(ref: TemplateRef) -> NotFound:
    if ref.template_id:
        return NotFound("InvalidLaunchTemplateId.NotFound", "The specified launch template, "
                        f"with template ID {ref.template_id}, does not exist.")
    return NotFound("InvalidLaunchTemplateName.NotFoundException", "The specified launch "
                    f"template, with template name {ref.name}, does not exist.")


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidParameter("InvalidLaunchTemplateName.MalformedException",
                               "A launch template name must be between 3 and 128 characters, "
                               "and may contain letters, numbers, and the following "
                               "characters: - ( ) . / _.'")


def check_template_id(template_id: str) -> None:
    if not is_well_formed(template_id, "lt"):
        raise InvalidParameter("InvalidLaunchTemplateId.Malformed",
                               f"The specified ID for the launch template is invalid: "
                               f"'{template_id[:64]}'. Expecting 'lt-xxxxxxxxxxxxxxxxx'.")


def _find(s: Session, ctx: Context, ref: TemplateRef, lock: bool = False) -> LaunchTemplate:
    if bool(ref.template_id) == bool(ref.name):
        raise InvalidParameter("MissingParameter" if not ref.name else
                               "InvalidParameterCombination",
                               "Specify either the launch template ID or the launch template "
                               "name, but not both.")
    query = select(LaunchTemplate).where(LaunchTemplate.project_id == ctx.project_id)
    if ref.template_id:
        check_template_id(ref.template_id)
        query = query.where(LaunchTemplate.id == ref.template_id)
    else:
        query = query.where(LaunchTemplate.name == ref.name)
    found = s.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise _not_found(ref)
    return found


def version_number(template: LaunchTemplate, version: str | None) -> int:
    """$Latest, $Default (also when no version is given) or a number."""
    if version in (None, "", "$Default"):
        return template.default_version
    if version == "$Latest":
        return template.latest_version
    if not (version.isascii() and version.isdigit()) or len(version) > 9:
        raise InvalidParameter("InvalidLaunchTemplateId.VersionNotFound",
                               f"Could not find launch template version {version[:20]} for "
                               f"launch template {template.id}.")
    return int(version)


def _version(s: Session, template: LaunchTemplate, number: int) -> LaunchTemplateVersion:
    found = s.get(LaunchTemplateVersion, (template.id, number))
    if found is None:
        raise NotFound("InvalidLaunchTemplateId.VersionNotFound", f"Could not find launch "
                       f"template version {number} for launch template {template.id}.")
    return found


class LaunchTemplates:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def exists(s: Session, ctx: Context, template_id: str) -> bool:
        found = s.get(LaunchTemplate, template_id)
        return found is not None and found.project_id == ctx.project_id

    def create(self, ctx: Context, name: str, data: dict[str, Any], description: str,
               tags: dict[str, str]) -> VersionView:
        check_name(name)
        check_data(data)
        now = utcnow()
        template = LaunchTemplate(id=new_id("lt"), project_id=ctx.project_id, name=name,
                                  default_version=1, latest_version=1,
                                  created_by=_creator(ctx), created_at=now)
        try:
            with self.db.session() as s:
                s.add(template)
                s.flush()
                version = self._add_version(s, ctx, template, 1, data, description)
                if tags:
                    tagsvc.add(s, ctx.project_id, template.id, tags)
        except IntegrityError:
            raise InvalidParameter("InvalidLaunchTemplateName.AlreadyExistsException",
                                   f"Launch template name already in use: {name}.") from None
        return VersionView(template, version)

    @staticmethod
    def _add_version(s: Session, ctx: Context, template: LaunchTemplate, number: int,
                     data: dict[str, Any], description: str) -> LaunchTemplateVersion:
        version = LaunchTemplateVersion(template_id=template.id, version=number,
                                        description=description, data=json.dumps(data),
                                        created_by=_creator(ctx), created_at=utcnow())
        s.add(version)
        return version

    def create_version(self, ctx: Context, ref: TemplateRef, data: dict[str, Any],
                       description: str, source_version: str | None) -> VersionView:
        with self.db.session() as s:
            template = _find(s, ctx, ref, lock=True)
            if source_version is not None:
                source = _version(s, template, version_number(template, source_version))
                data = {**json.loads(source.data), **data}
            check_data(data)
            if template.latest_version >= MAX_VERSIONS:
                raise Conflict("VersionLimitExceeded", "The launch template has the most "
                               f"versions allowed ({MAX_VERSIONS}).")
            template.latest_version += 1
            version = self._add_version(s, ctx, template, template.latest_version, data,
                                        description)
            return VersionView(template, version)

    def modify(self, ctx: Context, ref: TemplateRef, default_version: str | None,
               ) -> LaunchTemplate:
        with self.db.session() as s:
            template = _find(s, ctx, ref, lock=True)
            if default_version is not None:
                number = version_number(template, default_version)
                _version(s, template, number)
                template.default_version = number
            return template

    def delete(self, ctx: Context, ref: TemplateRef) -> LaunchTemplate:
        with self.db.session() as s:
            template = _find(s, ctx, ref, lock=True)
            s.execute(delete(LaunchTemplateVersion).where(
                LaunchTemplateVersion.template_id == template.id))
            s.execute(delete(Tag).where(Tag.resource_id == template.id))
            s.delete(template)
            return template

    def delete_versions(self, ctx: Context, ref: TemplateRef, versions: Sequence[str],
                        ) -> tuple[LaunchTemplate, list[int], list[tuple[str, str, str]]]:
        """(template, deleted numbers, [(version, error code, message)])."""
        deleted: list[int] = []
        failed: list[tuple[str, str, str]] = []
        with self.db.session() as s:
            template = _find(s, ctx, ref, lock=True)
            for text in versions:
                number = int(text) if text.isascii() and text.isdigit() and len(text) < 10 \
                    else None
                row = s.get(LaunchTemplateVersion, (template.id, number)) if number else None
                if row is None:
                    failed.append((text, "launchTemplateVersionDoesNotExist",
                                   f"The specified launch template version {text} does not "
                                   "exist."))
                elif row.version == template.default_version:
                    failed.append((text, "unexpectedError", "You cannot delete the default "
                                   "version of a launch template; delete the template."))
                else:
                    s.delete(row)
                    deleted.append(row.version)
            s.flush()
            if template.latest_version in deleted:
                template.latest_version = max(s.scalars(select(
                    LaunchTemplateVersion.version).where(
                        LaunchTemplateVersion.template_id == template.id)))
        return template, deleted, failed

    def describe(self, ctx: Context, ids: Sequence[str], names: Sequence[str],
                 filters: Sequence[flt.Filter], max_results: int | None, token: str | None,
                 ) -> tuple[list[flt.Tagged[LaunchTemplate]], str | None]:
        for template_id in ids:
            check_template_id(template_id)
        flt.check_filters(filters, TEMPLATE_FILTERS)
        flt.check_max_results(max_results, 1, 200)
        with self.db.read() as s:
            rows = list(s.scalars(select(LaunchTemplate).where(
                LaunchTemplate.project_id == ctx.project_id)))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        missing_ids = [v for v in ids if v not in {r.id for r in rows}]
        if missing_ids:
            raise _not_found(TemplateRef(template_id=missing_ids[0]))
        missing_names = [v for v in names if v not in {r.name for r in rows}]
        if missing_names:
            raise _not_found(TemplateRef(name=missing_names[0]))
        rows = [r for r in rows if (not ids or r.id in ids) and (not names or r.name in names)]
        items = [flt.Tagged(r, tags.get(r.id, {})) for r in rows]
        found = [t for t in items if flt.matches(t, filters, TEMPLATE_FILTERS)]
        return flt.page(found, lambda t: t.item.id, max_results, token)

    def describe_versions(self, ctx: Context, ref: TemplateRef, versions: Sequence[str],
                          bounds: tuple[str | None, str | None], filters: Sequence[flt.Filter],
                          max_results: int | None, token: str | None,
                          ) -> tuple[list[flt.Tagged[VersionView]], str | None]:
        flt.check_filters(filters, VERSION_FILTERS)
        flt.check_max_results(max_results, 1, 200)
        with self.db.read() as s:
            if ref.template_id or ref.name:
                templates = [_find(s, ctx, ref)]
            else:
                if any(v not in ("$Latest", "$Default") for v in versions) or not versions:
                    raise InvalidParameter("MissingParameter", "Specify a launch template ID "
                                           "or name, or only $Latest and $Default versions.")
                templates = list(s.scalars(select(LaunchTemplate).where(
                    LaunchTemplate.project_id == ctx.project_id)))
            views = [v for t in templates for v in
                     self._versions(s, t, versions, bounds)]
        items = [flt.Tagged(v, {}) for v in views]
        found = [t for t in items if flt.matches(t, filters, VERSION_FILTERS)]
        return flt.page(found, lambda t: f"{t.item.template.id}/{t.item.version.version:010d}",
                        max_results, token)

    @staticmethod
    def _versions(s: Session, template: LaunchTemplate, versions: Sequence[str],
                  bounds: tuple[str | None, str | None]) -> list[VersionView]:
        if versions:
            numbers = dict.fromkeys(version_number(template, v) for v in versions)
            return [VersionView(template, _version(s, template, n)) for n in numbers]
        low, high = (version_number(template, b) if b else None for b in bounds)
        query = select(LaunchTemplateVersion).where(
            LaunchTemplateVersion.template_id == template.id)
        if low is not None:
            query = query.where(LaunchTemplateVersion.version >= low)
        if high is not None:
            query = query.where(LaunchTemplateVersion.version <= high)
        return [VersionView(template, row) for row in s.scalars(query)]

    def launch_data(self, ctx: Context, ref: TemplateRef, version: str | None,
                    ) -> dict[str, Any]:
        """The data of the version RunInstances asked for."""
        with self.db.read() as s:
            template = _find(s, ctx, ref)
            data: dict[str, Any] = json.loads(
                _version(s, template, version_number(template, version)).data)
            return data


def _creator(ctx: Context) -> str:
    return f"arn:aws:iam::{ctx.account_id}:root"
