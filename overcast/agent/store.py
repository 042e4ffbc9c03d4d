"""The agent's narrow window on the cloud: what this host should run, and where to report.

Every call takes and hands out plain values and frozen dataclasses (overcast.agent.views,
the drivers' specs, the service layer's jobs), never ORM rows. In `overcast up` LocalStore
calls the service layer in-process; an `overcast agent` on another host speaks the same
calls over HTTP (overcast.agent.http_store, served by overcast.api.agent_api).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.agent.views import AgentInstance, Observation, view_of
from overcast.cloud.compute import SnapshotJob, WrittenImage
from overcast.cloud.service import Cloud
from overcast.cloud.storage import VolumeJob
from overcast.db.models import Image, Instance
from overcast.drivers.base import (
    KERNEL_NETWORK,
    USER_NETWORK,
    BootImage,
    HostCapacity,
    LaunchSpec,
    NetworkSpec,
    PortForward,
    VolumeDisk,
)
from overcast.drivers.network.spec import DesiredNetwork, tap_device
from overcast.images.importer import digests
from overcast.images.probe import UnsafeImage, probe
from overcast.lifecycle import State
from overcast.metadata.documents import config_drive_files

DEFAULT_SUBNET = "172.31.0.0/16"


class AgentStore(Protocol):
    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str: ...
    def for_host(self, host_id: str) -> list[AgentInstance]: ...
    def changed_since(self, host_id: str, since: float) -> dict[str, float]: ...
    def rows(self, ids: list[str]) -> list[AgentInstance]: ...
    def known_ids(self, host_id: str) -> set[str]: ...
    def launch_spec(self, row: AgentInstance) -> LaunchSpec: ...
    def launch_specs(self, rows: list[AgentInstance]) -> dict[str, LaunchSpec | Exception]: ...
    def network(self, row: AgentInstance) -> NetworkSpec: ...
    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None: ...
    def observe_many(self, seen: list[Observation]) -> None: ...
    def reboot_done(self, instance_id: str) -> None: ...
    def network_state(self, host_id: str) -> DesiredNetwork: ...
    def wait_for_change(self, timeout: float) -> bool: ...
    def wake(self) -> None: ...
    def report_addresses(self, row: AgentInstance, addresses: tuple[str, ...]) -> None: ...
    def snapshot_requests(self) -> int: ...
    def snapshot_jobs(self, host_id: str) -> list[SnapshotJob]: ...
    def snapshot_done(self, image_id: str, error: str | None = None) -> None: ...
    def volume_jobs(self, host_id: str) -> list[VolumeJob]: ...
    def volume_report(self, kind: str, volume_id: str, path: str = "", size_bytes: int = 0,
                      reason: str = "") -> None: ...


def boot_image(image: Image | None) -> BootImage:
    if image is None:
        return BootImage(disk_path=None)
    return BootImage(disk_path=image.disk_path, disk_format=image.disk_format,
                     kernel_path=image.kernel_path, ramdisk_path=image.ramdisk_path,
                     kernel_cmdline=image.kernel_cmdline)


# A rule wider than this opens only the well-known ports inside it: user-mode networking
# forwards port by port.
MAX_FORWARDED_RANGE = 256
WELL_KNOWN_PORTS = (22, 80, 443, 3389, 8080)


def forwarded_ports(rules: list[tuple[str, int, int]]) -> list[tuple[str, int]]:
    """(protocol, port) pairs to forward for a set of ingress rules the host can reach."""
    found: set[tuple[str, int]] = set()
    for protocol, low, high in rules:
        protocols = ("tcp", "udp") if protocol in ("-1", "all") else (protocol,)
        if protocol in ("-1", "all") or low < 0:
            low, high = 0, 65535
        ports = (range(max(low, 1), high + 1) if high - low < MAX_FORWARDED_RANGE
                 else [p for p in WELL_KNOWN_PORTS if low <= p <= high])
        found.update((proto, port) for proto in protocols if proto in ("tcp", "udp")
                     for port in ports)
    return sorted(found)


def spec_per_row(rows: list[AgentInstance], build: Callable[[AgentInstance], LaunchSpec],
                 ) -> dict[str, LaunchSpec | Exception]:
    """build(row) for each row; a row whose spec cannot be built gets the error (its launch
    fails with it) and the others go on."""
    found: dict[str, LaunchSpec | Exception] = {}
    for row in rows:
        try:
            found[row.id] = build(row)
        except Exception as exc:
            found[row.id] = exc
    return found


def user_data_of(s: Session, ids: list[str]) -> dict[str, bytes]:
    """Each instance's user data (only launch specs carry it)."""
    return {i: bytes(data or b"") for i, data in s.execute(
        select(Instance.id, Instance.user_data).where(Instance.id.in_(ids))).all()}


class LocalStore:
    # guests reach the host's network through a loopback public IP with port forwards
    loopback_public_ips = True

    def __init__(self, cloud: Cloud, metadata_endpoint: tuple[str, int] | None = None,
                 network_mode: str = USER_NETWORK, underlay_ip: str | None = None) -> None:
        self.cloud = cloud
        self.instances = cloud.instances
        self.metadata_endpoint = metadata_endpoint
        self.network_mode, self.underlay_ip = network_mode, underlay_ip
        self.kernel_network = network_mode == KERNEL_NETWORK
        if self.kernel_network:  # guests sit on tap devices in their VPC's namespace
            self.loopback_public_ips = False

    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str:
        return self.cloud.hosts.heartbeat(name, driver, zone, capacity,
                                          (self.network_mode, self.underlay_ip))

    def network_state(self, host_id: str) -> DesiredNetwork:
        """What this host's network driver should build (kernel networking)."""
        return self.cloud.dataplane.host_network(host_id)

    def for_host(self, host_id: str) -> list[AgentInstance]:
        return [view_of(row) for row in self.instances.for_host(host_id)]

    def changed_since(self, host_id: str, since: float) -> dict[str, float]:
        return self.instances.changed_since(host_id, since)

    def rows(self, ids: list[str]) -> list[AgentInstance]:
        return [view_of(row) for row in self.instances.rows(ids)]

    def known_ids(self, host_id: str) -> set[str]:
        return self.instances.known_ids(host_id)

    def launch_spec(self, row: AgentInstance) -> LaunchSpec:
        found = self.launch_specs([row])[row.id]
        if isinstance(found, Exception):
            raise found
        return found

    def launch_specs(self, rows: list[AgentInstance]) -> dict[str, LaunchSpec | Exception]:
        """What each row's VM is made from, all read in one snapshot (a launch storm's rows
        share their image and their groups); a row that cannot have one gets its error."""
        ids = [r.id for r in rows]
        with self.cloud.db.read() as s:
            rules = self.cloud.security_groups.open_ports_of(ids, s)
            disks = self.cloud.volume_jobs.attached_disks(s, ids)
            user_data = user_data_of(s, ids)
            return spec_per_row(rows, lambda row: self._spec(
                s, row, rules.get(row.id, []), disks.get(row.id, ()),
                user_data.get(row.id, b"")))

    def _spec(self, s: Session, row: AgentInstance, rules: list[tuple[str, int, int]],
              volumes: tuple[VolumeDisk, ...] = (), user_data: bytes = b"") -> LaunchSpec:
        image = s.get(Image, row.image_id)
        # on kernel networking every guest gets a config drive too: its data without asking
        wants_drive = row.config_drive or bool(image and image.config_drive) or \
            self.kernel_network
        return LaunchSpec(name=row.id, vcpus=row.vcpus, memory_mib=row.memory_mib,
                          disk_gib=row.disk_gib, image=boot_image(image),
                          network=self._network(row, rules), user_data=user_data,
                          metadata_endpoint=self.metadata_endpoint,
                          config_drive=self._config_drive(row.id) if wants_drive else None,
                          volumes=volumes)

    def _config_drive(self, instance_id: str) -> dict[str, bytes] | None:
        facts = self.cloud.metadata.facts(instance_id)
        return config_drive_files(facts) if facts is not None else None

    def network(self, row: AgentInstance) -> NetworkSpec:
        """The instance's addresses and the forwards its security groups call for."""
        return self._network(row, self.cloud.security_groups.open_ports(row.id))

    def _network(self, row: AgentInstance, rules: list[tuple[str, int, int]]) -> NetworkSpec:
        public_ip, forwards = row.public_ip, cast(tuple[PortForward, ...], ())
        if self.loopback_public_ips:
            # rows made before launches allocated public IPs get theirs now
            public_ip = public_ip or self.cloud.addresses.ensure_public_ip(row.id)
            forwards = tuple(PortForward(proto, public_ip, port, port)
                             for proto, port in forwarded_ports(rules)) if public_ip else ()
        # subnet_cidr reads only the subnet ID, which the view carries
        subnet = self.cloud.vpcs.subnet_cidr(cast(Instance, row)) or DEFAULT_SUBNET
        return NetworkSpec(mac_address=row.mac_address, private_ip=row.private_ip or "",
                           subnet_cidr=subnet,
                           gateway_ip=str(ipaddress.ip_network(subnet)[1]),
                           public_ip=public_ip, forwards=forwards,
                           tap=tap_device(row.id) if self.kernel_network else None)

    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None:
        return self.instances.observe(instance_id, event, reason, expected)

    def observe_many(self, seen: list[Observation]) -> None:
        """Those without a reason in one transaction; the few with one each in its own."""
        plain = [(o.instance_id, o.event, o.expected) for o in seen
                 if o.reason is None and o.expected is not None]
        if plain:
            self.instances.observe_many(plain)
        for o in seen:
            if o.reason is not None or o.expected is None:
                self.observe(o.instance_id, o.event, o.reason, o.expected)

    def reboot_done(self, instance_id: str) -> None:
        self.instances.reboot_done(instance_id)

    def snapshot_requests(self) -> int:
        return self.cloud.snapshots.requests

    def snapshot_jobs(self, host_id: str) -> list[SnapshotJob]:
        return self.cloud.snapshots.jobs(host_id)

    def snapshot_done(self, image_id: str, error: str | None = None) -> None:
        """Record a written image (its sizes and checksums read from the file) or why it
        could not be written."""
        if error is not None:
            self.cloud.snapshots.fail(image_id, error)
            return
        with self.cloud.db.read() as s:
            path = s.scalar(select(Image.disk_path).where(Image.id == image_id))
        try:
            info = probe(Path(path or ""))  # the same checks as an image given to the cloud
        except UnsafeImage as exc:
            self.cloud.snapshots.fail(image_id, f"the image written is unusable: {exc}")
            return
        md5, sha512 = digests(Path(info.path))
        self.cloud.snapshots.finish(image_id, WrittenImage(
            os.path.getsize(info.path), info.virtual_size, info.format, md5, sha512))

    def volume_jobs(self, host_id: str) -> list[VolumeJob]:
        return self.cloud.volume_jobs.jobs(host_id)

    def volume_report(self, kind: str, volume_id: str, path: str = "", size_bytes: int = 0,
                      reason: str = "") -> None:
        """What the host did with a volume or snapshot (`volume_id` names the snapshot for
        the snapshot_* kinds; see VolumeJobs: created, create_failed, grown, deleted,
        attached, detached, held, snapshot_written, snapshot_failed, snapshot_deleted)."""
        jobs = self.cloud.volume_jobs
        if kind == "created":
            jobs.created(volume_id, path, size_bytes)
        elif kind == "grown":
            jobs.grown(volume_id, size_bytes)
        elif kind == "snapshot_written":
            jobs.snapshot_written(volume_id, path)
        elif kind in ("create_failed", "held", "snapshot_failed"):
            getattr(jobs, kind)(volume_id, reason)
        else:
            getattr(jobs, kind)(volume_id)

    def report_addresses(self, row: AgentInstance, addresses: tuple[str, ...]) -> None:
        """Addresses the hypervisor reports for a running guest; a local guest's are known."""

    def wait_for_change(self, timeout: float) -> bool:
        if self.instances.changed.wait(timeout):
            self.instances.changed.clear()
            return True
        return False

    def wake(self) -> None:
        self.instances.changed.set()
