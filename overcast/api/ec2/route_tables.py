"""EC2 route table actions: Create/Delete/DescribeRouteTables, Create/Replace/DeleteRoute,
Associate/DisassociateRouteTable and ReplaceRouteTableAssociation."""

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
from overcast.cloud.network import RouteRequest, TableView
from overcast.errors import InvalidParameter

ASSOCIATED = {"State": "associated"}
# targets and destinations this cloud does not have: refused rather than ignored
UNOFFERED = ("DestinationIpv6CidrBlock", "DestinationPrefixListId", "VpcPeeringConnectionId",
             "TransitGatewayId", "LocalGatewayId", "CarrierGatewayId",
             "EgressOnlyInternetGatewayId", "VpcEndpointId", "CoreNetworkArn")


def _render(tagged: flt.Tagged[TableView]) -> dict[str, Any]:
    view = tagged.item
    routes = [{"DestinationCidrBlock": r.route.destination_cidr, "GatewayId": r.route.gateway_id,
               "NetworkInterfaceId": r.route.network_interface_id,
               "InstanceId": r.route.instance_id, "NatGatewayId": r.route.nat_gateway_id,
               "State": r.state, "Origin": r.route.origin}
              for r in view.routes]
    associations = [{"Main": a.is_main, "RouteTableAssociationId": a.id,
                     "RouteTableId": a.route_table_id, "SubnetId": a.subnet_id,
                     "AssociationState": ASSOCIATED} for a in view.associations]
    return {"RouteTableId": view.table.id, "VpcId": view.table.vpc_id,
            "OwnerId": view.owner_id, "Routes": routes, "Associations": associations,
            "PropagatingVgws": [], "Tags": tag_list(tagged.tags)}


@action("CreateRouteTable")
def create_route_table(call: Call) -> dict[str, Any]:
    tags = tags_for(call, "route-table")
    view = call.cloud.route_tables.create(call.ctx, required(call, "VpcId"), tags,
                                          dry_run=bool(call.get("DryRun")))
    return {"RouteTable": _render(flt.Tagged(view, tags)), "ClientToken": call.get("ClientToken")}


@action("DeleteRouteTable")
def delete_route_table(call: Call) -> dict[str, Any]:
    return delete_named(call, "RouteTableId", call.cloud.route_tables.delete)


@action("DescribeRouteTables")
def describe_route_tables(call: Call) -> dict[str, Any]:
    items, token = call.cloud.route_tables.describe(
        call.ctx, call.get("RouteTableIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"RouteTables": [_render(t) for t in items], "NextToken": token}


def _route_request(call: Call) -> RouteRequest:
    for name in UNOFFERED:
        if call.get(name) is not None:
            raise InvalidParameter("InvalidParameterValue",
                                   f"The parameter {name} is not offered by this cloud.")
    return RouteRequest(
        table_id=required(call, "RouteTableId"), destination=call.get("DestinationCidrBlock"),
        gateway_id=call.get("GatewayId"), network_interface_id=call.get("NetworkInterfaceId"),
        instance_id=call.get("InstanceId"), nat_gateway_id=call.get("NatGatewayId"),
        dry_run=bool(call.get("DryRun")))


@action("CreateRoute")
def create_route(call: Call) -> dict[str, Any]:
    call.cloud.routes.create(call.ctx, _route_request(call))
    return {"Return": True}


@action("ReplaceRoute")
def replace_route(call: Call) -> dict[str, Any]:
    call.cloud.routes.replace(call.ctx, _route_request(call))
    return {}


@action("DeleteRoute")
def delete_route(call: Call) -> dict[str, Any]:
    if call.get("DestinationIpv6CidrBlock") or call.get("DestinationPrefixListId"):
        raise InvalidParameter("InvalidParameterValue",
                               "Only IPv4 destination CIDR blocks are offered.")
    call.cloud.routes.delete(call.ctx, required(call, "RouteTableId"),
                             call.get("DestinationCidrBlock"), dry_run=bool(call.get("DryRun")))
    return {}


@action("AssociateRouteTable")
def associate_route_table(call: Call) -> dict[str, Any]:
    if call.get("GatewayId") is not None:
        raise InvalidParameter("InvalidParameterValue",
                               "Gateway route tables (edge associations) are not offered.")
    table_id, subnet_id = required(call, "RouteTableId"), required(call, "SubnetId")
    dry_run_check(call)
    association_id = call.cloud.route_tables.associate(call.ctx, table_id, subnet_id)
    return {"AssociationId": association_id, "AssociationState": ASSOCIATED}


@action("DisassociateRouteTable")
def disassociate_route_table(call: Call) -> dict[str, Any]:
    return delete_named(call, "AssociationId", call.cloud.route_tables.disassociate)


@action("ReplaceRouteTableAssociation")
def replace_route_table_association(call: Call) -> dict[str, Any]:
    association_id, table_id = required(call, "AssociationId"), required(call, "RouteTableId")
    dry_run_check(call)
    new_id = call.cloud.route_tables.replace_association(call.ctx, association_id, table_id)
    return {"NewAssociationId": new_id, "AssociationState": ASSOCIATED}
