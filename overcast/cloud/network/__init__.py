"""The network wing: VPCs, subnets, security groups, interfaces and public addresses.

vpcs (default VPC and subnets, private addresses), dataplane (what a host's network driver
builds), vpc_changes (Create/Delete VPC and subnet,
VPC attributes), security_groups (groups, membership, open ports) and group_rules (rule
parsing and in-place edits), interfaces (network interfaces), addresses (per-instance public
loopback addresses), elastic_ips, eip_associations and eip_links (Elastic IPs and what they
are associated with), gateways, route_tables and routes (internet gateways, route tables and
their routes; route_rows: the rows every VPC is made with; routers: Neutron's read-only view).
"""

from __future__ import annotations

from overcast.cloud.network.addresses import Addresses
from overcast.cloud.network.dataplane import DataPlane
from overcast.cloud.network.eip_associations import AssociateRequest, Associations
from overcast.cloud.network.eip_links import forget_instance
from overcast.cloud.network.elastic_ips import (
    POOL_NAME,
    AddressView,
    ElasticIps,
    check_allocation_ids,
)
from overcast.cloud.network.gateways import GatewayView, InternetGateways
from overcast.cloud.network.group_rules import GroupSource, Permission, RuleEdits
from overcast.cloud.network.interfaces import InterfaceView, NetworkInterfaces
from overcast.cloud.network.records import RuleRecord
from overcast.cloud.network.route_tables import RouteTables, TableView
from overcast.cloud.network.routers import Routers, RouterView
from overcast.cloud.network.routes import RouteRequest, Routes
from overcast.cloud.network.security_groups import GroupView, SecurityGroups
from overcast.cloud.network.vpc_changes import VpcAttributes, VpcChanges
from overcast.cloud.network.vpcs import (
    DEFAULT_VPC_CIDR,
    DHCP_OPTIONS_ID,
    SubnetView,
    Vpcs,
    VpcView,
)

__all__ = [
    "AddressView", "Addresses", "AssociateRequest", "Associations", "DEFAULT_VPC_CIDR",
    "DataPlane", "DHCP_OPTIONS_ID", "ElasticIps", "GatewayView", "GroupSource", "GroupView",
    "InterfaceView", "InternetGateways", "NetworkInterfaces", "POOL_NAME", "Permission",
    "RouteRequest", "RouteTables", "RouterView", "Routers", "Routes", "RuleEdits",
    "RuleRecord", "SecurityGroups", "SubnetView", "TableView", "VpcAttributes", "VpcChanges",
    "VpcView", "Vpcs", "check_allocation_ids", "forget_instance",
]
