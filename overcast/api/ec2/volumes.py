"""Volumes: this cloud has no EBS service, only each instance's root volume, which lives and
dies with its instance: DescribeVolumes lists them, and DeleteVolume answers as EC2 would for
one of those: in use while the instance lives, not found once it is gone (tools that clean up
after themselves call it)."""

from __future__ import annotations

import re
from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, required, tag_list
from overcast.cloud import filters as flt
from overcast.cloud.storage import (
    VOLUME_IOPS,
    VOLUME_THROUGHPUT,
    VOLUME_TYPE,
    RootVolume,
)
from overcast.errors import Conflict, InvalidParameter, NotFound
from overcast.lifecycle import State

VOLUME_ID = re.compile(r"^vol-[0-9a-f]{8,17}$")


@action("DeleteVolume")
def delete_volume(call: Call) -> dict[str, Any]:
    volume_id = required(call, "VolumeId")
    if not VOLUME_ID.match(volume_id):
        raise InvalidParameter("InvalidVolumeID.Malformed", f'Invalid id: "{volume_id}" '
                               '(expecting "vol-...")')
    instance_id = "i-" + volume_id.removeprefix("vol-")
    try:
        instance = call.cloud.instances.get(call.ctx, instance_id)
    except (NotFound, InvalidParameter):
        instance = None
    if instance is None or instance.state == State.TERMINATED:
        raise NotFound("InvalidVolume.NotFound", f"The volume '{volume_id}' does not exist.")
    dry_run_check(call)
    raise Conflict("VolumeInUse", f"Volume {volume_id} is currently attached to {instance.id}")


def _render(tagged: flt.Tagged[RootVolume]) -> dict[str, Any]:
    volume = tagged.item
    return {
        "VolumeId": volume.id, "Size": volume.size_gib, "SnapshotId": "",
        "AvailabilityZone": volume.zone, "State": "in-use", "CreateTime": volume.created,
        "Attachments": [{"AttachTime": volume.created, "Device": volume.device,
                         "InstanceId": volume.instance_id, "State": "attached",
                         "VolumeId": volume.id, "DeleteOnTermination": True}],
        "VolumeType": VOLUME_TYPE, "Iops": VOLUME_IOPS, "Throughput": VOLUME_THROUGHPUT,
        "Encrypted": False, "MultiAttachEnabled": False, "Tags": tag_list(tagged.tags),
    }


@action("DescribeVolumes")
def describe_volumes(call: Call) -> dict[str, Any]:
    items, token = call.cloud.root_volumes.describe(
        call.ctx, call.get("VolumeIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"Volumes": [_render(t) for t in items], "NextToken": token}
