"""Cinder v3's JSON for volumes, snapshots and volume types, as the API reference (and
Tempest's response schemas, which allow no other keys) shape them."""

from __future__ import annotations

import uuid
from typing import Any

from overcast.api.openstack.catalog import VOLUME, link
from overcast.api.openstack.wsgi import Req, iso
from overcast.cloud.storage import CinderSnapshot, CinderVolume

V3 = f"{VOLUME}/v3/<project_id>"
_TYPES = uuid.UUID("1f0e7b0c-3c44-4f7e-9b59-0c6d1f1b6a21")
_ATTACHMENTS = uuid.UUID("5a3b9e54-8d0f-4c51-a1c6-7c2f25b0e9d3")
# EC2 snapshot states -> Cinder's
SNAPSHOT_STATUS = {"pending": "creating", "completed": "available", "error": "error",
                   "deleting": "deleting"}


def base(req: Req) -> str:
    return f"{req.host_url}{VOLUME}/v3/{req.args['project_id']}"


def type_id(name: str) -> str:
    return str(uuid.uuid5(_TYPES, name))


def attachment_id(volume_uuid: str, server_uuid: str) -> str:
    return str(uuid.uuid5(_ATTACHMENTS, f"{volume_uuid}:{server_uuid}"))


def links(req: Req, kind: str, item_id: str) -> list[dict[str, str]]:
    return [link(f"{base(req)}/{kind}/{item_id}"),
            link(f"{req.host_url}{VOLUME}/{req.args['project_id']}/{kind}/{item_id}",
                 "bookmark")]


def volume_status(found: CinderVolume) -> str:
    """Cinder's status: the attachment's step while attaching or detaching."""
    attached = found.volume.attachment
    if attached is not None and attached.state in ("attaching", "detaching"):
        return attached.state
    return found.volume.state


def attachments(found: CinderVolume) -> list[dict[str, Any]]:
    attached = found.volume.attachment
    if attached is None or found.server_uuid is None:
        return []
    return [{"id": found.uuid, "attachment_id": attachment_id(found.uuid, found.server_uuid),
             "volume_id": found.uuid, "server_id": found.server_uuid, "host_name": None,
             "device": attached.device, "attached_at": iso(attached.attach_time)}]


def volume_summary(req: Req, found: CinderVolume) -> dict[str, Any]:
    return {"id": found.uuid, "name": found.name, "links": links(req, "volumes", found.uuid)}


def volume_detail(req: Req, found: CinderVolume, owner: bool = True) -> dict[str, Any]:
    """`owner`: with the project's ID, as show and list answer (create and update do not)."""
    view = found.volume
    body: dict[str, Any] = {
        **volume_summary(req, found),
        "description": found.description, "status": volume_status(found),
        "size": view.size_gib, "availability_zone": view.zone,
        "created_at": iso(view.created), "updated_at": iso(found.updated),
        "attachments": attachments(found), "volume_type": view.volume_type,
        "snapshot_id": found.snapshot_uuid, "source_volid": None,
        "metadata": found.metadata, "bootable": "false", "encrypted": view.encrypted,
        "multiattach": False, "replication_status": None, "consistencygroup_id": None,
        "migration_status": None, "user_id": req.ctx.user_id if req.scope else None,
    }
    if owner:
        body["os-vol-tenant-attr:tenant_id"] = req.ctx.project_id
    return body


def snapshot_body(req: Req, found: CinderSnapshot, detail: bool = True) -> dict[str, Any]:
    view = found.snapshot
    body: dict[str, Any] = {
        "id": found.uuid, "name": found.name, "description": view.description,
        "status": SNAPSHOT_STATUS.get(view.state, view.state), "size": view.volume_size,
        "volume_id": found.volume_uuid, "metadata": found.metadata,
        "created_at": iso(view.started), "updated_at": iso(view.started)}
    if detail:
        body["os-extended-snapshot-attributes:progress"] = \
            "100%" if view.state == "completed" else "0%"
        body["os-extended-snapshot-attributes:project_id"] = req.ctx.project_id
    return body


def type_body(name: str, default: bool = False) -> dict[str, Any]:
    return {"id": type_id(name), "name": name,
            "description": f"The EBS volume type {name}" + (" (the default)" if default
                                                            else ""),
            "is_public": True, "os-volume-type-access:is_public": True,
            "extra_specs": {}, "qos_specs_id": None}
