"""The launch form: what it offers (images, instance types with vCPUs and RAM, key pairs,
security groups) and the RunRequest it makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from overcast.cloud.compute import RunRequest
from overcast.cloud.compute.launch import NetworkRequest
from overcast.cloud.images.images import DescribeRequest
from overcast.cloud.service import Cloud
from overcast.errors import invalid
from overcast.identity.context import Context

MAX_COUNT = 100  # instances one form launches


def launch_choices(cloud: Cloud, ctx: Context) -> dict[str, Any]:
    images = [v.item for v in cloud.images.describe(ctx, DescribeRequest())
              if v.item.state == "available"]
    types = sorted(cloud.catalog.instance_types().values(),
                   key=lambda t: (t.vcpus, t.memory_mib, t.name))
    groups, _ = cloud.security_groups.describe(ctx, [], [], [])
    return {"images": sorted(images, key=lambda i: i.name),
            "types": [(t.name, t.vcpus, t.memory_mib) for t in types],
            "keypairs": sorted(k.name for k in cloud.keypairs.list(ctx)),
            "groups": sorted((g.item.group.id, g.item.group.name) for g in groups)}


def _count(raw: str) -> int:
    try:
        count = int(raw or "1")
    except ValueError:
        raise invalid(f"The count '{raw}' is not a whole number.") from None
    if not 1 <= count <= MAX_COUNT:
        raise invalid(f"The count must be between 1 and {MAX_COUNT}.")
    return count


def run_request(form: Mapping[str, Any]) -> RunRequest:
    count = _count(str(form.get("count", "1")))
    groups: list[str] = form.getlist("group_ids") if hasattr(form, "getlist") else []
    name = str(form.get("name", "")).strip()
    return RunRequest(
        image_id=str(form.get("image_id", "")), instance_type=str(form.get("instance_type", "")),
        min_count=count, max_count=count, key_name=str(form.get("key_name", "")) or None,
        user_data=str(form.get("user_data", "")).replace("\r\n", "\n").encode(),
        tags={"Name": name} if name else {},
        network=NetworkRequest(security_group_ids=tuple(groups)))
