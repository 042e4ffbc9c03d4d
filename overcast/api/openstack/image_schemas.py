"""Glance's schema documents, which clients read to learn an image's fields."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.catalog import IMAGE
from overcast.api.openstack.wsgi import Need, Req, Router, json_response

router = Router()
V2 = f"{IMAGE}/v2"
_STRING_OR_NULL = {"type": ["null", "string"]}


def image_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-"
               "([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
        "name": {**_STRING_OR_NULL, "maxLength": 255},
        "status": {"type": "string", "readOnly": True,
                   "enum": ["queued", "saving", "active", "killed", "deleted", "uploading",
                            "importing", "pending_delete", "deactivated"]},
        "visibility": {"type": "string", "enum": ["community", "public", "private",
                                                  "shared"]},
        "protected": {"type": "boolean"}, "os_hidden": {"type": "boolean"},
        "checksum": {**_STRING_OR_NULL, "readOnly": True, "maxLength": 32},
        "os_hash_algo": {**_STRING_OR_NULL, "readOnly": True, "maxLength": 64},
        "os_hash_value": {**_STRING_OR_NULL, "readOnly": True, "maxLength": 128},
        "owner": {**_STRING_OR_NULL, "maxLength": 255},
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "container_format": {"type": ["null", "string"],
                             "enum": [None, "ami", "ari", "aki", "bare", "ovf", "ova",
                                      "docker", "compressed"]},
        "disk_format": {"type": ["null", "string"],
                        "enum": [None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                                 "qcow2", "vdi", "iso", "ploop"]},
        "created_at": {"type": "string", "readOnly": True},
        "updated_at": {"type": "string", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "min_ram": {"type": "integer"}, "min_disk": {"type": "integer"},
        "self": {"type": "string", "readOnly": True},
        "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
    }
    return {"name": "image", "properties": properties,
            "additionalProperties": {"type": "string"},
            "links": [{"href": "{self}", "rel": "self"}, {"href": "{file}", "rel": "enclosure"},
                      {"href": "{schema}", "rel": "describedby"}]}


@router.route(f"{V2}/schemas/image", need=Need.TOKEN)
def schema_image(req: Req) -> Response:
    return json_response(image_schema())


@router.route(f"{V2}/schemas/images", need=Need.TOKEN)
def schema_images(req: Req) -> Response:
    return json_response({
        "name": "images",
        "properties": {"images": {"type": "array", "items": image_schema()},
                       "schema": {"type": "string"}, "first": {"type": "string"},
                       "next": {"type": "string"}},
        "links": [{"href": "{first}", "rel": "first"}, {"href": "{next}", "rel": "next"},
                  {"href": "{schema}", "rel": "describedby"}]})


@router.route(f"{V2}/schemas/member", need=Need.TOKEN)
def schema_member(req: Req) -> Response:
    return json_response({"name": "member", "properties": {
        "image_id": {"type": "string"}, "member_id": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
        "created_at": {"type": "string"}, "updated_at": {"type": "string"},
        "schema": {"type": "string"}}})


@router.route(f"{V2}/schemas/members", need=Need.TOKEN)
def schema_members(req: Req) -> Response:
    return json_response({"name": "members", "properties": {
        "members": {"type": "array"}, "schema": {"type": "string"}}})
