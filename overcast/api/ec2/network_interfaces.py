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
from overcast.cloud.network_interfaces import InterfaceView


def _render(tagged: flt.Tagged[InterfaceView]) -> dict[str, Any]:
    view = tagged.item
    interface = view.interface
    return {
        "NetworkInterfaceId": interface.id, "SubnetId": interface.subnet_id,
        "VpcId": interface.vpc_id, "AvailabilityZone": view.zone,
        "Description": interface.description, "OwnerId": view.owner_id,
        "RequesterManaged": False, "Status": "available", "InterfaceType": "interface",
        "MacAddress": interface.mac_address, "PrivateIpAddress": interface.private_ip,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": interface.private_ip}],
        "SourceDestCheck": True, "Groups": [], "Ipv6Addresses": [],
        "TagSet": tag_list(tagged.tags) or [],
    }


@action("CreateNetworkInterface")
def create_network_interface(call: Call) -> dict[str, Any]:
    subnet_id = required(call, "SubnetId")
    dry_run_check(call)
    view = call.cloud.network_interfaces.create(call.ctx, subnet_id,
                                                call.get("PrivateIpAddress"),
                                                call.get("Description", ""))
    tags = tagged_on_create(call, "network-interface", view.interface.id)
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
