"""EC2 network interface actions: create one in a subnet (it takes a private address), list
them, delete them."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import (
    Call,
    action,
    delete_named,
    dry_run_check,
    required,
    tag_list,
    tagged_on_create,
)
from overcast.cloud import filters as flt
from overcast.cloud.network import InterfaceView


def _render(tagged: flt.Tagged[InterfaceView]) -> dict[str, Any]:
    view = tagged.item
    association = {"PublicIp": view.public_ip, "PublicDnsName": "", "IpOwnerId": "amazon"} \
        if view.public_ip else None
    attachment = view.attachment
    return {
        "NetworkInterfaceId": view.id, "SubnetId": view.subnet_id, "VpcId": view.vpc_id,
        "AvailabilityZone": view.zone, "Description": view.description,
        "OwnerId": view.owner_id, "RequesterManaged": False, "Status": view.status,
        "InterfaceType": "interface", "MacAddress": view.mac_address,
        "PrivateIpAddress": view.private_ip, "PrivateDnsName": view.private_dns_name,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": view.private_ip,
                                "PrivateDnsName": view.private_dns_name,
                                "Association": association}],
        "Association": association,
        "Attachment": {"AttachmentId": attachment.attachment_id,
                       "InstanceId": attachment.instance_id,
                       "InstanceOwnerId": view.owner_id, "DeviceIndex": 0,
                       "NetworkCardIndex": 0, "Status": "attached",
                       "AttachTime": attachment.attach_time, "DeleteOnTermination": True,
                       } if attachment else None,
        "SourceDestCheck": view.source_dest_check,
        "Groups": [{"GroupId": gid, "GroupName": name} for gid, name in view.groups],
        "Ipv6Addresses": [], "TagSet": tag_list(tagged.tags) or [],
    }


@action("CreateNetworkInterface")
def create_network_interface(call: Call) -> dict[str, Any]:
    subnet_id = required(call, "SubnetId")
    dry_run_check(call)
    view = call.cloud.network_interfaces.create(call.ctx, subnet_id,
                                                call.get("PrivateIpAddress"),
                                                call.get("Description", ""))
    tags = tagged_on_create(call, "network-interface", view.id)
    return {"NetworkInterface": _render(flt.Tagged(view, tags)),
            "ClientToken": call.get("ClientToken")}


@action("DeleteNetworkInterface")
def delete_network_interface(call: Call) -> dict[str, Any]:
    return delete_named(call, "NetworkInterfaceId", call.cloud.network_interfaces.delete)


@action("DescribeNetworkInterfaces")
def describe_network_interfaces(call: Call) -> dict[str, Any]:
    items, token = call.cloud.network_interfaces.describe(
        call.ctx, call.get("NetworkInterfaceIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"NetworkInterfaces": [_render(t) for t in items], "NextToken": token}
