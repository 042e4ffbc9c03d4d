"""The kernel network backend: namespaces, routed tap ports, nftables, dnsmasq, VXLAN."""

from overcast.drivers.network.kernel.driver import KernelNetwork

__all__ = ["KernelNetwork"]
