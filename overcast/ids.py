"""Resource identifiers in EC2's shapes (i-0123456789abcdef0) and their validation."""

from __future__ import annotations

import re
import secrets
import uuid

PREFIXES = {
    "i": "instance", "r": "reservation", "ami": "image", "key": "key-pair",
    "sg": "security-group", "vpc": "vpc", "subnet": "subnet", "eni": "network-interface",
    "vol": "volume", "snap": "snapshot", "eipalloc": "elastic-ip",
    "lt": "launch-template",
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
