"""Images: the cloud's public ones, a project's own, and those shared with it.

A project may see and launch an image it owns, a public one (the cloud's own, owned by
CLOUD_ACCOUNT with the alias "amazon", or any image made public with launch permission group
`all`), or one whose owner granted its account a launch permission. Everything else does not
exist for it (InvalidAMIID.NotFound), as on AWS. Deregistered images keep their row but vanish
from every API; their files go once no instance that is not yet terminated uses them
(ImageStore.collect).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.block_devices import BlockDevice
from overcast.cloud.images.quotas import ImageQuotas
from overcast.cloud.images.store import ImageStore
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Image, Project
from overcast.db.models_images import ImageLaunchPermission
from overcast.errors import Conflict, Forbidden, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import is_valid, new_id, new_uuid
from overcast.images import importer
from overcast.images.probe import UnsafeImage, probe

# The cloud's own public images are owned by this account, alias "amazon" as on AWS.
CLOUD_ACCOUNT = "000000000000"
OWNER_ALIASES = ("amazon", "aws-marketplace", "aws-backup-vault")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
IMAGE_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]{3,128}$")
ARCHITECTURES = ("x86_64",)
MAX_DESCRIPTION = 255


@dataclass(frozen=True)
class ImageFiles:
    disk_path: str | None
    disk_format: str = "qcow2"
    kernel_path: str | None = None
    ramdisk_path: str | None = None
    kernel_cmdline: str = ""
    size_bytes: int = 0


@dataclass
class ImageView(flt.Tagged[Image]):
    owner_id: str = CLOUD_ACCOUNT
    # accounts with an explicit launch permission; filled only for the image's owner
    shared_with: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisterRequest:
    name: str
    location: str | None
    description: str = ""
    architecture: str = "x86_64"
    root_device_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    block_devices: tuple[BlockDevice, ...] = ()  # data volumes from snapshots


@dataclass(frozen=True)
class DescribeRequest:
    image_ids: Sequence[str] = ()
    owners: Sequence[str] = ()
    executable_users: Sequence[str] = ()
    filters: Sequence[flt.Filter] = ()
    include_deprecated: bool = True


@dataclass(frozen=True)
class PermissionChange:
    """launchPermission changes: accounts and the group `all` to add and to remove."""

    add_accounts: tuple[str, ...] = ()
    remove_accounts: tuple[str, ...] = ()
    add_public: bool = False
    remove_public: bool = False


def check_image_id(image_id: str) -> None:
    if not is_valid(image_id, "ami"):
        raise InvalidParameter("InvalidAMIID.Malformed", f'Invalid id: "{image_id}"')


def not_found(image_ids: Sequence[str]) -> NotFound:
    return NotFound("InvalidAMIID.NotFound",
                    f"The image id '[{', '.join(image_ids)}]' does not exist")


def _check_accounts(values: Sequence[str], allowed: Sequence[str], code: str) -> None:
    for value in values:
        if value not in allowed and not ACCOUNT_ID.match(value or ""):
            raise InvalidParameter(code, f"Invalid user id: '{value}'")


def check_name(name: str) -> None:
    """InvalidAMIName.Malformed unless `name` is a valid image name."""
    _check_register(RegisterRequest(name=name, location=None))


def _check_register(req: RegisterRequest) -> None:
    if not IMAGE_NAME.match(req.name or ""):
        raise InvalidParameter(
            "InvalidAMIName.Malformed",
            "AMI names must be between 3 and 128 characters long, and may contain letters, "
            "numbers, '(', ')', '.', '-', '/', '_', '[', ']', '@', ''' and spaces")
    if len(req.description) > MAX_DESCRIPTION:
        raise invalid(f"Descriptions are limited to {MAX_DESCRIPTION} characters.")
    if req.architecture not in ARCHITECTURES:
        raise invalid(f"Value ({req.architecture}) for parameter architecture is invalid. "
                      "This cloud runs x86_64 images only.")
    tagsvc.validate(req.tags)


# The images a caller may see and launch: bound to its project and account (_caller). Built
# once: every launch runs the statements made of it.
_VISIBLE_TO_CALLER = and_(
    Image.deregistered_at.is_(None),
    or_(Image.is_public.is_(True), Image.project_id == bindparam("project"),
        Image.id.in_(select(ImageLaunchPermission.image_id).where(
            ImageLaunchPermission.account_id == bindparam("account")))))
_ONE = Image.id == bindparam("image")
_VISIBLE_IMAGE = select(Image).where(_ONE, _VISIBLE_TO_CALLER)
_VISIBLE_STATE = select(Image.state).where(_ONE, _VISIBLE_TO_CALLER)
_VISIBLE_BY_UUID = select(Image.id, Image.state).where(Image.uuid == bindparam("uuid"),
                                                       _VISIBLE_TO_CALLER)


def _caller(ctx: Context, image_id: str | None = None) -> dict[str, str | None]:
    return {"project": ctx.project_id, "account": ctx.account_id, "image": image_id}


class Images:
    def __init__(self, db: Database, data_dir: Path | None = None, *,
                 store: ImageStore | None = None, quotas: ImageQuotas | None = None) -> None:
        self.db = db
        self.data_dir = data_dir
        self.store = store  # removes deleted images' files once unused
        self.quotas = quotas
        # set by Cloud: RegisterImage's mappings checked by the storage wing, as JSON
        self.check_mappings: Callable[[Session, Context, tuple[BlockDevice, ...], str],
                                      str] | None = None

    # registration -------------------------------------------------------------------------
    def register_public(self, name: str, files: ImageFiles, description: str = "",
                        default_user: str = "root") -> Image:
        return self._insert(None, name, files, description=description, is_public=True,
                            default_user=default_user)

    def check_new_name(self, project_id: str | None, name: str) -> None:
        """InvalidAMIName.* unless `name` is a valid name no image of the owner has."""
        check_name(name)
        with self.db.session() as s:
            self.check_unique_name(s, project_id, name)

    def register_files(self, project_id: str | None, name: str, files: ImageFiles,
                       description: str = "", is_public: bool = False) -> Image:
        """Register an image over files already in the store (the admin CLI's import)."""
        self.check_new_name(project_id, name)
        return self._insert(project_id, name, files, description=description,
                            is_public=is_public)

    def _insert(self, project_id: str | None, name: str, files: ImageFiles, *,
                description: str = "", is_public: bool = False, default_user: str = "root",
                location: str = "", root_device_name: str = "/dev/xvda",
                tags: dict[str, str] | None = None, mappings: str = "") -> Image:
        image = Image(id=new_id("ami"), uuid=new_uuid(), project_id=project_id, name=name,
                      description=description, state="available", is_public=is_public,
                      disk_path=files.disk_path, disk_format=files.disk_format,
                      kernel_path=files.kernel_path, ramdisk_path=files.ramdisk_path,
                      kernel_cmdline=files.kernel_cmdline, size_bytes=files.size_bytes,
                      default_user=default_user, created_at=utcnow(),
                      image_location=location, root_device_name=root_device_name,
                      block_device_mappings=mappings)
        with self.db.session() as s:
            if project_id is not None:
                self.check_unique_name(s, project_id, name)
            if self.quotas is not None:
                self.quotas.check_new(s, project_id, files.size_bytes)
            s.add(image)
            s.flush()
            if tags and project_id is not None:
                tagsvc.add(s, project_id, image.id, tags)
        return image

    @staticmethod
    def check_unique_name(s: Session, project_id: str | None, name: str) -> None:
        owner = Image.project_id.is_(None) if project_id is None \
            else Image.project_id == project_id
        taken = s.scalar(select(Image.id).where(owner, Image.name == name,
                                                Image.deregistered_at.is_(None)))
        if taken:
            raise Conflict("InvalidAMIName.Duplicate",
                           f"AMI name {name} is already in use by AMI {taken}")

    def register(self, ctx: Context, req: RegisterRequest, dry_run: bool = False) -> Image:
        """RegisterImage: from a file in the store, or (admins) a local path or file:// URL."""
        _check_register(req)
        if not req.location:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter ImageLocation")
        root_device = req.root_device_name or "/dev/xvda"
        with self.db.session() as s:
            self.check_unique_name(s, ctx.project_id, req.name)
            mappings = self.check_mappings(s, ctx, req.block_devices, root_device) \
                if req.block_devices and self.check_mappings else ""
        local = req.location.startswith(("/", "file:"))
        if local and not ctx.is_admin:
            raise Forbidden("UnauthorizedOperation", "Only a cloud administrator may register "
                            "an image from a path on the host; give the name of a file in the "
                            "image store.")
        if dry_run:
            return Image(id="", name=req.name)
        files = self._files_from_local(req) if local else self._files_from_store(ctx, req)
        return self._insert(ctx.project_id, req.name, files, description=req.description,
                            location=f"{ctx.account_id}/{req.name}",
                            root_device_name=root_device, tags=req.tags,
                            mappings=mappings)

    def _store(self) -> Path:
        if self.data_dir is None:
            raise invalid("This cloud has no image store.")
        return self.data_dir

    def _files_from_local(self, req: RegisterRequest) -> ImageFiles:
        try:
            source = importer.local_path(req.location or "")
            stored = importer.import_file(source, self._store(), new_uuid())
        except (UnsafeImage, OSError) as exc:
            raise invalid(f"Cannot register {req.location}: {exc}") from exc
        return ImageFiles(str(stored.path), stored.info.format,
                          size_bytes=stored.info.virtual_size)

    def _files_from_store(self, ctx: Context, req: RegisterRequest) -> ImageFiles:
        location = req.location or ""
        refusal = invalid(f"The image store has no file named '{location}' that you may use.")
        try:
            path = importer.in_store(self._store(), location)
        except UnsafeImage as exc:
            raise refusal from exc
        if not ctx.is_admin:
            with self.db.session() as s:
                usable = s.scalar(select(Image.id).where(Image.disk_path == str(path),
                                                         _VISIBLE_TO_CALLER).limit(1),
                                  _caller(ctx))
            if usable is None:
                raise refusal
        try:
            info = probe(path)
        except UnsafeImage as exc:
            raise invalid(f"Cannot register {location}: {exc}") from exc
        return ImageFiles(str(path), info.format, size_bytes=info.virtual_size)

    def deregister(self, ctx: Context, image_id: str, dry_run: bool = False) -> None:
        with self.db.session() as s:
            image = self._owned(s, ctx, image_id)
            if dry_run:
                return
            image.deregistered_at = utcnow()
            image.state = "deregistered"
            image.is_public = False
            s.execute(delete(ImageLaunchPermission)
                      .where(ImageLaunchPermission.image_id == image_id))
        if self.store is not None:
            self.store.collect()

    # visibility ---------------------------------------------------------------------------
    def get(self, ctx: Context, image_id: str) -> Image:
        with self.db.read() as s:
            return self.visible(s, ctx, image_id)

    @staticmethod
    def _one_visible(s: Session, ctx: Context, image_id: str,
                     statement: Select[Any]) -> Any:
        check_image_id(image_id)
        found = s.scalar(statement, _caller(ctx, image_id))
        if found is None:
            raise not_found([image_id])
        return found

    def visible(self, s: Session, ctx: Context, image_id: str) -> Image:
        """An image the caller may launch, inside an open session."""
        image: Image = self._one_visible(s, ctx, image_id, _VISIBLE_IMAGE)
        return image

    def launchable(self, s: Session, ctx: Context, image_id: str) -> None:
        """Raise unless the caller may launch the image now (visible and available)."""
        state = self._one_visible(s, ctx, image_id, _VISIBLE_STATE)
        if state != "available":
            raise invalid(f"The image '{image_id}' is {state}, not available.",
                          "InvalidAMIID.Unavailable")

    def launchable_ref(self, s: Session, ctx: Context, ref: str) -> str:
        """The AMI ID of an image named by AMI ID or Glance UUID (as Nova names them) that
        the caller may launch now."""
        if ref.startswith("ami-"):
            self.launchable(s, ctx, ref)
            return ref
        found = s.execute(_VISIBLE_BY_UUID, {**_caller(ctx), "uuid": ref}).first()
        if found is None:
            raise not_found([ref])
        if found.state != "available":
            raise invalid(f"The image '{ref}' is {found.state}, not available.",
                          "InvalidAMIID.Unavailable")
        return str(found.id)

    def _owned(self, s: Session, ctx: Context, image_id: str) -> Image:
        """An image the caller may change: its project's own (the cloud's: admins only)."""
        image = self.visible(s, ctx, image_id)
        mine = image.project_id == ctx.project_id or (image.project_id is None
                                                       and ctx.is_admin)
        if not mine:
            raise Forbidden("AuthFailure", f"Not authorized for image: {image_id}")
        return image

    def exists(self, s: Session, ctx: Context, image_id: str) -> bool:
        return s.scalar(select(Image.id).where(_ONE, _VISIBLE_TO_CALLER),
                        _caller(ctx, image_id)) is not None

    def count(self) -> int:
        with self.db.session() as s:
            return len(list(s.scalars(select(Image.id))))

    def cloud_image_disk(self, name: str) -> str | None:
        """The disk of the cloud's own public image `name` (None: no such image, or no disk)."""
        with self.db.session() as s:
            return s.scalar(select(Image.disk_path).where(Image.project_id.is_(None),
                                                          Image.name == name))

    def replace_cloud_image_files(self, name: str, files: ImageFiles) -> None:
        """Point the cloud's own public image `name` at new files (the built-in image, rebuilt);
        instances already made keep the disks they were made from."""
        with self.db.session() as s:
            for image in s.scalars(select(Image).where(Image.project_id.is_(None),
                                                       Image.name == name)):
                image.disk_path, image.disk_format = files.disk_path, files.disk_format
                image.kernel_path, image.ramdisk_path = files.kernel_path, files.ramdisk_path
                image.kernel_cmdline, image.size_bytes = files.kernel_cmdline, files.size_bytes

    # describe -----------------------------------------------------------------------------
    def describe(self, ctx: Context, req: DescribeRequest) -> list[ImageView]:
        for image_id in req.image_ids:
            check_image_id(image_id)
        _check_accounts(req.owners, ("self", *OWNER_ALIASES), "InvalidUserID.Malformed")
        _check_accounts(req.executable_users, ("self", "all"), "InvalidUserID.Malformed")
        flt.check_filters(req.filters, IMAGE_FILTERS)
        with self.db.session() as s:
            views = self._views(s, ctx, req.image_ids)
        missing = sorted(set(req.image_ids) - {v.item.id for v in views})
        if missing:
            raise not_found(missing)
        if req.owners:
            views = [v for v in views if self._owned_by(ctx, v, req.owners)]
        if req.executable_users:
            views = [v for v in views if self._executable_by(ctx, v, req.executable_users)]
        found = flt.apply(views, req.filters, IMAGE_FILTERS)
        return sorted(found, key=lambda v: v.item.id)

    def _views(self, s: Session, ctx: Context, image_ids: Sequence[str]) -> list[ImageView]:
        query = (select(Image, Project.account_id)
                 .outerjoin(Project, Project.id == Image.project_id)
                 .where(_VISIBLE_TO_CALLER))
        if image_ids:
            query = query.where(Image.id.in_(list(image_ids)))
        rows = list(s.execute(query, _caller(ctx)))
        ids = [image.id for image, _ in rows]
        tags = tagsvc.for_resources(s, ctx.project_id, ids)
        own = [image.id for image, _ in rows if image.project_id == ctx.project_id]
        shared: dict[str, list[str]] = {}
        if own:
            for perm in s.scalars(select(ImageLaunchPermission).where(
                    ImageLaunchPermission.image_id.in_(own))):
                shared.setdefault(perm.image_id, []).append(perm.account_id)
        return [ImageView(image, tags.get(image.id, {}), account or CLOUD_ACCOUNT,
                          sorted(shared.get(image.id, []))) for image, account in rows]

    def by_uuid(self, ctx: Context, uuid: str) -> ImageView | None:
        """An image the caller can see, by its Glance UUID."""
        with self.db.read() as s:
            image_id = s.scalar(select(Image.id).where(Image.uuid == uuid, _VISIBLE_TO_CALLER),
                                _caller(ctx))
            views = self._views(s, ctx, [image_id]) if image_id else []
        return views[0] if views else None

    def describe_all(self) -> list[ImageView]:
        """Every registered image of every project (the host admin's listing)."""
        with self.db.session() as s:
            rows = s.execute(select(Image, Project.account_id)
                             .outerjoin(Project, Project.id == Image.project_id)
                             .where(Image.deregistered_at.is_(None)).order_by(Image.id))
            return [ImageView(image, {}, account or CLOUD_ACCOUNT) for image, account in rows]

    @staticmethod
    def _owned_by(ctx: Context, view: ImageView, owners: Sequence[str]) -> bool:
        aliases = {"self": ctx.account_id, "amazon": CLOUD_ACCOUNT}
        return view.owner_id in {aliases.get(o, o) for o in owners}

    @staticmethod
    def _executable_by(ctx: Context, view: ImageView, users: Sequence[str]) -> bool:
        for user in users:
            if user == "all" and view.item.is_public:
                return True
            account = ctx.account_id if user == "self" else user
            if account == ctx.account_id and view.owner_id != ctx.account_id \
                    and not view.item.is_public:
                return True  # visible, not mine, not public: shared with me
            if account in view.shared_with:
                return True
        return False

    # attributes ---------------------------------------------------------------------------
    def launch_permissions(self, ctx: Context, image_id: str) -> tuple[bool, list[str]]:
        """(public, accounts) of an image the caller owns."""
        with self.db.session() as s:
            image = self._owned(s, ctx, image_id)
            accounts = s.scalars(select(ImageLaunchPermission.account_id).where(
                ImageLaunchPermission.image_id == image_id)
                .order_by(ImageLaunchPermission.account_id))
            return image.is_public, list(accounts)

    def check_owned(self, ctx: Context, image_id: str) -> Image:
        with self.db.session() as s:
            return self._owned(s, ctx, image_id)

    def change_permissions(self, ctx: Context, image_id: str, change: PermissionChange) -> None:
        for account in (*change.add_accounts, *change.remove_accounts):
            if not ACCOUNT_ID.match(account or ""):
                raise InvalidParameter("InvalidAMIAttributeItemValue",
                                       f"Invalid attribute item value \"{account}\" for "
                                       "userId item type.")
        with self.db.session() as s:
            image = self._owned(s, ctx, image_id)
            if change.add_public:
                image.is_public = True
            if change.remove_public:
                image.is_public = False
            existing = set(s.scalars(select(ImageLaunchPermission.account_id).where(
                ImageLaunchPermission.image_id == image_id)))
            for account in set(change.add_accounts) - existing:
                s.add(ImageLaunchPermission(image_id=image_id, account_id=account))
            if change.remove_accounts:
                s.execute(delete(ImageLaunchPermission).where(
                    ImageLaunchPermission.image_id == image_id,
                    ImageLaunchPermission.account_id.in_(change.remove_accounts)))

    def reset_permissions(self, ctx: Context, image_id: str) -> None:
        with self.db.session() as s:
            image = self._owned(s, ctx, image_id)
            image.is_public = False
            s.execute(delete(ImageLaunchPermission)
                      .where(ImageLaunchPermission.image_id == image_id))
        if self.store is not None:
            self.store.collect()

    def set_description(self, ctx: Context, image_id: str, description: str) -> None:
        if len(description) > MAX_DESCRIPTION:
            raise invalid(f"Descriptions are limited to {MAX_DESCRIPTION} characters.")
        with self.db.session() as s:
            self._owned(s, ctx, image_id).description = description


def creation_date(image: Image) -> str:
    return as_utc(image.created_at).strftime("%Y-%m-%dT%H:%M:%S.000Z")


GIB = 1024**3


def volume_size(view: ImageView) -> int:
    return max(1, -(-view.item.size_bytes // GIB))


def owner_alias(view: ImageView) -> str | None:
    return "amazon" if view.owner_id == CLOUD_ACCOUNT else None


def _image(attribute: str) -> flt.Extractor:
    return lambda t: getattr(t.item, attribute)


def _fixed(value: str | None) -> flt.Extractor:
    return lambda t: value


IMAGE_FILTERS: dict[str, flt.Extractor] = {
    "image-id": _image("id"),
    "name": _image("name"),
    "description": _image("description"),
    "state": _image("state"),
    "architecture": _image("architecture"),
    "is-public": lambda t: "true" if t.item.is_public else "false",
    "image-type": _fixed("machine"),
    "owner-id": lambda t: t.owner_id,
    "owner-alias": owner_alias,
    "manifest-location": lambda t: t.item.image_location or f"{t.owner_id}/{t.item.name}",
    "creation-date": lambda t: creation_date(t.item),
    "root-device-name": _image("root_device_name"),
    "root-device-type": _fixed("ebs"),
    "virtualization-type": _fixed("hvm"),
    "hypervisor": _fixed("xen"),
    "ena-support": _fixed("true"),
    "sriov-net-support": _fixed("simple"),
    "platform": _fixed(None),
    "platform-details": _fixed("Linux/UNIX"),
    "usage-operation": _fixed("RunInstances"),
    "kernel-id": _fixed(None),
    "ramdisk-id": _fixed(None),
    "product-code": _fixed(None),
    "product-code.type": _fixed(None),
    "source-image-id": _fixed(None),
    "source-instance-id": _fixed(None),
    "state-reason-code": _fixed(None),
    "state-reason-message": _fixed(None),
    "boot-mode": _fixed("legacy-bios"),
    "imds-support": _fixed(None),
    "block-device-mapping.device-name": _image("root_device_name"),
    "block-device-mapping.delete-on-termination": _fixed("true"),
    "block-device-mapping.encrypted": _fixed("false"),
    "block-device-mapping.snapshot-id": _fixed(None),
    "block-device-mapping.volume-size": lambda t: str(volume_size(t)),
    "block-device-mapping.volume-type": _fixed("gp2"),
}
