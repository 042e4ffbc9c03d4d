"""The driver protocol: what every hypervisor back end offers the agent.

A driver makes a described VM exist, runs it, stops it, removes it and lists what really
exists. It knows nothing of the database, tenants or scheduling; every call is idempotent so
the agent can repeat it after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol


class PowerState(StrEnum):
    """What a driver observes of one VM."""

    RUNNING = "running"  # booted (or booting) and consuming CPU
    STOPPED = "stopped"  # defined (disk exists) but not running
    CRASHED = "crashed"  # the VM process died without being asked to stop
    PAUSED = "paused"  # alive but frozen: no vCPU runs (pause)
    SUSPENDED = "suspended"  # not running; its memory saved to disk, restored by start


@dataclass(frozen=True)
class PortForward:
    """Forward host_ip:host_port on the host to guest_port in the guest."""

    protocol: str  # "tcp" or "udp"
    host_ip: str
    host_port: int
    guest_port: int


@dataclass(frozen=True)
class NetworkSpec:
    """How the guest is wired: its addresses and the ports its security groups open."""

    mac_address: str
    private_ip: str
    subnet_cidr: str
    gateway_ip: str
    public_ip: str | None = None
    forwards: tuple[PortForward, ...] = ()
    # a tap device of this name (kernel networking: the agent's network driver routes and
    # filters it); None: user-mode networking with the forwards above
    tap: str | None = None


@dataclass(frozen=True)
class BootImage:
    """The image an instance boots from, as files on this host."""

    disk_path: str | None  # root disk (qcow2 or raw); None for kernel+initrd-only images
    disk_format: str = "qcow2"
    kernel_path: str | None = None  # direct kernel boot when set
    ramdisk_path: str | None = None
    kernel_cmdline: str = ""
    # Image properties a driver may heed, e.g. hw_machine_type=hyperv-gen1, os_type=windows.
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeDisk:
    """A data volume given to a VM: a disk file on this host (from the storage backend),
    shown to the guest as a virtio disk whose serial is the volume ID without its dash, as
    EC2's NVMe volumes show theirs."""

    volume_id: str
    path: str
    format: str = "qcow2"

    @property
    def serial(self) -> str:
        return self.volume_id.replace("-", "")[:20]


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a driver needs to create one VM. `name` is the Overcast instance ID."""

    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    image: BootImage
    network: NetworkSpec
    user_data: bytes = b""
    # Where the guest reaches the metadata service (host, port) through its own channel.
    metadata_endpoint: tuple[str, int] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Files of an OpenStack config drive (path inside the ISO -> bytes), e.g.
    # "openstack/latest/meta_data.json"; None when the instance has no config drive.
    # Drivers build the ISO with overcast.metadata.configdrive.
    config_drive: dict[str, bytes] | None = None
    # data volumes attached at boot (cold attach), in the order the guest should see them
    volumes: tuple[VolumeDisk, ...] = ()


@dataclass(frozen=True)
class VmStatus:
    name: str
    state: PowerState
    reason: str = ""  # why it is stopped or crashed, when the driver knows
    addresses: tuple[str, ...] = ()  # guest IP addresses, when the hypervisor reports them


@dataclass(frozen=True)
class HostCapacity:
    vcpus: int
    memory_mib: int
    disk_gib: int


@dataclass(frozen=True)
class Capabilities:
    """What a driver can do; the cloud decides by these, never by a driver's name."""

    console_output: bool = False
    reboot: bool = True
    live_network_update: bool = False
    snapshot: bool = False  # can write an image of an instance's disk
    # guests are reached through port forwards on a loopback address of the host (user-mode
    # networking): the cloud hands each one such a public IP
    loopback_public_ips: bool = False
    # the "host" is another cloud (a burst target): placed on only after local hosts
    remote_cloud: bool = False
    # hosts of this driver are added with `overcast host add` and reached over the network
    network_host: bool = False
    # can attach and detach data volumes of this host's storage backend (attach_volume...)
    volumes: bool = False
    # can freeze and thaw a running guest in memory (pause, unpause)
    pause: bool = False
    # can save a running guest's memory to disk and quit, restored by the next start
    suspend: bool = False


USER_NETWORK = "user"
KERNEL_NETWORK = "kernel"
NETWORK_MODES = (USER_NETWORK, KERNEL_NETWORK)


def in_network_mode(capabilities: Capabilities, network_mode: str) -> Capabilities:
    """What a driver can do when its guests sit on tap devices the kernel network driver
    routes: no loopback public IPs or live port forwards (those are user-mode's)."""
    if network_mode != KERNEL_NETWORK:
        return capabilities
    return replace(capabilities, loopback_public_ips=False, live_network_update=False)


class DriverError(Exception):
    """A driver operation failed; the message is safe to show a user."""


class Driver(Protocol):
    name: str

    def capabilities(self) -> Capabilities: ...

    def capacity(self) -> HostCapacity: ...

    def create(self, spec: LaunchSpec) -> None:
        """Make the VM exist (disk, definition) and start it. No-op if it already exists."""

    def start(self, name: str) -> None:
        """Start a stopped VM. No-op if it runs."""

    def stop(self, name: str, force: bool = False, timeout: float = 60.0) -> None:
        """Stop gracefully (ACPI), going hard after `timeout` or at once when `force`."""

    def reboot(self, name: str) -> None: ...

    def pause(self, name: str) -> None:
        """Freeze a running VM in memory. No-op if paused (if pause)."""

    def unpause(self, name: str) -> None:
        """Let a paused VM run on. No-op if it runs (if pause)."""

    def suspend(self, name: str) -> None:
        """Save a running or paused VM's memory and device state to disk and end its process;
        `start` restores it where it was. No-op if suspended (if suspend)."""

    def destroy(self, name: str) -> None:
        """Remove the VM and everything it owns. No-op if it is gone."""

    def list(self) -> dict[str, VmStatus]:
        """What really exists on this host, keyed by name."""

    def console_output(self, name: str) -> bytes:
        """The tail of the VM's serial console (at most 64 KiB)."""

    def update_network(self, name: str, network: NetworkSpec) -> None:
        """Apply changed port forwards to a running VM (if live_network_update)."""

    def snapshot(self, name: str, dest: str) -> None:
        """Write the VM's disk, running or stopped, to `dest` as a standalone image (qcow2 or
        raw, no backing file) (if snapshot)."""

    def attach_volume(self, name: str, disk: VolumeDisk) -> None:
        """Give the VM this volume: at once if it runs (hot-plug), and from its next start
        on. No-op if attached (if volumes)."""

    def detach_volume(self, name: str, volume_id: str, force: bool = False) -> None:
        """Take the volume away: a running guest is asked to let go, and the call raises
        DriverError if it does not in time (the volume stays attached; `force` does not skip
        the guest's consent, which QEMU needs). No-op if not attached (if volumes)."""

    def resize_volume(self, name: str, volume_id: str, size_bytes: int) -> None:
        """Grow an attached volume of a running VM; the guest sees the new size (if
        volumes)."""

    def snapshot_volume(self, name: str, volume_id: str, dest: str) -> None:
        """Copy an attached volume of a running VM to `dest` as a standalone qcow2, live and
        crash-consistent (if volumes)."""
