"""The agent's narrow window on the cloud: what this host should run, and where to report.

In `overcast up` it calls the service layer in-process; a remote agent would implement the
same methods over the network.
"""

from __future__ import annotations

from typing import Protocol

from overcast.cloud.service import Cloud
from overcast.db.models import Image, Instance
from overcast.drivers.base import BootImage, HostCapacity, LaunchSpec, NetworkSpec
from overcast.lifecycle import State


class AgentStore(Protocol):
    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str: ...
    def for_host(self, host_id: str) -> list[Instance]: ...
    def known_ids(self, host_id: str) -> set[str]: ...
    def launch_spec(self, row: Instance) -> LaunchSpec: ...
    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None: ...
    def reboot_done(self, instance_id: str) -> None: ...
    def wait_for_change(self, timeout: float) -> None: ...
    def wake(self) -> None: ...


def boot_image(image: Image | None) -> BootImage:
    if image is None:
        return BootImage(disk_path=None)
    return BootImage(disk_path=image.disk_path, disk_format=image.disk_format,
                     kernel_path=image.kernel_path, ramdisk_path=image.ramdisk_path,
                     kernel_cmdline=image.kernel_cmdline)


class LocalStore:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.instances = cloud.instances

    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str:
        return self.cloud.hosts.heartbeat(name, driver, zone, capacity)

    def for_host(self, host_id: str) -> list[Instance]:
        return self.instances.for_host(host_id)

    def known_ids(self, host_id: str) -> set[str]:
        return self.instances.known_ids(host_id)

    def launch_spec(self, row: Instance) -> LaunchSpec:
        with self.cloud.db.session() as s:
            image = s.get(Image, row.image_id)
        network = NetworkSpec(mac_address=row.mac_address, private_ip=row.private_ip or "",
                              subnet_cidr="172.31.0.0/16", gateway_ip="172.31.0.1",
                              public_ip=row.public_ip)
        return LaunchSpec(name=row.id, vcpus=row.vcpus, memory_mib=row.memory_mib,
                          disk_gib=row.disk_gib, image=boot_image(image), network=network,
                          user_data=row.user_data or b"")

    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None:
        return self.instances.observe(instance_id, event, reason, expected)

    def reboot_done(self, instance_id: str) -> None:
        self.instances.reboot_done(instance_id)

    def wait_for_change(self, timeout: float) -> None:
        if self.instances.changed.wait(timeout):
            self.instances.changed.clear()

    def wake(self) -> None:
        self.instances.changed.set()
