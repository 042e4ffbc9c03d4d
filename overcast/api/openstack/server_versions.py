"""What each microversion changes in a server's body and in what a create, an update or a list
may carry (the table is in microversions.py). Server tags and the description are kept as
reserved EC2 tags (`os:tag:<tag>`, `os:description`), as the name and access IPs are."""

from __future__ import annotations

import base64
from typing import Any

from overcast.api.openstack import microversions as mv
from overcast.api.openstack.wsgi import Req, bad_request
from overcast.cloud.compute import InstanceRecord

TAG_PREFIX = "os:tag:"
DESCRIPTION_TAG = "os:description"
MAX_TAGS = 50
MAX_TAG_LENGTH = 60
MAX_DESCRIPTION = 255


def server_tags(tags: dict[str, str]) -> list[str]:
    return sorted(k.removeprefix(TAG_PREFIX) for k in tags if k.startswith(TAG_PREFIX))


def check_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_TAG_LENGTH or "/" in tag \
            or "," in tag or tag.strip() != tag:
        raise bad_request(f"Invalid tag '{str(tag)[:64]}': 1 to {MAX_TAG_LENGTH} characters, "
                          "no '/' or ',' and no leading or trailing spaces.")
    return tag


def check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list):
        raise bad_request("tags must be a list of strings.")
    found = sorted({check_tag(t) for t in tags})
    if len(found) > MAX_TAGS:
        raise bad_request(f"The number of tags exceeded the per-server limit {MAX_TAGS}.")
    return found


def check_description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION or not value.isprintable():
        raise bad_request(f"Invalid input for field 'description': at most {MAX_DESCRIPTION} "
                          "printable characters.")
    return value


def _unexpected(name: str) -> Exception:
    return bad_request(f"Additional properties are not allowed ('{name}' was unexpected).")


def create_tags(req: Req, spec: dict[str, Any]) -> dict[str, str]:
    """The reserved tags a create's description and tags (each from its version) make."""
    found: dict[str, str] = {}
    if "description" in spec:
        if not mv.at_least(req, "description"):
            raise _unexpected("description")
        description = check_description(spec["description"])
        if description is not None:
            found[DESCRIPTION_TAG] = description
    if "tags" in spec:
        if not mv.at_least(req, "tags_at_create"):
            raise _unexpected("tags")
        found.update({TAG_PREFIX + t: "" for t in check_tags(spec["tags"])})
    if spec.get("trusted_image_certificates") is not None:
        if not mv.at_least(req, "trusted_certs"):
            raise _unexpected("trusted_image_certificates")
        raise bad_request("Image certificate validation is not enabled in this cloud.")
    check_networks(req, spec)
    return found


def check_networks(req: Req, spec: dict[str, Any]) -> None:
    """From 2.37 a create names its networks ('auto', 'none' or a list); before, only a
    list. Device tags on networks and block devices only where the version has them."""
    networks = spec.get("networks")
    if mv.at_least(req, "networks_required"):
        if networks is None:
            raise bad_request("Invalid input for field/attribute networks: 'networks' is a "
                              "required property.")
    elif isinstance(networks, str):
        raise bad_request(f"Invalid input for field/attribute networks: '{networks[:16]}' "
                          "is not of type 'array'.")
    entries = [*(networks if isinstance(networks, list) else []),
               *(spec.get("block_device_mapping_v2") or [])]
    if not mv.device_tags_allowed(req) and any(isinstance(e, dict) and "tag" in e
                                               for e in entries):
        raise _unexpected("tag")


def update_tags(req: Req, spec: dict[str, Any]) -> dict[str, str]:
    """A PUT's description (2.19); the other fields are the update's own."""
    if "description" not in spec:
        return {}
    if not mv.at_least(req, "description"):
        raise _unexpected("description")
    return {DESCRIPTION_TAG: check_description(spec["description"]) or ""}


def add_version_fields(req: Req, row: InstanceRecord, tags: dict[str, str], body: dict[str, Any],
                       show: bool) -> dict[str, Any]:
    """`body` (a server detail) as the request's version writes it. `show`: a single
    server's show, update or rebuild (server_groups is not in lists)."""
    admin = req.scope is not None and req.scope.is_cloud_admin
    if admin:
        body.update({"OS-EXT-SRV-ATTR:host": row.host_id,
                     "OS-EXT-SRV-ATTR:hypervisor_hostname": row.host_id,
                     "OS-EXT-SRV-ATTR:instance_name": row.id})
    if admin and mv.at_least(req, "extended_attributes"):
        body.update({"OS-EXT-SRV-ATTR:reservation_id": row.reservation_id,
                     "OS-EXT-SRV-ATTR:launch_index": row.launch_index,
                     "OS-EXT-SRV-ATTR:hostname": row.id, "OS-EXT-SRV-ATTR:kernel_id": "",
                     "OS-EXT-SRV-ATTR:ramdisk_id": "",
                     "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                     "OS-EXT-SRV-ATTR:user_data":
                         base64.b64encode(row.user_data).decode() if row.user_data else None})
    if mv.at_least(req, "locked"):
        body["locked"] = bool(row.locked_by)
    if mv.at_least(req, "description"):
        body["description"] = tags.get(DESCRIPTION_TAG) or None
    if mv.at_least(req, "server_tags"):
        body["tags"] = server_tags(tags)
    if mv.at_least(req, "embedded_flavor"):
        body["flavor"] = embedded_flavor(row)
    if mv.at_least(req, "trusted_certs"):
        body["trusted_image_certificates"] = None
    if show and mv.at_least(req, "server_groups"):
        body["server_groups"] = []
    if mv.at_least(req, "locked_reason"):
        body["locked_reason"] = row.locked_reason if row.locked_by else None
    return body


def add_host_status(req: Req, body: dict[str, Any], host_alive: bool | None) -> None:
    """2.16: admins see UP, DOWN, or '' for a server on no host."""
    if req.scope is not None and req.scope.is_cloud_admin and mv.at_least(req, "host_status"):
        body["host_status"] = "" if host_alive is None else ("UP" if host_alive else "DOWN")


def embedded_flavor(row: InstanceRecord) -> dict[str, Any]:
    return {"vcpus": row.vcpus, "ram": row.memory_mib, "disk": row.disk_gib, "ephemeral": 0,
            "swap": 0, "original_name": row.instance_type, "extra_specs": {}}



# listing --------------------------------------------------------------------------------------

# The query parameters a server list takes (2.75 refuses others; before, they are ignored).
LIST_QUERY = frozenset({
    "name", "status", "image", "flavor", "ip", "ip6", "changes-since", "changes-before",
    "reservation_id", "availability_zone", "key_name", "limit", "marker", "sort_key",
    "sort_dir", "all_tenants", "project_id", "tenant_id", "user_id", "host", "node",
    "deleted", "tags", "tags-any", "not-tags", "not-tags-any", "description", "locked",
    "created_at", "launched_at", "terminated_at", "uuid", "vm_state", "task_state",
    "power_state", "hostname", "launch_index", "config_drive", "access_ip_v4",
    "access_ip_v6", "locked_by", "kernel_id", "ramdisk_id", "progress", "root_device_name",
    "display_name", "display_description", "soft_deleted", "auto_disk_config",
    "vm_mode", "updated_at",
})
_TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def check_list_query(req: Req) -> None:
    if not mv.at_least(req, "strict_schema"):
        return
    unknown = sorted(set(req.query) - LIST_QUERY)
    if unknown:
        raise bad_request(f"Invalid input for query parameters {unknown[0][:64]}. Additional "
                          "properties are not allowed.")


def list_match(req: Req, row: InstanceRecord, tags: dict[str, str]) -> bool:
    """The filters later versions added: server tags (2.26) and locked (2.73)."""
    query = req.query
    if mv.at_least(req, "server_tags") and any(query.get(k) for k in _TAG_FILTERS):
        mine = set(server_tags(tags))

        def wanted(key: str) -> set[str]:
            return {t for t in (query.get(key) or "").split(",") if t}
        if wanted("tags") - mine or (wanted("tags-any") and not wanted("tags-any") & mine):
            return False
        if wanted("not-tags") and wanted("not-tags") <= mine:
            return False
        if wanted("not-tags-any") & mine:
            return False
    locked = query.get("locked")
    if locked is not None and mv.at_least(req, "locked_reason"):
        if locked.lower() not in _BOOLEANS:
            raise bad_request(f"Unrecognized value '{locked[:16]}' for the locked filter: "
                              "true or false.")
        return bool(row.locked_by) == _BOOLEANS[locked.lower()]
    return True
