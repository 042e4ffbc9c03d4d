"""Every driver by name, with what it can do; drivers made from settings.

The cloud decides by a driver's Capabilities (`capabilities_of`), never by its name."""

from __future__ import annotations

import hashlib
from pathlib import Path

from overcast.config import Settings
from overcast.drivers.base import (
    KERNEL_NETWORK,
    USER_NETWORK,
    Capabilities,
    Driver,
    HostCapacity,
    in_network_mode,
)
from overcast.drivers.ec2 import Ec2Driver
from overcast.drivers.fake import FakeDriver
from overcast.drivers.hyperv import HostConfig, HyperVDriver
from overcast.drivers.network.base import NetworkDriver
from overcast.drivers.network.kernel import KernelNetwork
from overcast.drivers.network.kernel.metadata import MetadataRelays
from overcast.drivers.network.spec import PublicNetwork
from overcast.drivers.qemu import QemuDriver
from overcast.drivers.storage.local import LocalBackend

DRIVER_CLASSES: dict[str, type[FakeDriver | QemuDriver | HyperVDriver | Ec2Driver]] = {
    "fake": FakeDriver, "qemu": QemuDriver, "hyperv": HyperVDriver, "ec2": Ec2Driver}
# the drivers `overcast up --driver` runs on this host
LOCAL_DRIVERS = tuple(name for name, cls in DRIVER_CLASSES.items()
                      if not (cls.CAPABILITIES.network_host or cls.CAPABILITIES.remote_cloud))
# the drivers of hosts added with `overcast host add --driver …`
NETWORK_HOST_DRIVERS = tuple(name for name, cls in DRIVER_CLASSES.items()
                             if cls.CAPABILITIES.network_host)
# hypervisors an instance type or image may ask for (burst targets are not one)
HYPERVISOR_DRIVERS = LOCAL_DRIVERS + NETWORK_HOST_DRIVERS
# Glance's hypervisor_type values -> the driver whose hosts run them
HYPERVISOR_TYPES = {"hyperv": "hyperv", "qemu": "qemu", "kvm": "qemu"}


def capabilities_of(driver: str, network_mode: str = USER_NETWORK) -> Capabilities:
    """What the driver of a host row can do in the host's network mode (an unknown name can
    do nothing special)."""
    cls = DRIVER_CLASSES.get(driver)
    return in_network_mode(cls.CAPABILITIES, network_mode) if cls is not None else Capabilities()


def make_driver(settings: Settings) -> Driver:
    state_dir = settings.data_dir / "hosts" / settings.host_name
    state_dir.mkdir(parents=True, exist_ok=True)
    if settings.driver == "fake":
        capacity = HostCapacity(settings.fake_vcpus, settings.fake_memory_mib,
                                settings.fake_disk_gib)
        return FakeDriver(capacity, settings.fake_boot_delay, state_dir / "fake-vms.json")
    if settings.driver == "qemu":
        from overcast.metadata.relayauth import key_path

        return QemuDriver(str(state_dir / "qemu"), accel=settings.qemu_accel,
                          relay_key_file=key_path(settings.data_dir),
                          network_mode=settings.network_mode)
    raise ValueError(f"unknown driver '{settings.driver}' "
                     f"(choose from {', '.join(LOCAL_DRIVERS)})")


def make_network_driver(settings: Settings, metadata_endpoint: tuple[str, int] | None,
                        ) -> NetworkDriver | None:
    """The data plane `overcast up` runs in kernel networking (None in user-mode: QEMU wires
    each guest itself), relaying each port's metadata requests to `metadata_endpoint`."""
    if settings.network_mode != KERNEL_NETWORK:
        return None
    from overcast.metadata.relayauth import key_path

    relays = (MetadataRelays(metadata_endpoint, key_path(settings.data_dir))
              if metadata_endpoint is not None else None)
    return KernelNetwork(settings.data_dir / "hosts" / settings.host_name / "network",
                         metadata=relays, public_network=public_network(settings))


def public_network(settings: Settings) -> PublicNetwork | None:
    """The host's public network from the settings (None: none configured). Without a bridge
    named, the cloud's own in a namespace named after its data dir (two clouds on one machine
    each have theirs)."""
    if not settings.public_cidr:
        return None
    if settings.public_bridge:
        return PublicNetwork(settings.public_cidr, settings.public_gateway_ip,
                             settings.public_bridge, bridge_netns=None, own_bridge=False)
    digest = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:8]
    return PublicNetwork(settings.public_cidr, settings.public_gateway_ip,
                         bridge_netns=f"ocpub-{digest}")
def make_storage(settings: Settings) -> LocalBackend:
    """This host's storage backend for volumes: qcow2 files beside its VMs."""
    return LocalBackend(settings.data_dir / "hosts" / settings.host_name / "volumes")


def make_remote_driver(kind: str, config: object, state_dir: Path) -> Driver:
    """A driver for a host reached over the network, from its stored settings."""
    if kind == "hyperv":
        from overcast.drivers.hyperv.transport import PsrpTransport

        assert isinstance(config, HostConfig)
        state_dir.mkdir(parents=True, exist_ok=True)
        return HyperVDriver(config, PsrpTransport(config), state_dir)
    raise ValueError(f"unknown remote driver '{kind}' "
                     f"(choose from {', '.join(NETWORK_HOST_DRIVERS)})")
