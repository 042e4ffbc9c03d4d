"""The registered images a project may launch: its own and the cloud's public ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.db import Database, utcnow
from overcast.db.models import Image
from overcast.errors import InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_valid, new_id, new_uuid

# The cloud's own public images are owned by this account, alias "amazon" as on AWS.
CLOUD_ACCOUNT = "000000000000"


@dataclass(frozen=True)
class ImageFiles:
    disk_path: str | None
    disk_format: str = "qcow2"
    kernel_path: str | None = None
    ramdisk_path: str | None = None
    kernel_cmdline: str = ""
    size_bytes: int = 0


IMAGE_FILTERS: dict[str, flt.Extractor] = {
    "image-id": lambda t: t.item.id,
    "name": lambda t: t.item.name,
    "description": lambda t: t.item.description,
    "state": lambda t: t.item.state,
    "architecture": lambda t: t.item.architecture,
    "is-public": lambda t: "true" if t.item.is_public else "false",
    "image-type": lambda t: "machine",
    "owner-id": lambda t: t.owner_id,
    "owner-alias": lambda t: "amazon" if t.item.project_id is None else "self",
    "root-device-type": lambda t: "ebs",
    "virtualization-type": lambda t: "hvm",
    "hypervisor": lambda t: "xen",
    "platform-details": lambda t: "Linux/UNIX",
}


@dataclass
class ImageView(flt.Tagged[Image]):
    owner_id: str = CLOUD_ACCOUNT


def check_image_id(image_id: str) -> None:
    if not is_valid(image_id, "ami"):
        raise InvalidParameter("InvalidAMIID.Malformed", f'Invalid id: "{image_id}"')


class Images:
    def __init__(self, db: Database) -> None:
        self.db = db

    def register_public(self, name: str, files: ImageFiles, description: str = "",
                        default_user: str = "root") -> Image:
        image = Image(id=new_id("ami"), uuid=new_uuid(), project_id=None, name=name,
                      description=description, state="available", is_public=True,
                      disk_path=files.disk_path, disk_format=files.disk_format,
                      kernel_path=files.kernel_path, ramdisk_path=files.ramdisk_path,
                      kernel_cmdline=files.kernel_cmdline, size_bytes=files.size_bytes,
                      default_user=default_user, created_at=utcnow())
        with self.db.session() as s:
            s.add(image)
        return image

    def _visible(self, ctx: Context):  # noqa: ANN202 - an SQL expression
        return or_(Image.is_public.is_(True), Image.project_id == ctx.project_id)

    def get(self, ctx: Context, image_id: str) -> Image:
        check_image_id(image_id)
        with self.db.session() as s:
            image = s.scalar(select(Image).where(Image.id == image_id, self._visible(ctx)))
        if image is None:
            raise NotFound("InvalidAMIID.NotFound",
                           f"The image id '[{image_id}]' does not exist")
        return image

    def describe(self, ctx: Context, image_ids: Sequence[str], owners: Sequence[str],
                 filters: Sequence[flt.Filter]) -> list[ImageView]:
        for image_id in image_ids:
            check_image_id(image_id)
        with self.db.session() as s:
            query = select(Image).where(self._visible(ctx))
            if image_ids:
                query = query.where(Image.id.in_(image_ids))
            rows = list(s.scalars(query))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        missing = set(image_ids) - {r.id for r in rows}
        if missing:
            raise NotFound("InvalidAMIID.NotFound",
                           f"The image id '[{', '.join(sorted(missing))}]' does not exist")
        views = [ImageView(r, tags.get(r.id, {}), self._owner(ctx, r)) for r in rows]
        if owners:
            views = [v for v in views if self._owned_by(ctx, v, owners)]
        return sorted(flt.apply(views, filters, IMAGE_FILTERS), key=lambda v: v.item.id)

    @staticmethod
    def _owner(ctx: Context, image: Image) -> str:
        return CLOUD_ACCOUNT if image.project_id is None else ctx.account_id

    @staticmethod
    def _owned_by(ctx: Context, view: ImageView, owners: Sequence[str]) -> bool:
        aliases = {"self": ctx.account_id, "amazon": CLOUD_ACCOUNT}
        wanted = {aliases.get(o, o) for o in owners}
        return view.owner_id in wanted

    def exists(self, s, ctx: Context, image_id: str) -> bool:  # noqa: ANN001
        return s.scalar(select(Image.id).where(Image.id == image_id,
                                               self._visible(ctx))) is not None

    def count(self) -> int:
        with self.db.session() as s:
            return len(list(s.scalars(select(Image.id))))
