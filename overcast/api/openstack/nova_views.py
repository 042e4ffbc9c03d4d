"""How Nova writes servers, flavors and key pairs; states in Nova's vocabulary."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from overcast.api.openstack.catalog import COMPUTE, link
from overcast.api.openstack.wsgi import iso
from overcast.clock import as_utc
from overcast.cloud.compute import InstanceRecord, InstanceTypeRecord, KeyPairRecord
from overcast.lifecycle import State

NAME_TAG = "Name"  # Nova's server name is the EC2 Name tag
ACCESS_TAGS = {"accessIPv4": "os:accessIPv4", "accessIPv6": "os:accessIPv6"}
# set when a user deletes a server in ERROR: the failed instance is already terminated
DELETED_TAG = "os:deleted"


def reserved(key: str) -> bool:
    """Tags that carry server fields, not metadata: the name and every `os:` key (access
    IPs, the deleted mark, server tags, the description)."""
    return key == NAME_TAG or key.startswith("os:")


def failed(row: InstanceRecord) -> bool:
    """An instance the cloud could not launch (or lost): Nova's ERROR."""
    return row.state == State.TERMINATED and row.state_reason_code.startswith("Server.")


@dataclass(frozen=True)
class NovaState:
    status: str
    vm_state: str
    task_state: str | None
    power_state: int  # 0 NOSTATE, 1 RUNNING, 4 SHUTDOWN


def nova_state(row: InstanceRecord) -> NovaState:
    state = State(row.state)
    if state == State.PENDING:
        return NovaState("BUILD", "building", "spawning", 0)
    if state == State.RUNNING:
        if row.reboot_requested:
            return NovaState("REBOOT", "active", "rebooting", 1)
        return NovaState("ACTIVE", "active", None, 1)
    if state == State.STOPPING:
        return NovaState("ACTIVE", "active", "powering-off", 1)
    if state == State.STOPPED:
        return NovaState("SHUTOFF", "stopped", None, 4)
    if state == State.SHUTTING_DOWN:  # as Nova: the server shows until it is gone
        return NovaState("ACTIVE", "active", "deleting", 1)
    if state == State.PAUSED:
        return NovaState("PAUSED", "paused", None, 3)
    if state == State.SUSPENDING:
        return NovaState("ACTIVE", "active", "suspending", 1)
    if state == State.SUSPENDED:
        return NovaState("SUSPENDED", "suspended", None, 4)
    if failed(row):
        return NovaState("ERROR", "error", None, 0)
    return NovaState("DELETED", "deleted", None, 0)


@dataclass(frozen=True)
class ServerView:
    """What a server rendering needs besides its row."""

    host_url: str
    user_id: str
    image_uuid: str | None
    network_name: str
    tags: dict[str, str]


def compute_url(host_url: str) -> str:
    return f"{host_url}{COMPUTE}"


def server_links(host_url: str, server_id: str) -> list[dict[str, str]]:
    return [link(f"{compute_url(host_url)}/v2.1/servers/{server_id}"),
            link(f"{compute_url(host_url)}/servers/{server_id}", "bookmark")]


def metadata_of(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not reserved(k)}


def addresses(row: InstanceRecord, network_name: str) -> dict[str, list[dict[str, Any]]]:
    found = []
    if row.private_ip:
        found.append({"version": 4, "addr": row.private_ip, "OS-EXT-IPS:type": "fixed",
                      "OS-EXT-IPS-MAC:mac_addr": row.mac_address})
    if row.public_ip:
        found.append({"version": 4, "addr": row.public_ip, "OS-EXT-IPS:type": "floating",
                      "OS-EXT-IPS-MAC:mac_addr": row.mac_address})
    return {network_name: found} if found else {}


def host_id(row: InstanceRecord) -> str:
    if not row.host_id:
        return ""
    return hashlib.sha224((row.project_id + row.host_id).encode()).hexdigest()


def server_summary(row: InstanceRecord, view: ServerView) -> dict[str, Any]:
    return {"id": row.uuid, "name": view.tags.get(NAME_TAG, ""),
            "links": server_links(view.host_url, row.uuid)}


def server_common(row: InstanceRecord, view: ServerView) -> dict[str, Any]:
    """The fields every server body has (what PUT answers with)."""
    compute = compute_url(view.host_url)
    image: dict[str, Any] | str = ""
    if view.image_uuid:
        image = {"id": view.image_uuid,
                 "links": [link(f"{compute}/images/{view.image_uuid}", "bookmark")]}
    updated = as_utc(row.launch_time)
    if row.updated_at:
        from datetime import UTC, datetime

        updated = datetime.fromtimestamp(row.updated_at, UTC)
    body = {
        **server_summary(row, view), "status": nova_state(row).status,
        "tenant_id": row.project_id, "user_id": view.user_id,
        "metadata": metadata_of(view.tags), "hostId": host_id(row), "image": image,
        "flavor": {"id": row.instance_type,
                   "links": [link(f"{compute}/flavors/{row.instance_type}", "bookmark")]},
        "created": iso(row.launch_time), "updated": iso(updated),
        "addresses": addresses(row, view.network_name),
        "accessIPv4": view.tags.get(ACCESS_TAGS["accessIPv4"], ""),
        "accessIPv6": view.tags.get(ACCESS_TAGS["accessIPv6"], ""),
        "OS-DCF:diskConfig": "MANUAL",
    }
    if body["status"] in ("ACTIVE", "BUILD"):
        body["progress"] = 100 if body["status"] == "ACTIVE" else 0
    if body["status"] == "ERROR":
        body["fault"] = {"code": 500, "created": iso(row.terminated_at or row.launch_time),
                         "message": row.state_reason_message or "The launch failed."}
    return body


def server_detail(row: InstanceRecord, view: ServerView,
                  security_groups: list[str] | None = None) -> dict[str, Any]:
    state = nova_state(row)
    launched = None if row.state == State.PENDING else \
        as_utc(row.launch_time).strftime("%Y-%m-%dT%H:%M:%S.%f")
    terminated = as_utc(row.terminated_at).strftime("%Y-%m-%dT%H:%M:%S.%f") \
        if row.terminated_at else None
    return {
        **server_common(row, view), "key_name": row.key_name,
        "security_groups": [{"name": g} for g in (security_groups or ["default"])],
        "OS-SRV-USG:launched_at": launched, "OS-SRV-USG:terminated_at": terminated,
        "OS-EXT-AZ:availability_zone": row.availability_zone,
        "OS-EXT-STS:task_state": state.task_state, "OS-EXT-STS:vm_state": state.vm_state,
        "OS-EXT-STS:power_state": state.power_state,
        "os-extended-volumes:volumes_attached": [], "config_drive": "",
    }


def flavor_summary(host_url: str, itype: InstanceTypeRecord) -> dict[str, Any]:
    compute = compute_url(host_url)
    return {"id": itype.name, "name": itype.name,
            "links": [link(f"{compute}/v2.1/flavors/{itype.name}"),
                      link(f"{compute}/flavors/{itype.name}", "bookmark")]}


def flavor_detail(host_url: str, itype: InstanceTypeRecord) -> dict[str, Any]:
    return {**flavor_summary(host_url, itype), "ram": itype.memory_mib, "vcpus": itype.vcpus,
            "disk": itype.disk_gib, "swap": "", "OS-FLV-EXT-DATA:ephemeral": 0,
            "OS-FLV-DISABLED:disabled": False, "os-flavor-access:is_public": True,
            "rxtx_factor": 1.0}


def nova_fingerprint(public_key: str) -> str:
    """Nova's fingerprint: MD5 of the key blob, in colon-separated hex."""
    try:
        blob = base64.b64decode(public_key.split()[1])
    except (IndexError, binascii.Error, ValueError):
        return ""
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def keypair_summary(pair: KeyPairRecord) -> dict[str, Any]:
    return {"name": pair.name, "public_key": pair.public_key,
            "fingerprint": nova_fingerprint(pair.public_key)}


def keypair_detail(pair: KeyPairRecord, user_id: str) -> dict[str, Any]:
    number = int(hashlib.sha256(pair.id.encode()).hexdigest()[:7], 16)
    return {**keypair_summary(pair), "user_id": user_id, "id": number, "deleted": False,
            "created_at": as_utc(pair.created_at).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "updated_at": None, "deleted_at": None}
