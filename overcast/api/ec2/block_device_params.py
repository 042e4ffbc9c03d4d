"""EC2's BlockDeviceMappings parameter (RunInstances, RegisterImage) into the service layer's
BlockDevice, and back into the shape DescribeImages answers."""

from __future__ import annotations

from typing import Any

from overcast.cloud.block_devices import BlockDevice
from overcast.errors import InvalidParameter


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter("InvalidParameterValue",
                               f"Value ({value}) for parameter {name} is invalid.") from exc


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, bool) else str(value).lower() == "true"


def block_devices(raw: list[dict[str, Any]] | None) -> tuple[BlockDevice, ...]:
    """The EBS and NoDevice mappings; instance-store ones (VirtualName) are left out, as EC2
    leaves them out for instance types without instance store (every type here)."""
    found = []
    for mapping in raw or []:
        device = str(mapping.get("DeviceName") or "")
        if mapping.get("NoDevice") is not None:
            found.append(BlockDevice(device, no_device=True))
            continue
        ebs = mapping.get("Ebs")
        if ebs is None:
            if mapping.get("VirtualName"):
                continue
            raise InvalidParameter("InvalidBlockDeviceMapping", f"The mapping of {device} "
                                   "needs Ebs, NoDevice or VirtualName.")
        found.append(BlockDevice(
            device, size_gib=_int(ebs.get("VolumeSize"), "VolumeSize"),
            snapshot_id=ebs.get("SnapshotId") or None,
            volume_type=ebs.get("VolumeType") or None,
            iops=_int(ebs.get("Iops"), "Iops"),
            throughput=_int(ebs.get("Throughput"), "Throughput"),
            delete_on_termination=_bool(ebs.get("DeleteOnTermination")),
            encrypted=bool(_bool(ebs.get("Encrypted"))),
            no_device=False))
        if ebs.get("KmsKeyId"):
            raise InvalidParameter("InvalidParameterValue", "Encrypted volumes are not "
                                   "offered by this cloud: KmsKeyId cannot be given.")
    return tuple(found)


def image_mapping(device: BlockDevice) -> dict[str, Any]:
    """One of an image's data mappings as DescribeImages shows it."""
    ebs = {"SnapshotId": device.snapshot_id, "VolumeSize": device.size_gib,
           "DeleteOnTermination": device.delete_on_termination is not False,
           "VolumeType": device.volume_type or "gp2", "Encrypted": False}
    if device.iops is not None:
        ebs["Iops"] = device.iops
    if device.throughput is not None:
        ebs["Throughput"] = device.throughput
    return {"DeviceName": device.device, "Ebs": ebs}
