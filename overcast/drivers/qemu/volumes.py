"""Data volumes of a QEMU guest: virtio-blk disks over qcow2 block nodes, on the command
line at start (cold attach) or plugged into a running guest over QMP (hot-plug: blockdev-add,
device_add; unplug: device_del, the guest's DEVICE_DELETED, blockdev-del)."""

from __future__ import annotations

from typing import Any

from overcast.drivers.base import DriverError, VolumeDisk
from overcast.drivers.qemu import qmp

UNPLUG_TIMEOUT = 30.0  # how long a guest may take to let go of a disk
# Volumes on the command line sit on fixed PCI slots after the boot devices, so the guest
# finds its root disk first (vda) and the volumes after it in attach order.
FIRST_SLOT = 0x10
MAX_VOLUMES = 16
ALREADY_UNPLUGGING = "already in the process of unplug"


def node_name(volume_id: str) -> str:
    return volume_id  # vol-...: a letter first, then letters, digits and '-'


def device_id(volume_id: str) -> str:
    return f"disk-{volume_id}"


def _escaped(value: str) -> str:
    return value.replace(",", ",,")  # QEMU's option syntax


def argv(volumes: tuple[VolumeDisk, ...]) -> list[str]:
    """The -blockdev/-device pairs of the volumes a VM starts with."""
    if len(volumes) > MAX_VOLUMES:
        raise DriverError(f"at most {MAX_VOLUMES} volumes can be attached to one instance")
    found: list[str] = []
    for slot, disk in enumerate(volumes, start=FIRST_SLOT):
        node = node_name(disk.volume_id)
        found += ["-blockdev", f"driver={disk.format},node-name={node},file.driver=file,"
                  f"file.filename={_escaped(disk.path)}",
                  "-device", f"virtio-blk-pci,drive={node},id={device_id(disk.volume_id)},"
                  f"serial={disk.serial},addr={slot:#x}"]
    return found


def _devices(sock: str) -> set[str]:
    return {d["name"] for d in qmp.execute(sock, "qom-list", {"path": "/machine/peripheral"})}


def _nodes(sock: str) -> set[str]:
    return {n.get("node-name", "") for n in qmp.execute(sock, "query-named-block-nodes",
                                                         {"flat": True})}


def plug(sock: str, disk: VolumeDisk) -> None:
    """Hot-plug the volume; no-op when it is plugged. A failed device_add takes its block node
    away again: no half-attached disk."""
    node, device = node_name(disk.volume_id), device_id(disk.volume_id)
    try:
        if device in _devices(sock):
            return
        if node not in _nodes(sock):
            qmp.execute(sock, "blockdev-add", {
                "driver": disk.format, "node-name": node,
                "file": {"driver": "file", "filename": disk.path}})
        args: dict[str, Any] = {"driver": "virtio-blk-pci", "id": device, "drive": node,
                                "serial": disk.serial}
        try:
            qmp.execute(sock, "device_add", args)
        except qmp.QmpFailure:
            qmp.execute(sock, "blockdev-del", {"node-name": node})
            raise
    except qmp.QmpFailure as exc:
        raise DriverError(f"attaching {disk.volume_id} failed: {exc}") from exc


def unplug(sock: str, volume_id: str, timeout: float = UNPLUG_TIMEOUT) -> None:
    """Ask the guest to let go of the volume and wait until it has; then drop its node."""
    node, device = node_name(volume_id), device_id(volume_id)
    try:
        if device in _devices(sock):
            gone = qmp.request_and_wait(sock, "device_del", {"id": device}, "DEVICE_DELETED",
                                        lambda data: data.get("device") == device, timeout,
                                        pending=ALREADY_UNPLUGGING)
            if not gone:
                raise DriverError(f"the guest did not let go of {volume_id} within "
                                  f"{timeout:.0f}s (is it mounted?)")
        if node in _nodes(sock):
            qmp.execute(sock, "blockdev-del", {"node-name": node})
    except qmp.QmpFailure as exc:
        raise DriverError(f"detaching {volume_id} failed: {exc}") from exc


def resize(sock: str, volume_id: str, size_bytes: int) -> None:
    try:
        qmp.execute(sock, "block_resize", {"node-name": node_name(volume_id),
                                           "size": size_bytes})
    except qmp.QmpFailure as exc:
        raise DriverError(f"growing {volume_id} failed: {exc}") from exc


def backup(sock: str, volume_id: str, dest: str, timeout: float) -> None:
    """The volume as it is now, copied to a standalone qcow2 at `dest` by a block job while
    the guest runs on."""
    args = {"device": node_name(volume_id), "target": dest, "sync": "full", "format": "qcow2"}
    try:
        qmp.run_job(sock, "drive-backup", args, f"backup-{volume_id}", timeout)
    except qmp.QmpFailure as exc:
        raise DriverError(f"the snapshot of {volume_id} could not be written: {exc}") from exc
