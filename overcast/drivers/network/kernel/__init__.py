"""The kernel network backend: namespaces, routed tap ports, nftables, dnsmasq, VXLAN."""

from overcast.drivers.network.kernel.commands import missing_requirements
from overcast.drivers.network.kernel.driver import KernelNetwork

__all__ = ["KernelNetwork", "missing_requirements"]
