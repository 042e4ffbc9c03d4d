"""Network drivers: the data plane that joins instances of a VPC, below the service layer.

A network driver is handed the whole desired state of the networks on its host
(`spec.DesiredNetwork`) and makes the host match it (`base.NetworkDriver.apply`). The `kernel`
backend builds it from the Linux kernel's own parts: a namespace per VPC acting as its router,
routed tap ports, nftables with conntrack for security groups and dnsmasq for DHCP and DNS.
"""
