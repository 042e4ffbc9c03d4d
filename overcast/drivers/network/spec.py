"""The desired state of a host's networks, as plain frozen values.

The service layer (through the agent) describes every VPC that has a port on this host: its
subnets, the ports of local instances (each a tap device the hypervisor opened), the ports of
the VPC's instances on other hosts (reached over VXLAN), and the security groups those ports
use. A driver makes the host match it; it never reads anything else.

Security groups carry their rules as they are: the default group's "all traffic from this
group" rule and a new group's "all egress" rule are ordinary rules the service layer adds. A
port with no group admits and sends nothing but replies and DHCP/DNS to its router.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_PROTOCOLS = "-1"


@dataclass(frozen=True)
class Rule:
    """One security-group rule: a protocol and port range, and exactly one peer: an IPv4 CIDR
    or a group whose member addresses it stands for (the source for ingress, the destination
    for egress). ICMP uses from_port as the type and to_port as the code (-1: any)."""

    protocol: str  # "tcp" | "udp" | "icmp" | "-1" (all) | an IP protocol number
    from_port: int = -1
    to_port: int = -1
    cidr: str | None = None
    group_id: str | None = None


@dataclass(frozen=True)
class SecurityGroupSpec:
    id: str
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class SubnetSpec:
    id: str
    cidr: str
    gateway_ip: str
    # DNS servers DHCP hands out; empty: the VPC's own resolver at the subnet's gateway
    dns_servers: tuple[str, ...] = ()
    lease_seconds: int = 3600


@dataclass(frozen=True)
class PortSpec:
    """An instance's interface on this host: `device` is the tap (at most 15 characters)."""

    id: str  # instance or network-interface ID
    subnet_id: str
    mac: str
    addresses: tuple[str, ...]  # private IPv4 addresses, the primary first
    device: str
    security_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemotePortSpec:
    """A port of the same VPC on another host, reached through VXLAN at `host_ip`."""

    id: str
    addresses: tuple[str, ...]
    host_ip: str
    security_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublicMapping:
    """A public address translated 1:1 to a port's private one: an Elastic IP or an
    auto-assigned public IP (MapPublicIpOnLaunch)."""

    public_ip: str
    private_ip: str


@dataclass(frozen=True)
class NatGatewaySpec:
    """A NAT gateway: the subnets whose 0.0.0.0/0 route names it leave from `public_ip`."""

    id: str
    public_ip: str
    subnet_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class VpcPublicSpec:
    """A VPC's leg on the cloud's public network, wanted while an internet gateway is attached.
    `internet_cidrs`: the subnets whose route table sends 0.0.0.0/0 to that gateway; only their
    ports' public addresses are translated (no such route: no way in or out)."""

    internet_cidrs: tuple[str, ...] = ()
    mappings: tuple[PublicMapping, ...] = ()
    nat_gateways: tuple[NatGatewaySpec, ...] = ()


@dataclass(frozen=True)
class PublicNetwork:
    """The cloud's public network on a host (the driver's setting, not per VPC): each VPC
    router's leg is a veth whose other end joins `bridge` in `bridge_netns` (None: the host's
    own namespace, a real deployment's LAN bridge). With `own_bridge` the driver makes that
    namespace and bridge, with `gateway_ip` on it, and removes them on teardown."""

    cidr: str
    gateway_ip: str
    bridge: str = "ocpub0"
    bridge_netns: str | None = "ocpub"
    own_bridge: bool = True


@dataclass(frozen=True)
class VpcSpec:
    id: str  # "vpc-<hex>"
    cidr: str
    vni: int  # the VXLAN network identifier of this VPC, the same on every host
    subnets: tuple[SubnetSpec, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    security_groups: tuple[SecurityGroupSpec, ...] = ()
    remote_ports: tuple[RemotePortSpec, ...] = ()
    dns_domain: str = "ec2.internal"  # e.g. "us-east-1.compute.internal"
    dns_hostnames: bool = True  # answer ip-a-b-c-d.<dns_domain> names
    public: VpcPublicSpec | None = None  # its leg on the public network (an attached igw)

    def subnet(self, subnet_id: str) -> SubnetSpec:
        for subnet in self.subnets:
            if subnet.id == subnet_id:
                return subnet
        raise KeyError(subnet_id)

    def all_ports(self) -> tuple[PortSpec | RemotePortSpec, ...]:
        """The ports here and on other hosts."""
        return (*self.ports, *self.remote_ports)

    def member_addresses(self, group_id: str) -> frozenset[str]:
        """The addresses of every port, here or remote, that is in the group."""
        return frozenset(address for port in self.all_ports()
                         if group_id in port.security_group_ids for address in port.addresses)


@dataclass(frozen=True)
class DesiredNetwork:
    vpcs: tuple[VpcSpec, ...] = ()
    # this host's address on the underlay network that carries VXLAN between hosts
    underlay_ip: str | None = None


def private_dns_name(address: str, domain: str) -> str:
    """EC2's private DNS name of an address: ip-10-0-0-5.<domain>."""
    return f"ip-{address.replace('.', '-')}.{domain}"


def tap_device(instance_id: str) -> str:
    """The tap device of an instance's primary port: t<the hex of its ID>, at most the 15
    characters of a Linux interface name (i-0123456789abcdef0 -> t0123456789abcd)."""
    return ("t" + instance_id.removeprefix("i-"))[:15]
