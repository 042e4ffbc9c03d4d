"""EC2 internet gateway actions: Create/Delete/Describe/Attach/DetachInternetGateway."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import (
    Call,
    action,
    delete_named,
    dry_run_check,
    required,
    tag_list,
    tags_for,
)
from overcast.cloud import filters as flt
from overcast.cloud.network import GatewayView


def _render(tagged: flt.Tagged[GatewayView]) -> dict[str, Any]:
    view = tagged.item
    attachments = [{"State": "available", "VpcId": view.vpc_id}] if view.vpc_id else []
    return {"InternetGatewayId": view.gateway_id, "OwnerId": view.owner_id,
            "Attachments": attachments, "Tags": tag_list(tagged.tags)}


@action("CreateInternetGateway")
def create_internet_gateway(call: Call) -> dict[str, Any]:
    tags = tags_for(call, "internet-gateway")
    view = call.cloud.internet_gateways.create(call.ctx, tags, dry_run=bool(call.get("DryRun")))
    return {"InternetGateway": _render(flt.Tagged(view, tags))}


@action("DeleteInternetGateway")
def delete_internet_gateway(call: Call) -> dict[str, Any]:
    return delete_named(call, "InternetGatewayId", call.cloud.internet_gateways.delete)


@action("AttachInternetGateway")
def attach_internet_gateway(call: Call) -> dict[str, Any]:
    gateway_id, vpc_id = required(call, "InternetGatewayId"), required(call, "VpcId")
    dry_run_check(call)
    call.cloud.internet_gateways.attach(call.ctx, gateway_id, vpc_id)
    return {}


@action("DetachInternetGateway")
def detach_internet_gateway(call: Call) -> dict[str, Any]:
    gateway_id, vpc_id = required(call, "InternetGatewayId"), required(call, "VpcId")
    dry_run_check(call)
    call.cloud.internet_gateways.detach(call.ctx, gateway_id, vpc_id)
    return {}


@action("DescribeInternetGateways")
def describe_internet_gateways(call: Call) -> dict[str, Any]:
    items, token = call.cloud.internet_gateways.describe(
        call.ctx, call.get("InternetGatewayIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"InternetGateways": [_render(t) for t in items], "NextToken": token}
