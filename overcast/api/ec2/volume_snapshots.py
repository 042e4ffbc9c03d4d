"""EC2 snapshot actions: CreateSnapshot, DeleteSnapshot, DescribeSnapshots,
DescribeSnapshotAttribute (snapshots are not shared: createVolumePermission is empty)."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, required, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.storage import SnapshotView, check_snapshot_ids, progress
from overcast.errors import InvalidParameter


def _snapshot(view: SnapshotView, tags: dict[str, str]) -> dict[str, Any]:
    return {"SnapshotId": view.id, "VolumeId": view.volume_id, "State": view.state,
            "StateMessage": view.state_message or None, "StartTime": view.started,
            "Progress": progress(view), "OwnerId": view.owner_id,
            "Description": view.description, "VolumeSize": view.volume_size,
            "Encrypted": False, "StorageTier": "standard", "Tags": tag_list(tags)}


@action("CreateSnapshot")
def create_snapshot(call: Call) -> dict[str, Any]:
    tags = tags_for(call, "snapshot")
    view = call.cloud.volume_snapshots.create(
        call.ctx, required(call, "VolumeId"), call.get("Description", ""), tags,
        dry_run=bool(call.get("DryRun")))
    return _snapshot(view, tags)


@action("DeleteSnapshot")
def delete_snapshot(call: Call) -> dict[str, Any]:
    call.cloud.volume_snapshots.delete(call.ctx, required(call, "SnapshotId"),
                                       dry_run=bool(call.get("DryRun")))
    return {}


@action("DescribeSnapshots")
def describe_snapshots(call: Call) -> dict[str, Any]:
    items, token = call.cloud.volume_snapshots.describe(
        call.ctx, call.get("SnapshotIds", []), call.get("OwnerIds", []),
        flt.parse_filters(call.get("Filters")), call.get("MaxResults"),
        call.get("NextToken"))
    dry_run_check(call)
    return {"Snapshots": [_snapshot(t.item, t.tags) for t in items], "NextToken": token}


@action("DescribeSnapshotAttribute")
def describe_snapshot_attribute(call: Call) -> dict[str, Any]:
    snapshot_id = required(call, "SnapshotId")
    attribute = required(call, "Attribute")
    check_snapshot_ids([snapshot_id])
    if attribute not in ("createVolumePermission", "productCodes"):
        raise InvalidParameter("InvalidParameterValue",
                               f"Value ({attribute}) for parameter attribute is invalid.")
    call.cloud.volume_snapshots.describe(call.ctx, [snapshot_id], [], [], None, None)
    dry_run_check(call)
    key = "CreateVolumePermissions" if attribute == "createVolumePermission" else \
        "ProductCodes"
    return {"SnapshotId": snapshot_id, key: []}
