"""EC2 instance attribute actions: Describe/Modify/ResetInstanceAttribute, metadata options,
credit specifications and instance type offerings."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check
from overcast.api.ec2.instances import block_device_mappings, metadata_options
from overcast.api.ec2.run_options import metadata_request
from overcast.clock import utcnow
from overcast.cloud import filters as flt
from overcast.cloud.compute import AttributeChange, InstanceRecord, check_shutdown_behavior
from overcast.errors import InvalidParameter, invalid
from overcast.lifecycle import State

# request member -> attribute name used with Attribute=/Value=
MEMBERS = {
    "InstanceType": "instanceType", "UserData": "userData", "Groups": "groupSet",
    "DisableApiTermination": "disableApiTermination", "DisableApiStop": "disableApiStop",
    "InstanceInitiatedShutdownBehavior": "instanceInitiatedShutdownBehavior",
    "SourceDestCheck": "sourceDestCheck", "EbsOptimized": "ebsOptimized",
    "EnaSupport": "enaSupport", "SriovNetSupport": "sriovNetSupport", "Kernel": "kernel",
    "Ramdisk": "ramdisk", "BlockDeviceMappings": "blockDeviceMapping",
    "EnclaveOptions": "enclaveOptions",
}
BURSTABLE = ("t2.", "t3.", "t3a.", "t4g.")
CREDIT_FILTERS: dict[str, flt.Extractor] = {"instance-id": lambda t: t.item.id}
OFFERING_FILTERS: dict[str, flt.Extractor] = {
    "instance-type": lambda t: t.item[0], "location": lambda t: t.item[1],
}


def _instance_id(call: Call) -> str:
    instance_id = call.get("InstanceId")
    if not instance_id:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter InstanceId")
    return instance_id


def _requested(call: Call) -> tuple[str, Any]:
    """(attribute name, value) of the one attribute a Modify call changes."""
    given = [(attr, call.params[m]) for m, attr in MEMBERS.items()
             if call.params.get(m) not in (None, [])]
    name = call.get("Attribute")
    if name:
        if name not in MEMBERS.values():
            raise invalid(f"Value ({name}) for parameter attribute is invalid. Unknown "
                          "attribute.")
        value = call.get("Value")
        if value is None:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter value")
        given.append((name, [value] if name == "groupSet" else {"Value": value}))
    if not given:
        raise invalid("No attributes specified.", "InvalidParameterCombination")
    if len(given) > 1:
        raise invalid("Only one attribute can be modified at a time.",
                      "InvalidParameterCombination")
    return given[0]


def _boolean(raw: Any, name: str) -> bool:
    value = raw.get("Value") if isinstance(raw, dict) else raw
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise invalid(f"Value ({value}) for parameter {name} is invalid. Expected true or false.")


def _user_data(raw: Any) -> bytes:
    value = raw.get("Value") if isinstance(raw, dict) else raw
    if isinstance(value, bytes):
        return value  # the blob form, already decoded
    try:
        return base64.b64decode(value or "", validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Invalid BASE64 encoding of user data.") from None


def _change(call: Call, name: str, raw: Any) -> AttributeChange:
    value = raw.get("Value") if isinstance(raw, dict) else raw
    if name == "instanceType":
        itype = call.cloud.catalog.instance_type(str(value))
        return AttributeChange({"instance_type": itype.name, "vcpus": itype.vcpus,
                                "memory_mib": itype.memory_mib, "disk_gib": itype.disk_gib},
                               needs_stopped=True)
    if name == "userData":
        data = _user_data(raw)
        if len(data) > 16 * 1024:
            raise invalid("User data is limited to 16384 bytes")
        return AttributeChange({"user_data": data}, needs_stopped=True)
    if name == "instanceInitiatedShutdownBehavior":
        check_shutdown_behavior(str(value))
        return AttributeChange({"shutdown_behavior": str(value)})
    columns = {"disableApiTermination": "disable_api_termination",
               "disableApiStop": "disable_api_stop", "sourceDestCheck": "source_dest_check"}
    if name in columns:
        return AttributeChange({columns[name]: _boolean(raw, name)})
    raise InvalidParameter("UnsupportedOperation",
                           f"The attribute '{name}' cannot be modified on this cloud.")


@action("ModifyInstanceAttribute")
def modify_instance_attribute(call: Call) -> dict[str, Any]:
    instance_id = _instance_id(call)
    name, raw = _requested(call)
    row = call.cloud.instances.get(call.ctx, instance_id)
    if name == "groupSet":
        groups = raw if isinstance(raw, list) else [raw.get("Value")]
        dry_run_check(call)
        if row.state == State.TERMINATED:
            raise InvalidParameter("IncorrectInstanceState",
                                   f"The instance '{row.id}' is not in a state from which "
                                   "it can be modified.")
        call.cloud.security_groups.set_instance_groups(call.ctx, row, groups)
        return {}
    if name == "blockDeviceMapping":
        _delete_on_termination(call, instance_id, raw)
        return {}
    change = _change(call, name, raw)
    dry_run_check(call)
    call.cloud.instances.modify(call.ctx, instance_id, change)
    return {}


def _delete_on_termination(call: Call, instance_id: str, raw: Any) -> None:
    """BlockDeviceMappings=[{DeviceName, Ebs: {DeleteOnTermination}}]: the only thing EC2
    changes of an instance's mappings."""
    mappings = raw if isinstance(raw, list) else [raw]
    for mapping in mappings:
        device, ebs = mapping.get("DeviceName"), mapping.get("Ebs") or {}
        if not device or ebs.get("DeleteOnTermination") is None:
            raise invalid("Each block device mapping must name a DeviceName and "
                          "Ebs.DeleteOnTermination.")
        call.cloud.volume_attachments.set_delete_on_termination(
            call.ctx, instance_id, device, bool(ebs["DeleteOnTermination"]),
            dry_run=bool(call.get("DryRun")))


def _groups(call: Call, row: InstanceRecord) -> list[dict[str, str]]:
    found = call.cloud.security_groups.of_instances(call.ctx, [row.id]).get(row.id, [])
    return [{"GroupId": gid, "GroupName": name} for gid, name in found]


def _attribute(call: Call, row: InstanceRecord, name: str) -> dict[str, Any]:
    simple: dict[str, tuple[str, Any]] = {
        "instanceType": ("InstanceType", {"Value": row.instance_type}),
        "userData": ("UserData", {"Value": base64.b64encode(row.user_data).decode()}
                     if row.user_data else {}),
        "disableApiTermination": ("DisableApiTermination",
                                  {"Value": row.disable_api_termination}),
        "disableApiStop": ("DisableApiStop", {"Value": row.disable_api_stop}),
        "instanceInitiatedShutdownBehavior": ("InstanceInitiatedShutdownBehavior",
                                              {"Value": row.shutdown_behavior}),
        "productCodes": ("ProductCodes", []),
        "sourceDestCheck": ("SourceDestCheck", {"Value": row.source_dest_check}),
        "ebsOptimized": ("EbsOptimized", {"Value": False}),
        "enaSupport": ("EnaSupport", {"Value": True}),
        "sriovNetSupport": ("SriovNetSupport", {}),
        "kernel": ("KernelId", {}),
        "ramdisk": ("RamdiskId", {}),
        "enclaveOptions": ("EnclaveOptions", {"Enabled": False}),
    }
    if name == "groupSet":
        return {"Groups": _groups(call, row)}
    if name in ("rootDeviceName", "blockDeviceMapping"):
        root = call.cloud.instances.root_devices([row.image_id])[row.image_id]
        return {"RootDeviceName": {"Value": root}} if name == "rootDeviceName" else \
            {"BlockDeviceMappings": block_device_mappings(
                row, root, call.cloud.volume_attachments.of_instances(
                    call.ctx, [row.id]).get(row.id, ()))}
    if name not in simple:
        raise invalid(f"Value ({name}) for parameter attribute is invalid. Unknown attribute.")
    key, value = simple[name]
    return {key: value}


@action("DescribeInstanceAttribute")
def describe_instance_attribute(call: Call) -> dict[str, Any]:
    instance_id = _instance_id(call)
    name = call.get("Attribute")
    if not name:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter attribute")
    row = call.cloud.instances.get(call.ctx, instance_id)
    found = _attribute(call, row, name)
    dry_run_check(call)
    return {"InstanceId": row.id, **found}


@action("ResetInstanceAttribute")
def reset_instance_attribute(call: Call) -> dict[str, Any]:
    instance_id = _instance_id(call)
    name = call.get("Attribute")
    resets = {"sourceDestCheck": AttributeChange({"source_dest_check": True}),
              "kernel": AttributeChange({}, needs_stopped=True),
              "ramdisk": AttributeChange({}, needs_stopped=True)}
    if name not in resets:
        raise invalid(f"Value ({name}) for parameter attribute is invalid. Only kernel, "
                      "ramdisk and sourceDestCheck can be reset.")
    call.cloud.instances.get(call.ctx, instance_id)
    dry_run_check(call)
    call.cloud.instances.modify(call.ctx, instance_id, resets[name])
    return {}


@action("ModifyInstanceMetadataOptions")
def modify_instance_metadata_options(call: Call) -> dict[str, Any]:
    instance_id = _instance_id(call)
    options = metadata_request(call.params)
    call.cloud.instances.get(call.ctx, instance_id)
    dry_run_check(call)
    values = {"metadata_http_tokens": options.http_tokens,
              "metadata_http_endpoint": options.http_endpoint,
              "metadata_hop_limit": options.hop_limit,
              "metadata_instance_tags": options.instance_tags}
    row = call.cloud.instances.modify(call.ctx, instance_id, AttributeChange(
        {k: v for k, v in values.items() if v is not None}))
    return {"InstanceId": row.id, "InstanceMetadataOptions": metadata_options(row, "pending")}


def _credits(instance_type: str) -> str | None:
    if not instance_type.startswith(BURSTABLE):
        return None
    return "standard" if instance_type.startswith("t2.") else "unlimited"


@action("DescribeInstanceCreditSpecifications")
def describe_instance_credit_specifications(call: Call) -> dict[str, Any]:
    ids = call.get("InstanceIds", [])
    filters = flt.parse_filters(call.get("Filters"))
    flt.check_filters(filters, CREDIT_FILTERS)
    max_results = call.get("MaxResults")
    if max_results is not None and ids:
        raise invalid("The parameter instancesSet cannot be used with the parameter "
                      "maxResults", "InvalidParameterCombination")
    flt.check_max_results(max_results, 5, 1000)
    items, _ = call.cloud.instances.describe(call.ctx, ids, [])
    dry_run_check(call)
    items = [t for t in items if t.item.state != State.TERMINATED and _credits(
        t.item.instance_type) and flt.matches(t, filters, CREDIT_FILTERS)]
    chunk, token = flt.page(items, lambda t: t.item.id, max_results, call.get("NextToken"))
    return {"InstanceCreditSpecifications": [
        {"InstanceId": t.item.id, "CpuCredits": _credits(t.item.instance_type)}
        for t in chunk], "NextToken": token}


@action("DescribeInstanceTypeOfferings")
def describe_instance_type_offerings(call: Call) -> dict[str, Any]:
    location_type = call.get("LocationType", "region")
    region = call.cloud.settings.region
    zones = call.cloud.catalog.availability_zones()
    locations = {"region": [region], "availability-zone": zones,
                 "availability-zone-id": [call.cloud.vpcs.zone_id(z) for z in zones]}
    if location_type not in locations:
        raise invalid(f"Value ({location_type}) for parameter locationType is invalid.")
    max_results = call.get("MaxResults")
    flt.check_max_results(max_results, 5, 1000)
    types = sorted(call.cloud.catalog.instance_types())
    items = [flt.Tagged((name, place), {}) for name in types
             for place in locations[location_type]]
    items = flt.apply(items, flt.parse_filters(call.get("Filters")), OFFERING_FILTERS)
    chunk, token = flt.page(items, lambda t: f"{t.item[1]}\0{t.item[0]}", max_results,
                            call.get("NextToken"))
    dry_run_check(call)
    return {"InstanceTypeOfferings": [
        {"InstanceType": t.item[0], "LocationType": location_type, "Location": t.item[1]}
        for t in chunk], "NextToken": token}


@action("GetPasswordData")
def get_password_data(call: Call) -> dict[str, Any]:
    """Linux guests have no Windows administrator password: the data is empty, as on EC2."""
    row = call.cloud.instances.get(call.ctx, _instance_id(call))
    dry_run_check(call)
    return {"InstanceId": row.id, "Timestamp": utcnow(), "PasswordData": ""}
