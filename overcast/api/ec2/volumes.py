"""EC2 volume actions: Create/Delete/Describe/ModifyVolume, DescribeVolumesModifications,
Attach/DetachVolume, DescribeVolumeStatus, DescribeVolumeAttribute. DescribeVolumes also
lists each instance's root volume, which lives and dies with its instance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, required, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.storage import (
    STATUS_FILTERS,
    AttachmentView,
    Modification,
    VolumeChange,
    VolumeRequest,
    VolumeView,
    check_volume_ids,
    io_enabled,
    volume_status,
)
from overcast.errors import InvalidParameter


def _attachment(view: AttachmentView) -> dict[str, Any]:
    return {"AttachTime": view.attach_time, "Device": view.device,
            "InstanceId": view.instance_id, "State": view.state, "VolumeId": view.volume_id,
            "DeleteOnTermination": view.delete_on_termination}


def _volume(view: VolumeView, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "VolumeId": view.id, "Size": view.size_gib, "SnapshotId": view.snapshot_id,
        "AvailabilityZone": view.zone, "State": view.state, "CreateTime": view.created,
        "Attachments": [_attachment(view.attachment)] if view.attachment else [],
        "VolumeType": view.volume_type, "Iops": view.iops, "Throughput": view.throughput,
        "Encrypted": view.encrypted, "MultiAttachEnabled": False, "Tags": tag_list(tags),
    }


@action("CreateVolume")
def create_volume(call: Call) -> dict[str, Any]:
    tags = tags_for(call, "volume")
    view = call.cloud.volumes.create(call.ctx, VolumeRequest(
        zone=call.get("AvailabilityZone"), size_gib=call.get("Size"),
        volume_type=call.get("VolumeType", "gp2"), iops=call.get("Iops"),
        throughput=call.get("Throughput"), snapshot_id=call.get("SnapshotId"),
        encrypted=bool(call.get("Encrypted")), multi_attach=bool(call.get("MultiAttachEnabled")),
        tags=tags), dry_run=bool(call.get("DryRun")))
    return _volume(view, tags)


@action("DeleteVolume")
def delete_volume(call: Call) -> dict[str, Any]:
    call.cloud.volumes.delete(call.ctx, required(call, "VolumeId"),
                              dry_run=bool(call.get("DryRun")))
    return {}


@action("DescribeVolumes")
def describe_volumes(call: Call) -> dict[str, Any]:
    items, token = call.cloud.volumes.describe(
        call.ctx, call.get("VolumeIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"Volumes": [_volume(t.item, t.tags) for t in items], "NextToken": token}


@action("ModifyVolume")
def modify_volume(call: Call) -> dict[str, Any]:
    if call.get("MultiAttachEnabled"):
        raise InvalidParameter("InvalidParameterValue",
                               "Multi-attach volumes are not offered by this cloud.")
    before, after = call.cloud.volumes.modify(call.ctx, required(call, "VolumeId"), VolumeChange(
        size_gib=call.get("Size"), volume_type=call.get("VolumeType"), iops=call.get("Iops"),
        throughput=call.get("Throughput")), dry_run=bool(call.get("DryRun")))
    return {"VolumeModification": {
        "VolumeId": after.id, "ModificationState": "modifying", "Progress": 0,
        "StartTime": datetime.now(UTC), "TargetSize": after.size_gib,
        "TargetIops": after.iops, "TargetVolumeType": after.volume_type,
        "TargetThroughput": after.throughput, "TargetMultiAttachEnabled": False,
        "OriginalSize": before.size_gib, "OriginalIops": before.iops,
        "OriginalVolumeType": before.volume_type, "OriginalThroughput": before.throughput,
        "OriginalMultiAttachEnabled": False}}


@action("DescribeVolumesModifications")
def describe_volumes_modifications(call: Call) -> dict[str, Any]:
    """Each volume's last ModifyVolume: optimizing (the new size is usable) until its host
    has grown the disk, then completed."""
    found = call.cloud.volumes.modifications(call.ctx, call.get("VolumeIds", []))
    items = [flt.Tagged(m, {}) for m in found]
    chosen = flt.apply(items, flt.parse_filters(call.get("Filters")), MODIFICATION_FILTERS)
    flt.check_max_results(call.get("MaxResults"), 5, 500)
    page, token = flt.page(chosen, lambda t: t.item.volume.id, call.get("MaxResults"),
                           call.get("NextToken"))
    dry_run_check(call)
    return {"VolumesModifications": [_modification(t.item) for t in page],
            "NextToken": token}


def _state(item: Modification) -> str:
    return "completed" if item.done else "optimizing"


MODIFICATION_FILTERS: dict[str, flt.Extractor] = {
    "volume-id": lambda t: t.item.volume.id,
    "modification-state": lambda t: _state(t.item),
    "target-size": lambda t: str(t.item.volume.size_gib),
    "target-volume-type": lambda t: t.item.volume.volume_type,
    "original-size": lambda t: str(t.item.original_size_gib),
    "original-volume-type": lambda t: t.item.original_type,
}


def _modification(item: Modification) -> dict[str, Any]:
    volume = item.volume
    return {"VolumeId": volume.id, "ModificationState": _state(item),
            "Progress": 100 if item.done else 50, "StartTime": item.started,
            "EndTime": item.started if item.done else None,
            "TargetSize": volume.size_gib, "TargetVolumeType": volume.volume_type,
            "TargetIops": volume.iops, "TargetThroughput": volume.throughput,
            "OriginalSize": item.original_size_gib, "OriginalVolumeType": item.original_type,
            "TargetMultiAttachEnabled": False, "OriginalMultiAttachEnabled": False}


@action("AttachVolume")
def attach_volume(call: Call) -> dict[str, Any]:
    view = call.cloud.volume_attachments.attach(
        call.ctx, required(call, "VolumeId"), required(call, "InstanceId"),
        required(call, "Device"), dry_run=bool(call.get("DryRun")))
    return _attachment(view)


@action("DetachVolume")
def detach_volume(call: Call) -> dict[str, Any]:
    view = call.cloud.volume_attachments.detach(
        call.ctx, required(call, "VolumeId"), call.get("InstanceId"), call.get("Device"),
        force=bool(call.get("Force")), dry_run=bool(call.get("DryRun")))
    return _attachment(view)


@action("DescribeVolumeStatus")
def describe_volume_status(call: Call) -> dict[str, Any]:
    items, token = call.cloud.volumes.describe(
        call.ctx, call.get("VolumeIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"), known=STATUS_FILTERS)
    dry_run_check(call)
    return {"VolumeStatuses": [{
        "VolumeId": t.item.id, "AvailabilityZone": t.item.zone, "Actions": [], "Events": [],
        "VolumeStatus": {"Status": volume_status(t.item), "Details": [
            {"Name": "io-enabled", "Status": io_enabled(t.item)},
            {"Name": "io-performance", "Status": "not-applicable"}]},
    } for t in items], "NextToken": token}


@action("DescribeVolumeAttribute")
def describe_volume_attribute(call: Call) -> dict[str, Any]:
    volume_id = required(call, "VolumeId")
    attribute = required(call, "Attribute")
    check_volume_ids([volume_id])
    if attribute not in ("autoEnableIO", "productCodes"):
        raise InvalidParameter("InvalidParameterValue",
                               f"Value ({attribute}) for parameter attribute is invalid.")
    call.cloud.volumes.describe(call.ctx, [volume_id], [], None, None)  # NotFound unless seen
    dry_run_check(call)
    if attribute == "autoEnableIO":
        return {"VolumeId": volume_id, "AutoEnableIO": {"Value": False}}
    return {"VolumeId": volume_id, "ProductCodes": []}
