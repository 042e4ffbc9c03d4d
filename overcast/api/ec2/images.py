"""EC2 image actions: Register/Deregister/DescribeImages and the image attributes."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.block_device_params import block_devices, image_mapping
from overcast.api.ec2.dispatch import Call, action, dry_run_check, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.block_devices import from_json
from overcast.cloud.compute import SnapshotRequest
from overcast.cloud.images import (
    DescribeRequest,
    ImageView,
    PermissionChange,
    RegisterRequest,
    check_image_id,
    creation_date,
    owner_alias,
    volume_size,
)
from overcast.errors import InvalidParameter, invalid

# Attributes DescribeImageAttribute answers, and the ones ModifyImageAttribute can change.
READABLE = ("description", "kernel", "ramdisk", "launchPermission", "productCodes",
            "blockDeviceMapping", "sriovNetSupport", "bootMode", "tpmSupport", "uefiData",
            "lastLaunchedTime", "imdsSupport", "deregistrationProtection")
MODIFIABLE = ("description", "launchPermission")


def _required(call: Call, name: str) -> Any:
    value = call.params.get(name)
    if value is None or value == "":
        raise InvalidParameter("MissingParameter",
                               f"The request must contain the parameter {name}")
    return value


def _block_devices(view: ImageView) -> list[dict[str, Any]]:
    """The root disk, then the data volumes' snapshots."""
    return [{"DeviceName": view.item.root_device_name, "Ebs": {
        "VolumeSize": volume_size(view), "DeleteOnTermination": True,
        "VolumeType": "gp2", "Encrypted": False}}] + [
        image_mapping(d) for d in from_json(view.item.block_device_mappings)]


def render_image(view: ImageView) -> dict[str, Any]:
    image = view.item
    return {
        "ImageId": image.id,
        "ImageLocation": image.image_location or f"{view.owner_id}/{image.name}",
        "State": image.state, "OwnerId": view.owner_id, "CreationDate": creation_date(image),
        "Public": image.is_public, "Architecture": image.architecture,
        "ImageType": "machine", "Name": image.name, "Description": image.description,
        "RootDeviceType": "ebs", "RootDeviceName": image.root_device_name,
        "BlockDeviceMappings": _block_devices(view),
        "VirtualizationType": "hvm", "Hypervisor": "xen", "EnaSupport": True,
        "SriovNetSupport": "simple", "ImageOwnerAlias": owner_alias(view),
        "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
        "Tags": tag_list(view.tags),
        "StateReason": ({"Code": "Server.InternalError", "Message": image.state_reason}
                        if image.state == "failed" and image.state_reason else None),
        "SourceInstanceId": image.source_instance_id,
    }


@action("DescribeImages")
def describe_images(call: Call) -> dict[str, Any]:
    req = DescribeRequest(
        image_ids=call.get("ImageIds", []), owners=call.get("Owners", []),
        executable_users=call.get("ExecutableUsers", []),
        filters=flt.parse_filters(call.get("Filters")))
    max_results = call.get("MaxResults")
    if max_results is not None and req.image_ids:
        raise InvalidParameter("InvalidParameterCombination",
                               "The parameter imageIdsSet cannot be used with the parameter "
                               "maxResults")
    flt.check_max_results(max_results, 5, 1000)
    views = call.cloud.images.describe(call.ctx, req)
    chunk, token = flt.page(views, lambda v: v.item.id, max_results, call.get("NextToken"))
    dry_run_check(call)
    return {"Images": [render_image(v) for v in chunk], "NextToken": token}


def _check_register_params(call: Call) -> None:
    for unsupported in ("KernelId", "RamdiskId", "BillingProducts"):
        if call.get(unsupported):
            raise invalid(f"The parameter {unsupported} is not supported by this cloud.")
    virtualization = call.get("VirtualizationType", "hvm")
    if virtualization != "hvm":
        raise invalid(f"Value ({virtualization}) for parameter virtualizationType is invalid. "
                      "This cloud runs hvm images only.")
    for spec in call.get("TagSpecifications", []):
        if spec.get("ResourceType") != "image":
            raise invalid(f"'{spec.get('ResourceType')}' is not a valid taggable resource "
                          "type for this operation.")


@action("RegisterImage")
def register_image(call: Call) -> dict[str, Any]:
    _check_register_params(call)
    if not call.get("ImageLocation") and call.get("BlockDeviceMappings"):
        raise invalid("An image's root disk cannot come from a snapshot here; give "
                      "ImageLocation (the mappings may add data volumes from snapshots).")
    req = RegisterRequest(
        name=_required(call, "Name"), location=call.get("ImageLocation"),
        description=call.get("Description", ""),
        architecture=call.get("Architecture", "x86_64"),
        root_device_name=call.get("RootDeviceName"), tags=tags_for(call, "image"),
        block_devices=block_devices(call.get("BlockDeviceMappings")))
    image = call.cloud.images.register(call.ctx, req, dry_run=bool(call.get("DryRun")))
    dry_run_check(call)
    return {"ImageId": image.id}


@action("CreateImage")
def create_image(call: Call) -> dict[str, Any]:
    """An image of an instance's disk, running or stopped. The instance is never rebooted
    (NoReboot is the only behaviour): the image of a running instance is crash-consistent."""
    for spec in call.get("TagSpecifications", []):
        if spec.get("ResourceType") not in ("image", "snapshot"):
            raise invalid(f"'{spec.get('ResourceType')}' is not a valid taggable resource "
                          "type for this operation.")
    req = SnapshotRequest(instance_id=_required(call, "InstanceId"), name=_required(call, "Name"),
                          description=call.get("Description", ""),
                          tags=tags_for(call, "image"))
    image = call.cloud.snapshots.create(call.ctx, req, dry_run=bool(call.get("DryRun")))
    dry_run_check(call)
    return {"ImageId": image.id}


@action("DeregisterImage")
def deregister_image(call: Call) -> dict[str, Any]:
    image_id = _required(call, "ImageId")
    call.cloud.images.deregister(call.ctx, image_id, dry_run=bool(call.get("DryRun")))
    dry_run_check(call)
    return {"Return": True}


def _attribute(call: Call, allowed: tuple[str, ...]) -> str:
    name = _required(call, "Attribute")
    if name not in allowed:
        raise InvalidParameter("InvalidRequest", f"The attribute '{name}' is not supported "
                               "by this call.")
    return name


@action("DescribeImageAttribute")
def describe_image_attribute(call: Call) -> dict[str, Any]:
    image_id = _required(call, "ImageId")
    attribute = _attribute(call, READABLE)
    images = call.cloud.images
    result: dict[str, Any] = {"ImageId": image_id}
    if attribute == "launchPermission":
        public, accounts = images.launch_permissions(call.ctx, image_id)
        result["LaunchPermissions"] = ([{"Group": "all"}] if public else []) + [
            {"UserId": a} for a in accounts]
        dry_run_check(call)
        return result
    image = images.check_owned(call.ctx, image_id)  # as on AWS: owners only
    dry_run_check(call)
    if attribute == "description":
        result["Description"] = {"Value": image.description}
    elif attribute == "blockDeviceMapping":
        view = images.describe(call.ctx, DescribeRequest(image_ids=[image_id]))[0]
        result["BlockDeviceMappings"] = _block_devices(view)
    elif attribute == "productCodes":
        result["ProductCodes"] = []
    elif attribute == "sriovNetSupport":
        result["SriovNetSupport"] = {"Value": "simple"}
    elif attribute == "bootMode":
        result["BootMode"] = {"Value": "legacy-bios"}
    elif attribute == "deregistrationProtection":
        result["DeregistrationProtection"] = {"Value": "disabled"}
    return result  # kernel, ramdisk, tpmSupport, ...: this cloud's images have none


def _permission_change(call: Call) -> PermissionChange:
    launch = call.get("LaunchPermission", {})
    adds = list(launch.get("Add") or [])
    removes = list(launch.get("Remove") or [])
    operation = call.get("OperationType")
    legacy = [{"UserId": u} for u in call.get("UserIds", [])] + [
        {"Group": g} for g in call.get("UserGroups", [])]
    if legacy:
        if operation not in ("add", "remove"):
            raise InvalidParameter("InvalidParameterCombination", "OperationType must be add "
                                   "or remove when UserIds or UserGroups are given.")
        (adds if operation == "add" else removes).extend(legacy)
    if call.get("OrganizationArns") or call.get("OrganizationalUnitArns") or any(
            p.get("OrganizationArn") or p.get("OrganizationalUnitArn") for p in adds + removes):
        raise invalid("This cloud has no organizations; share with account IDs.")
    for entry in adds + removes:
        group = entry.get("Group")
        if group is not None and group != "all":
            raise InvalidParameter("InvalidAMIAttributeItemValue",
                                   f"Invalid attribute item value \"{group}\" for group item "
                                   "type.")
    if not adds and not removes:
        raise InvalidParameter("InvalidParameterCombination",
                               "Give LaunchPermission.Add or .Remove, or OperationType with "
                               "UserIds or UserGroups.")
    return PermissionChange(
        add_accounts=tuple(p["UserId"] for p in adds if p.get("UserId") is not None),
        remove_accounts=tuple(p["UserId"] for p in removes if p.get("UserId") is not None),
        add_public=any(p.get("Group") == "all" for p in adds),
        remove_public=any(p.get("Group") == "all" for p in removes))


def _modified_attribute(call: Call) -> str:
    """Which attribute a ModifyImageAttribute call changes; its parameters must agree."""
    has_description = call.get("Description") is not None
    has_permissions = bool(call.get("LaunchPermission") or call.get("UserIds")
                           or call.get("UserGroups") or call.get("OperationType"))
    attribute = call.get("Attribute") or ("description" if has_description else
                                          "launchPermission" if has_permissions else None)
    if attribute in READABLE and attribute not in MODIFIABLE:
        raise InvalidParameter("InvalidParameter",
                               f"The attribute '{attribute}' cannot be modified.")
    if attribute not in MODIFIABLE or (has_description and has_permissions):
        raise InvalidParameter("InvalidParameterCombination",
                               "Give one attribute to modify: description (Description or "
                               "Value) or launchPermission (LaunchPermission, or "
                               "OperationType with UserIds or UserGroups).")
    if call.get("ProductCodes"):
        raise invalid("This cloud has no product codes.")
    return attribute


@action("ModifyImageAttribute")
def modify_image_attribute(call: Call) -> dict[str, Any]:
    image_id = _required(call, "ImageId")
    check_image_id(image_id)
    images = call.cloud.images
    if _modified_attribute(call) == "description":
        value = (call.get("Description") or {}).get("Value", call.get("Value"))
        if value is None:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter Description")
        if call.get("DryRun"):
            images.check_owned(call.ctx, image_id)
            dry_run_check(call)
        images.set_description(call.ctx, image_id, value)
        return {}
    change = _permission_change(call)
    if call.get("DryRun"):
        images.check_owned(call.ctx, image_id)
        dry_run_check(call)
    images.change_permissions(call.ctx, image_id, change)
    return {}


@action("ResetImageAttribute")
def reset_image_attribute(call: Call) -> dict[str, Any]:
    image_id = _required(call, "ImageId")
    _attribute(call, ("launchPermission",))
    if call.get("DryRun"):
        call.cloud.images.check_owned(call.ctx, image_id)
        dry_run_check(call)
    call.cloud.images.reset_permissions(call.ctx, image_id)
    return {}
