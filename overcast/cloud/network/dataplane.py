"""What one host's network driver should build: every VPC with an instance on the host, as the
driver's typed specs (overcast.drivers.network.spec), read in one snapshot.

A VPC's ports are its instances whose VM may run (pending, running, stopping): those on this
host as tap ports (`t<hex of the instance ID>`), those on other hosts that have an underlay
address as remote ports reached over VXLAN. Security groups come with their rules as stored,
so the default group's "all traffic from the group" rule is an ordinary group-sourced rule.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.network.public_plane import vpc_public
from overcast.db import Database
from overcast.db.models import Host, Instance
from overcast.db.models_network import (
    InstanceSecurityGroup,
    SecurityGroupRule,
    Subnet,
    Vpc,
)
from overcast.drivers.network.spec import (
    DesiredNetwork,
    PortSpec,
    RemotePortSpec,
    Rule,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
    tap_device,
)
from overcast.lifecycle import State

# the states in which an instance's VM may run, so its port is wanted
PORT_STATES = (State.PENDING, State.RUNNING, State.STOPPING)


def gateway_of(cidr: str) -> str:
    """A subnet's router: its first address, as on AWS."""
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


class DataPlane:
    def __init__(self, db: Database) -> None:
        self.db = db

    def host_network(self, host_id: str) -> DesiredNetwork:
        with self.db.read() as s:
            return desired_network(s, host_id)


def desired_network(s: Session, host_id: str) -> DesiredNetwork:
    hosts = {h.id: h.underlay_ip for h in s.scalars(select(Host))}
    vpc_ids = set(s.scalars(select(Instance.vpc_id).where(
        Instance.host_id == host_id, Instance.state.in_([str(x) for x in PORT_STATES]),
        Instance.private_ip.is_not(None), Instance.vpc_id.is_not(None))))
    if not vpc_ids:
        return DesiredNetwork(underlay_ip=hosts.get(host_id))
    instances = list(s.scalars(select(Instance).where(
        Instance.vpc_id.in_(vpc_ids), Instance.state.in_([str(x) for x in PORT_STATES]),
        Instance.private_ip.is_not(None)).order_by(Instance.id)))
    groups = _groups_of(s, [i.id for i in instances])
    local = [i for i in instances if i.host_id == host_id]
    rules = _rules_of(s, {g for i in local for g in groups[i.id]})
    subnets: dict[str, list[Subnet]] = defaultdict(list)
    for subnet in s.scalars(select(Subnet).where(Subnet.vpc_id.in_(vpc_ids))
                            .order_by(Subnet.id)):
        subnets[subnet.vpc_id].append(subnet)
    vpcs = []
    for vpc in s.scalars(select(Vpc).where(Vpc.id.in_(vpc_ids)).order_by(Vpc.id)):
        mine = [i for i in instances if i.vpc_id == vpc.id]
        vpcs.append(VpcSpec(
            id=vpc.id, cidr=vpc.cidr_block, vni=vpc.vni or 0,
            subnets=tuple(SubnetSpec(n.id, n.cidr_block, gateway_of(n.cidr_block))
                          for n in subnets[vpc.id]),
            ports=tuple(_port(i, groups[i.id]) for i in mine if i.host_id == host_id),
            remote_ports=tuple(RemotePortSpec(i.id, (i.private_ip or "",),
                                              hosts[i.host_id or ""] or "", groups[i.id])
                               for i in mine if i.host_id != host_id
                               and hosts.get(i.host_id or "")),
            security_groups=tuple(SecurityGroupSpec(g, *rules[g])
                                  for g in sorted({g for i in mine if i.host_id == host_id
                                                   for g in groups[i.id]})),
            dns_hostnames=vpc.enable_dns_hostnames,
            public=vpc_public(s, vpc.id, subnets[vpc.id],
                              [i for i in mine if i.host_id == host_id])))
    return DesiredNetwork(vpcs=tuple(vpcs), underlay_ip=hosts.get(host_id))


def _port(instance: Instance, groups: tuple[str, ...]) -> PortSpec:
    return PortSpec(id=instance.id, subnet_id=instance.subnet_id or "",
                    mac=instance.mac_address, addresses=(instance.private_ip or "",),
                    device=tap_device(instance.id), security_group_ids=groups)


def _groups_of(s: Session, instance_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    for instance_id, group_id in s.execute(
            select(InstanceSecurityGroup.instance_id, InstanceSecurityGroup.group_id)
            .where(InstanceSecurityGroup.instance_id.in_(list(instance_ids)))
            .order_by(InstanceSecurityGroup.position)):
        found[instance_id].append(group_id)
    return defaultdict(tuple, {k: tuple(v) for k, v in found.items()})


def _rules_of(s: Session, group_ids: set[str],
              ) -> dict[str, tuple[tuple[Rule, ...], tuple[Rule, ...]]]:
    """Each group's (ingress, egress) rules; IPv6 ones are left out (the data plane is IPv4)."""
    ingress: dict[str, list[Rule]] = defaultdict(list)
    egress: dict[str, list[Rule]] = defaultdict(list)
    for row in s.scalars(select(SecurityGroupRule).where(
            SecurityGroupRule.group_id.in_(sorted(group_ids))).order_by(SecurityGroupRule.id)):
        if row.cidr_ipv4 is None and row.source_group_id is None:
            continue
        rule = Rule(row.protocol, row.from_port, row.to_port, row.cidr_ipv4,
                    row.source_group_id)
        (egress if row.is_egress else ingress)[row.group_id].append(rule)
    return {g: (tuple(ingress[g]), tuple(egress[g])) for g in group_ids}
