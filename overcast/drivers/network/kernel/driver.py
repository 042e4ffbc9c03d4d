"""The kernel network driver: one namespace per VPC routes, filters and serves its ports.

What the driver made is recorded as one directory per VPC namespace under `state_dir` (it also
holds that VPC's dnsmasq files); apply removes the VPCs recorded there but no longer wanted,
and teardown removes them all. Namespaces it did not record are never touched.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from overcast.drivers.network.base import ApplyResult
from overcast.drivers.network.kernel import (
    checks,
    dhcp,
    firewall,
    links,
    names,
    nftables,
    public,
)
from overcast.drivers.network.kernel.metadata import MetadataRelays
from overcast.drivers.network.spec import DesiredNetwork, PublicNetwork, VpcSpec


class KernelNetwork:
    name = "kernel"

    def __init__(self, state_dir: Path, underlay_netns: str | None = None,
                 netns_prefix: str = names.NETNS_PREFIX,
                 metadata: MetadataRelays | None = None,
                 public_network: PublicNetwork | None = None) -> None:
        """`underlay_netns`: where VXLAN devices are made (None: the host's own namespace);
        `netns_prefix`: of the VPC namespaces' names (tests run two "hosts" on one machine);
        `metadata`: relays each port's 169.254.169.254 to the metadata server (None: that
        address refuses connections); `public_network`: where VPCs with an internet gateway
        get their leg (None: they get none)."""
        self.state_dir = state_dir
        self.underlay_netns = underlay_netns
        self.netns_prefix = netns_prefix
        self.metadata = metadata
        self.public_network = public_network

    def apply(self, desired: DesiredNetwork) -> ApplyResult:
        for vpc in desired.vpcs:
            checks.vpc(vpc)
        if desired.underlay_ip:
            checks.address(desired.underlay_ip)
        wanted = {names.namespace(vpc.id, self.netns_prefix) for vpc in desired.vpcs}
        for netns in sorted(self.recorded() - wanted):
            self._remove(netns)
        pending: list[str] = []
        if self.public_network and any(vpc.public for vpc in desired.vpcs):
            public.ensure_bridge(self.public_network)
        for vpc in desired.vpcs:
            pending += self._converge(vpc, desired.underlay_ip)
        return ApplyResult(pending_ports=tuple(pending))

    def teardown(self) -> None:
        for netns in sorted(self.recorded()):
            self._remove(netns)
        if self.metadata is not None:
            self.metadata.close_all()
        if self.public_network is not None:
            public.remove_bridge(self.public_network)

    def recorded(self) -> set[str]:
        """The namespaces this driver made (and has not removed)."""
        if not self.state_dir.is_dir():
            return set()
        return {p.name for p in self.state_dir.iterdir()
                if p.is_dir() and p.name.startswith(self.netns_prefix)}

    def _converge(self, vpc: VpcSpec, underlay_ip: str | None) -> list[str]:
        vpc = dataclasses.replace(vpc, public=public.within(vpc.public, self.public_network))
        netns = names.namespace(vpc.id, self.netns_prefix)
        home = self.state_dir / netns
        home.mkdir(parents=True, exist_ok=True)  # recorded before anything is made
        links.ensure_namespace(netns)
        pending = links.converge_ports(netns, vpc)
        vxlan = links.converge_vxlan(netns, vpc, underlay_ip, self.underlay_netns)
        leg = public.converge_leg(netns, vpc, self.public_network)
        present = [port for port in vpc.ports if port.id not in pending]
        live = dataclasses.replace(vpc, ports=tuple(present), public=vpc.public if leg else None)
        if self.metadata is not None:
            self.metadata.converge(netns, {port.id: port.device for port in present})
        public.converge_table(netns, live)  # before the groups let the leg's traffic pass
        nftables.converge(netns, "inet", firewall.TABLE, firewall.render_inet(live, vxlan))
        nftables.converge(netns, "arp", firewall.TABLE, firewall.render_arp(live))
        links.remove_stale_routes(netns, vpc)
        dhcp.converge(netns, vpc, home)
        return pending

    def _remove(self, netns: str) -> None:
        home = self.state_dir / netns
        if self.metadata is not None:
            self.metadata.close(netns)
        dhcp.stop(home)
        links.remove_namespace(netns)  # its devices and nftables tables go with it
        shutil.rmtree(home, ignore_errors=True)
