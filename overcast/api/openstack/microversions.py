"""Nova's microversions: which we serve (2.1 to 2.79), how a request asks for one, and the one
table of what each version changes for the resources Overcast has. Handlers ask
`at_least(req, NAME)` rather than comparing numbers themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from overcast.api.openstack.wsgi import Fault, Req, bad_request

Version = tuple[int, int]
MIN_VERSION: Version = (2, 1)
MAX_VERSION: Version = (2, 79)
_PATTERN = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Change:
    version: Version
    what: str


# name -> the version that brought it. Versions missing here change nothing Overcast serves
# (volumes, migrations, cells, shelving...); the request is still accepted and answered.
CHANGES: dict[str, Change] = {
    "keypair_type": Change((2, 2), "key pairs show their type (ssh)"),
    "extended_attributes": Change((2, 3), "admins see more OS-EXT-SRV-ATTR fields "
                                          "(reservation_id, launch_index, hostname, "
                                          "root_device_name, user_data...)"),
    "locked": Change((2, 9), "servers show 'locked'"),
    "host_status": Change((2, 16), "admins see a server's host_status"),
    "description": Change((2, 19), "servers take and show a description"),
    "server_tags": Change((2, 26), "servers show tags; /servers/{id}/tags and the tags, "
                                   "tags-any, not-tags, not-tags-any filters"),
    "device_tags_first": Change((2, 32), "networks may carry a device tag (until 2.36)"),
    "no_proxies": Change((2, 36), "the image, security-group and network proxy APIs are "
                                  "gone (404); limits and quota sets lose their fields"),
    "networks_required": Change((2, 37), "a create must say networks: a list, 'auto' or "
                                         "'none'"),
    "device_tags": Change((2, 42), "networks and block devices may carry a device tag again"),
    "create_image_body": Change((2, 45), "createImage answers {'image_id'}, no Location"),
    "embedded_flavor": Change((2, 47), "a server shows its flavor's sizes, not a link"),
    "tags_at_create": Change((2, 52), "a create may set tags"),
    "service_uuids": Change((2, 53), "services and hypervisors are named by UUID"),
    "flavor_description": Change((2, 55), "flavors take and show a description"),
    "no_personality": Change((2, 57), "personality files and their limits are gone"),
    "flavor_extra_specs": Change((2, 61), "flavors show their extra_specs"),
    "trusted_certs": Change((2, 63), "servers show trusted_image_certificates"),
    "server_groups": Change((2, 71), "a server's show, update and rebuild show its groups"),
    "locked_reason": Change((2, 73), "lock takes a reason; servers show locked_reason; "
                                     "the locked filter"),
    "strict_schema": Change((2, 75), "unknown list query parameters are refused; update "
                                     "and rebuild answer the full server; a flavor's swap "
                                     "is 0, not ''"),
    "delete_on_termination": Change((2, 79), "volume attachments show "
                                             "delete_on_termination (no volumes here)"),
}


def parse(wanted: str) -> Version:
    found = _PATTERN.match(wanted)
    if not found:
        raise bad_request(f"Invalid API version request string {wanted[:32]}.")
    return int(found.group(1)), int(found.group(2))


def requested(headers: Any) -> str:
    """What the request asks for: the compute entry of OpenStack-API-Version, else the
    legacy X-OpenStack-Nova-API-Version header, else ''."""
    for entry in (headers.get("OpenStack-API-Version") or "").split(","):
        service, _, version = entry.strip().partition(" ")
        if service.lower() == "compute":
            return version.strip()
    return (headers.get("X-OpenStack-Nova-API-Version") or "").strip()


def negotiate(wanted: str) -> Version:
    """The version to serve: 2.1 when none is asked, the newest for 'latest'; 400 for a
    string that is no version, 406 for a version outside MIN..MAX (as Nova answers)."""
    if not wanted:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    version = parse(wanted)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise Fault(406, f"Version {wanted} is not supported by the API. Minimum is "
                    f"{text(MIN_VERSION)} and maximum is {text(MAX_VERSION)}.")
    return version


def headers_for(version: Version) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {text(version)}",
            "X-OpenStack-Nova-API-Version": text(version),
            "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}


def at_least(req: Req, name: str) -> bool:
    return req.microversion >= CHANGES[name].version


def device_tags_allowed(req: Req) -> bool:
    """Device tags: 2.32 to 2.36 on networks, then from 2.42 on."""
    return (2, 32) <= req.microversion <= (2, 36) or at_least(req, "device_tags")
