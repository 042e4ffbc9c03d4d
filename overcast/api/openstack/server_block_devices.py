"""Nova's block_device_mapping_v2 at server create: the root disk from an image (source_type
image, destination_type local, boot_index 0), and EBS-style data volumes (destination_type
volume) that are new and blank (source_type blank), made from a snapshot (snapshot) or
existing (volume). Booting from a volume is refused: the root disk here is always the image's
disk, not a volume."""

from __future__ import annotations

from typing import Any

from overcast.api.openstack.wsgi import bad_request
from overcast.cloud.block_devices import BlockDevice

DATA_SOURCES = ("blank", "snapshot", "volume")


def _boot_index(mapping: dict[str, Any]) -> int | None:
    raw = mapping.get("boot_index")
    if raw is None or raw == "none":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"Invalid boot_index: {str(raw)[:16]}") from exc


def _size(mapping: dict[str, Any]) -> int | None:
    raw = mapping.get("volume_size")
    if raw is None:
        return None
    if isinstance(raw, bool) or not str(raw).isdigit() or int(raw) < 1:
        raise bad_request("Invalid volume_size: a positive integer (GiB) is needed.")
    return int(raw)


def _volume(mapping: dict[str, Any], device: str) -> BlockDevice:
    source, uuid = mapping.get("source_type"), mapping.get("uuid")
    if source != "blank" and not (isinstance(uuid, str) and uuid):
        raise bad_request(f"A {source} block device mapping needs the uuid of its {source}.")
    if source == "blank" and _size(mapping) is None:
        raise bad_request("A blank volume needs a volume_size.")
    if _boot_index(mapping) == 0:
        raise bad_request("Booting from a volume is not supported: the root disk is the "
                          "image's (give imageRef and a source_type image mapping).")
    keep = mapping.get("delete_on_termination")
    return BlockDevice(device, size_gib=_size(mapping),
                       snapshot_id=uuid if source == "snapshot" else None,
                       volume_id=uuid if source == "volume" else None,
                       volume_type=mapping.get("volume_type") or None,
                       # Nova keeps volumes unless told (EC2 deletes what it launched)
                       delete_on_termination=bool(keep) and str(keep).lower() != "false")


def _device_names(wanted: list[str | None]) -> list[str]:
    """Each volume's device: the one given, else the next free /dev/vdX after the root."""
    taken = {name.rstrip("0123456789")[-1] for name in wanted if name}
    free = (f"/dev/vd{c}" for c in "bcdefghijklmnopqrstuvwxyz" if c not in taken)
    return [name or next(free, "") for name in wanted]


def nova_mappings(spec: dict[str, Any]) -> tuple[str | None, tuple[BlockDevice, ...]]:
    """(the image a root mapping names, if any; the data volumes)."""
    mappings = spec.get("block_device_mapping_v2") or []
    if not isinstance(mappings, list):
        raise bad_request("block_device_mapping_v2 must be a list.")
    image_ref: str | None = None
    data: list[dict[str, Any]] = []
    for mapping in mappings:
        if not isinstance(mapping, dict):
            raise bad_request("Each block device mapping must be an object.")
        source, dest = mapping.get("source_type"), mapping.get("destination_type", "local")
        if dest == "volume" and source in DATA_SOURCES:
            data.append(mapping)
        elif source == "image" and dest == "local" and _boot_index(mapping) in (0, None):
            image_ref = mapping.get("uuid") or image_ref
        else:
            raise bad_request(f"Block device mapping source_type {source} with "
                              f"destination_type {dest} is not supported: the root disk "
                              "comes from an image (local), data disks are volumes.")
    names = _device_names([m.get("device_name") or None for m in data])
    return image_ref, tuple(_volume(m, name) for m, name in zip(data, names, strict=True))
