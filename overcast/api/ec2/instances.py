"""EC2 instance actions."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Container, Sequence
from dataclasses import replace
from typing import Any

from overcast.api.ec2.block_device_params import block_devices
from overcast.api.ec2.dispatch import (
    Call,
    action,
    dry_run_check,
    required,
    tag_list,
    tags_for,
)
from overcast.api.ec2.run_options import instance_options, network_request
from overcast.clock import as_utc, utcnow
from overcast.cloud import filters as flt
from overcast.cloud.compute import (
    DEFAULT_ROOT_DEVICE,
    InstanceRecord,
    InstanceView,
    RunRequest,
    StateChange,
    TemplateRef,
    merge,
    private_dns_name,
)
from overcast.cloud.storage import AttachmentView
from overcast.errors import invalid
from overcast.ids import check_instance_ids, primary_interface_id, root_volume_id
from overcast.lifecycle import STATE_CODES, State, ec2_name

RUN_TAG_TYPES = {"instance", "volume", "network-interface"}


def state_dict(state: str) -> dict[str, Any]:
    return {"Code": STATE_CODES[State(state)], "Name": ec2_name(state)}


def _group_list(groups: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"GroupId": gid, "GroupName": name} for gid, name in groups]


def eni_id(row: InstanceRecord) -> str:
    """The primary network interface's ID: fixed for the instance's lifetime."""
    return primary_interface_id(row.id)


def network_interfaces(row: InstanceRecord, groups: Sequence[tuple[str, str]],
                       owner: str) -> list[dict[str, Any]]:
    if not row.subnet_id or not row.private_ip or row.state == State.TERMINATED:
        return []  # a terminated instance's interface is deleted with it
    dns = private_dns_name(row)
    association = {"PublicIp": row.public_ip, "PublicDnsName": "", "IpOwnerId": "amazon"} \
        if row.public_ip else None
    return [{
        "NetworkInterfaceId": eni_id(row), "SubnetId": row.subnet_id, "VpcId": row.vpc_id,
        "Description": "", "OwnerId": owner, "Status": "in-use",
        "MacAddress": row.mac_address, "PrivateIpAddress": row.private_ip,
        "PrivateDnsName": dns, "SourceDestCheck": row.source_dest_check,
        "Groups": _group_list(groups), "Association": association,
        "Attachment": {"AttachmentId": "eni-attach-" + row.id.removeprefix("i-"),
                       "DeviceIndex": 0, "Status": "attached",
                       "AttachTime": as_utc(row.launch_time), "DeleteOnTermination": True,
                       "NetworkCardIndex": 0},
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": row.private_ip,
                                "PrivateDnsName": dns, "Association": association}],
        "Ipv6Addresses": [], "InterfaceType": "interface",
    }]


def block_device_mappings(row: InstanceRecord, root_device: str,
                          volumes: Sequence[AttachmentView] = ()) -> list[dict[str, Any]]:
    """The root EBS volume, attached from launch until the instance is terminated (when it
    is deleted with it, as DeleteOnTermination says), then the volumes attached to it."""
    if row.state == State.TERMINATED:
        return []
    return [{"DeviceName": root_device, "Ebs": {
        "AttachTime": as_utc(row.launch_time), "DeleteOnTermination": True,
        "Status": "attached", "VolumeId": root_volume_id(row.id)}}] + [
        {"DeviceName": v.device, "Ebs": {
            "AttachTime": v.attach_time, "DeleteOnTermination": v.delete_on_termination,
            "Status": v.state, "VolumeId": v.volume_id}} for v in volumes]


def metadata_options(row: InstanceRecord, state: str = "applied") -> dict[str, Any]:
    return {"State": state, "HttpTokens": row.metadata_http_tokens,
            "HttpPutResponseHopLimit": row.metadata_hop_limit,
            "HttpEndpoint": row.metadata_http_endpoint, "HttpProtocolIpv6": "disabled",
            "InstanceMetadataTags": row.metadata_instance_tags}


def render_instance(row: InstanceRecord, tags: dict[str, str],
                    groups: Sequence[tuple[str, str]] = (), owner: str = "",
                    root_device: str = DEFAULT_ROOT_DEVICE,
                    volumes: Sequence[AttachmentView] = ()) -> dict[str, Any]:
    found: dict[str, Any] = {
        "InstanceId": row.id, "ImageId": row.image_id, "State": state_dict(row.state),
        "PrivateDnsName": private_dns_name(row), "PublicDnsName": "",
        "StateTransitionReason": row.transition_reason, "KeyName": row.key_name,
        "AmiLaunchIndex": row.launch_index, "ProductCodes": [],
        "InstanceType": row.instance_type, "LaunchTime": as_utc(row.launch_time),
        "Placement": {"AvailabilityZone": row.availability_zone, "GroupName": "",
                      "Tenancy": "default"},
        "Monitoring": {"State": "disabled"}, "PrivateIpAddress": row.private_ip,
        "PublicIpAddress": row.public_ip, "Architecture": "x86_64",
        "RootDeviceType": "ebs", "RootDeviceName": root_device,
        "BlockDeviceMappings": block_device_mappings(row, root_device, volumes),
        "VirtualizationType": "hvm", "ClientToken": row.client_token or "",
        "Tags": tag_list(tags), "SecurityGroups": _group_list(groups), "Hypervisor": "xen",
        "EbsOptimized": False, "EnaSupport": True, "SourceDestCheck": row.source_dest_check,
        "SubnetId": row.subnet_id if row.private_ip else None,
        "VpcId": row.vpc_id if row.private_ip else None,
        "NetworkInterfaces": network_interfaces(row, groups, owner),
        "MetadataOptions": metadata_options(row),
        "CpuOptions": {"CoreCount": row.vcpus, "ThreadsPerCore": 1},
        "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
    }
    if row.state_reason_code:
        found["StateReason"] = {"Code": row.state_reason_code,
                                "Message": row.state_reason_message}
    return found


def _user_data(raw: str | None) -> bytes:
    if not raw:
        return b""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid("Invalid BASE64 encoding of user data.") from exc


def _check_tag_specs(call: Call) -> None:
    for spec in call.get("TagSpecifications", []):
        rtype = spec.get("ResourceType")
        if rtype not in RUN_TAG_TYPES:
            raise invalid(f"'{rtype}' is not a valid taggable resource type for this "
                          "operation.")



def _with_template(call: Call) -> Call:
    """The call's parameters laid over the launch template it names, if it names one."""
    spec = call.get("LaunchTemplate")
    if not spec:
        return call
    data = call.cloud.launch_templates.launch_data(
        call.ctx, TemplateRef(spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")),
        spec.get("Version"))
    return replace(call, params=merge(data, call.params))


def _tag_attached(call: Call, rows: Sequence[InstanceRecord],
                  mapped: dict[str, list[AttachmentView]]) -> None:
    """TagSpecifications for the root volumes, mapped volumes and primary interfaces just
    made."""
    for resource_type, id_of in (("volume", root_volume_id),
                                 ("network-interface", primary_interface_id)):
        tags = tags_for(call, resource_type)
        if tags and rows:
            call.cloud.tags.create(call.ctx, [id_of(r.id) for r in rows], tags)
    volume_tags = tags_for(call, "volume")
    ids = [a.volume_id for found in mapped.values() for a in found]
    if volume_tags and ids:
        call.cloud.tags.create(call.ctx, ids, volume_tags)


@action("RunInstances")
def run_instances(call: Call) -> dict[str, Any]:
    call = _with_template(call)
    _check_tag_specs(call)
    placement = call.get("Placement", {})
    req = RunRequest(
        network=network_request(call), options=instance_options(call),
        image_id=required(call, "ImageId"), instance_type=call.get("InstanceType", "t3.micro"),
        min_count=required(call, "MinCount"), max_count=required(call, "MaxCount"),
        key_name=call.get("KeyName"), user_data=_user_data(call.get("UserData")),
        tags=tags_for(call, "instance"), client_token=call.get("ClientToken"),
        availability_zone=placement.get("AvailabilityZone") or None,
        dry_run=bool(call.get("DryRun")),
        block_devices=block_devices(call.get("BlockDeviceMappings")))
    launched = call.cloud.run_instances(call.ctx, req)
    tags = req.tags
    ids = [r.id for r in launched.instances]
    volumes = call.cloud.volume_attachments.of_instances(call.ctx, ids)
    _tag_attached(call, launched.instances, volumes)
    groups = ({i: launched.groups for i in ids} if launched.groups is not None
              else call.cloud.security_groups.of_instances(call.ctx, ids))
    owner = call.ctx.account_id
    root = call.cloud.instances.root_devices([req.image_id])[req.image_id]
    return {"ReservationId": launched.reservation_id, "OwnerId": owner, "Groups": [],
            "Instances": [render_instance(r, tags, groups.get(r.id, []), owner, root,
                                          volumes.get(r.id, ()))
                          for r in launched.instances]}


def reservations(items: Sequence[InstanceView], owner: str,
                 volumes: dict[str, list[AttachmentView]] | None = None,
                 ) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for view in items:
        grouped.setdefault(view.item.reservation_id, []).append(
            render_instance(view.item, view.tags, view.groups, owner, view.root_device,
                            (volumes or {}).get(view.item.id, ())))
    return [{"ReservationId": rid, "OwnerId": owner, "Groups": [], "Instances": instances}
            for rid, instances in grouped.items()]


@action("DescribeInstances")
def describe_instances(call: Call) -> dict[str, Any]:
    ids = call.get("InstanceIds", [])
    filters = flt.parse_filters(call.get("Filters"))
    items, token = call.cloud.instances.describe(call.ctx, ids, filters,
                                                 call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    volumes = call.cloud.volume_attachments.of_instances(call.ctx, [v.item.id for v in items])
    return {"Reservations": reservations(items, call.ctx.account_id, volumes),
            "NextToken": token}


def _changes(changes: list[StateChange]) -> list[dict[str, Any]]:
    return [{"InstanceId": c.instance_id, "CurrentState": state_dict(c.current),
             "PreviousState": state_dict(c.previous)} for c in changes]


def _change(call: Call, event: str, force: bool = False) -> list[StateChange]:
    ids = call.get("InstanceIds", [])
    check_instance_ids(ids)
    if call.get("DryRun"):
        call.cloud.instances.describe(call.ctx, ids, [])
        dry_run_check(call)
    return call.cloud.instances.change(call.ctx, ids, event, force)


@action("StartInstances")
def start_instances(call: Call) -> dict[str, Any]:
    return {"StartingInstances": _changes(_change(call, "start"))}


@action("StopInstances")
def stop_instances(call: Call) -> dict[str, Any]:
    force = bool(call.get("Force"))
    return {"StoppingInstances": _changes(_change(call, "stop", force))}


@action("RebootInstances")
def reboot_instances(call: Call) -> dict[str, Any]:
    _change(call, "reboot")
    return {}


@action("TerminateInstances")
def terminate_instances(call: Call) -> dict[str, Any]:
    return {"TerminatingInstances": _changes(_change(call, "terminate"))}


STATUS_FILTERS: dict[str, flt.Extractor] = {
    "availability-zone": lambda t: t.item.availability_zone,
    "instance-state-name": lambda t: ec2_name(t.item.state),
    "instance-state-code": lambda t: str(STATE_CODES[State(t.item.state)]),
    "instance-status.status": lambda t: _health(t.item),
    "system-status.status": lambda t: _health(t.item),
    "availability-zone-id": lambda t: t.zone_id,
    "operator.managed": lambda t: "false",
    "attached-ebs-status.status": lambda t: None,
    "application-status.status": lambda t: None,
    **{f"event.{name}": (lambda t: None) for name in (
        "code", "description", "instance-event-id", "not-after", "not-before",
        "not-before-deadline")},
    "operator.principal": lambda t: None,
}
REACHABILITY = {"ok": "passed", "impaired": "failed"}


def _health(row: InstanceRecord, unreachable: Container[str] = ()) -> str:
    """A running instance on a host that stopped answering reads as impaired."""
    if row.state != State.RUNNING:
        return "not-applicable"
    return "impaired" if row.host_id in unreachable else "ok"


def _status(row: InstanceRecord, unreachable: Container[str] = ()) -> dict[str, Any]:
    health = _health(row, unreachable)
    check = {"ok": "passed", "impaired": "failed"}.get(health)
    detail = [{"Name": "reachability", "Status": check}] if check else []
    return {"InstanceId": row.id, "AvailabilityZone": row.availability_zone,
            "InstanceState": state_dict(row.state),
            "InstanceStatus": {"Status": health, "Details": detail},
            "SystemStatus": {"Status": health, "Details": detail}}


@action("DescribeInstanceStatus")
def describe_instance_status(call: Call) -> dict[str, Any]:
    ids = call.get("InstanceIds", [])
    filters = flt.parse_filters(call.get("Filters"))
    flt.check_filters(filters, {**STATUS_FILTERS, "instance-status.reachability": _health,
                                "system-status.reachability": _health})
    if call.get("MaxResults") is not None and ids:
        raise invalid("The parameter instancesSet cannot be used with the parameter "
                      "maxResults", "InvalidParameterCombination")
    items, _ = call.cloud.instances.describe(call.ctx, ids, [])
    dry_run_check(call)
    if not call.get("IncludeAllInstances"):
        items = [t for t in items if t.item.state == State.RUNNING]
    unreachable = call.cloud.hosts.unreachable_ids()
    health_filters = {**STATUS_FILTERS,
                      "instance-status.status": lambda t: _health(t.item, unreachable),
                      "system-status.status": lambda t: _health(t.item, unreachable),
                      "instance-status.reachability":
                          lambda t: REACHABILITY.get(_health(t.item, unreachable)),
                      "system-status.reachability":
                          lambda t: REACHABILITY.get(_health(t.item, unreachable))}
    items = [t for t in items if flt.matches(t, filters, health_filters)]
    max_results = call.get("MaxResults")
    flt.check_max_results(max_results, 5, 1000)
    chunk, token = flt.page(items, lambda t: t.item.id, max_results, call.get("NextToken"))
    return {"InstanceStatuses": [_status(t.item, unreachable) for t in chunk],
            "NextToken": token}


@action("GetConsoleOutput")
def get_console_output(call: Call) -> dict[str, Any]:
    instance_id = required(call, "InstanceId")
    output = call.cloud.instances.console_output(call.ctx, instance_id)
    dry_run_check(call)
    return {"InstanceId": instance_id, "Timestamp": utcnow(),
            "Output": base64.b64encode(output[-65536:]).decode() if output else None}
