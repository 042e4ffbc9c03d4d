"""Glance image members: the owner shares an image with another project (an EC2 launch
permission for its account) and that project accepts or rejects it."""

from __future__ import annotations

from sqlalchemy import select

from overcast.cloud.images.images import Images, PermissionChange
from overcast.cloud.images.records import MemberRecord
from overcast.db import Database, utcnow
from overcast.db.models import Image, Project
from overcast.db.models_openstack import GlanceImage, ImageMember
from overcast.errors import Conflict, Forbidden, NotFound, invalid
from overcast.identity.context import Context

STATUSES = ("pending", "accepted", "rejected")


class ImageMembers:
    def __init__(self, db: Database, images: Images) -> None:
        self.db = db
        self.images = images

    def _project(self, project_id: str) -> Project:
        with self.db.session() as s:
            project = s.get(Project, project_id)
        if project is None:
            raise NotFound("NotFound", f"No project {project_id}.")
        return project

    def add(self, ctx: Context, image_id: str, project_id: str) -> MemberRecord:
        image = self.images.check_owned(ctx, image_id)
        with self.db.session() as s:
            attrs = s.get(GlanceImage, image_id)
        if image.is_public or (attrs is not None and attrs.visibility != "shared"):
            raise Forbidden("Forbidden", "Only images with visibility 'shared' have members.")
        if project_id == image.project_id:
            raise Conflict("Conflict", "The owner of an image cannot be its member.")
        member = self._project(project_id)
        with self.db.session() as s:
            if s.get(ImageMember, (image_id, project_id)) is not None:
                raise Conflict("Conflict", f"{project_id} is already a member of the image.")
            now = utcnow()
            row = ImageMember(image_id=image_id, project_id=project_id, status="pending",
                              created_at=now, updated_at=now)
            s.add(row)
        self.images.change_permissions(ctx, image_id,
                                       PermissionChange(add_accounts=(member.account_id,)))
        return MemberRecord.of(row)

    def listing(self, ctx: Context, image: Image) -> list[MemberRecord]:
        """The owner sees every member; a member sees only itself."""
        with self.db.read() as s:
            query = select(ImageMember).where(ImageMember.image_id == image.id)
            if image.project_id != ctx.project_id:
                query = query.where(ImageMember.project_id == ctx.project_id)
            return [MemberRecord.of(m) for m in s.scalars(query.order_by(ImageMember.created_at))]

    def statuses(self, project_id: str) -> dict[str, str]:
        """image ID -> this project's answer, for the images shared with it."""
        with self.db.session() as s:
            return {m.image_id: m.status for m in s.scalars(
                select(ImageMember).where(ImageMember.project_id == project_id))}

    def set_status(self, ctx: Context, image: Image, project_id: str,
                   status: str) -> MemberRecord:
        if status not in STATUSES:
            raise invalid(f"Invalid member status '{status}'.")
        if project_id != ctx.project_id:
            raise Forbidden("Forbidden", "Only the member itself can accept or reject.")
        with self.db.session() as s:
            row = s.get(ImageMember, (image.id, project_id))
            if row is None:
                raise NotFound("NotFound", f"{project_id} is not a member of the image.")
            row.status, row.updated_at = status, utcnow()
            return MemberRecord.of(row)

    def remove(self, ctx: Context, image_id: str, project_id: str) -> None:
        self.images.check_owned(ctx, image_id)
        member = self._project(project_id)
        with self.db.session() as s:
            row = s.get(ImageMember, (image_id, project_id))
            if row is None:
                raise NotFound("NotFound", f"{project_id} is not a member of the image.")
            s.delete(row)
        self.images.change_permissions(ctx, image_id,
                                       PermissionChange(remove_accounts=(member.account_id,)))
