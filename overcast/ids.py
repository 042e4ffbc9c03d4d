"""Resource identifiers in EC2's shapes (i-0123456789abcdef0) and their validation."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence

from overcast.errors import InvalidParameter

PREFIXES = {
    "i": "instance", "r": "reservation", "ami": "image", "key": "key-pair",
    "sg": "security-group", "vpc": "vpc", "subnet": "subnet", "eni": "network-interface",
    "vol": "volume", "snap": "snapshot", "eipalloc": "elastic-ip",
    "lt": "launch-template", "igw": "internet-gateway", "rtb": "route-table",
    "nat": "natgateway",
}
_EC2_ID = re.compile(r"^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$")


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_hex(n: int = 32) -> str:
    return secrets.token_hex(n // 2)


def is_valid(resource_id: str, prefix: str) -> bool:
    match = _EC2_ID.match(resource_id or "")
    return match is not None and match.group(1) == prefix


_LOOSE_ID = re.compile(r"^([a-z]+)-([0-9a-f]{1,17})$")


def is_well_formed(resource_id: str, prefix: str) -> bool:
    """Looser than `is_valid`, as EC2 checks the IDs it looks up: `sg-0` is well formed and
    simply not found; `sg-xyz` or `vpc-0` given as a group is malformed."""
    match = _LOOSE_ID.match(resource_id or "")
    return match is not None and match.group(1) == prefix


def resource_type(resource_id: str) -> str | None:
    """The EC2 resource type of an ID (for tags), or None if it names nothing we know."""
    match = _EC2_ID.match(resource_id or "")
    return PREFIXES.get(match.group(1)) if match else None


def root_volume_id(instance_id: str) -> str:
    """An instance's root EBS volume ID: fixed for its lifetime, like its interface's."""
    return "vol-" + instance_id.removeprefix("i-")


def primary_interface_id(instance_id: str) -> str:
    """An instance's primary network interface ID: fixed for its lifetime."""
    return "eni-" + instance_id.removeprefix("i-")


def new_mac() -> str:
    """A locally administered MAC in QEMU's range."""
    return "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def check_instance_ids(ids: Sequence[str]) -> None:
    for iid in ids:
        if not is_well_formed(iid, "i"):
            raise InvalidParameter("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
