"""Instance types, the region and its availability zones."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.compute.records import InstanceTypeRecord
from overcast.db import Database
from overcast.db.models import Host, InstanceType
from overcast.drivers.registry import HYPERVISOR_DRIVERS
from overcast.errors import Conflict, NotFound, invalid

GIB = 1024
# name: (vCPUs, memory MiB) as AWS publishes them; every type gets an 8 GiB root disk.
BUILTIN_TYPES: dict[str, tuple[int, int]] = {
    # current burstable and general-purpose families
    "t2.nano": (1, GIB // 2), "t2.micro": (1, GIB), "t2.small": (1, 2 * GIB),
    "t2.medium": (2, 4 * GIB), "t2.large": (2, 8 * GIB), "t2.xlarge": (4, 16 * GIB),
    "t2.2xlarge": (8, 32 * GIB),
    "t3.nano": (2, GIB // 2), "t3.micro": (2, GIB), "t3.small": (2, 2 * GIB),
    "t3.medium": (2, 4 * GIB), "t3.large": (2, 8 * GIB), "t3.xlarge": (4, 16 * GIB),
    "t3.2xlarge": (8, 32 * GIB),
    "t3a.nano": (2, GIB // 2), "t3a.micro": (2, GIB), "t3a.small": (2, 2 * GIB),
    "t3a.medium": (2, 4 * GIB), "t3a.large": (2, 8 * GIB), "t3a.xlarge": (4, 16 * GIB),
    "t3a.2xlarge": (8, 32 * GIB),
    "m5.large": (2, 8 * GIB), "m5.xlarge": (4, 16 * GIB), "m5.2xlarge": (8, 32 * GIB),
    "m5.4xlarge": (16, 64 * GIB), "m5.8xlarge": (32, 128 * GIB),
    "m5.12xlarge": (48, 192 * GIB), "m5.16xlarge": (64, 256 * GIB),
    "m5.24xlarge": (96, 384 * GIB),
    "c5.large": (2, 4 * GIB), "c5.xlarge": (4, 8 * GIB), "c5.2xlarge": (8, 16 * GIB),
    "c5.4xlarge": (16, 32 * GIB), "c5.9xlarge": (36, 72 * GIB),
    "c5.12xlarge": (48, 96 * GIB), "c5.18xlarge": (72, 144 * GIB),
    "c5.24xlarge": (96, 192 * GIB),
    "r5.large": (2, 16 * GIB), "r5.xlarge": (4, 32 * GIB), "r5.2xlarge": (8, 64 * GIB),
    "r5.4xlarge": (16, 128 * GIB), "r5.8xlarge": (32, 256 * GIB),
    "r5.12xlarge": (48, 384 * GIB), "r5.16xlarge": (64, 512 * GIB),
    "r5.24xlarge": (96, 768 * GIB),
    # previous generations that older recipes still name (memory rounded to MiB; m1.* are
    # Nova's classic flavors, seeded by migration 0101 with DevStack's sizes)
    "t1.micro": (1, 613), "m2.xlarge": (2, 17510),
    "m3.medium": (1, 3840), "m3.large": (2, 7680), "m3.xlarge": (4, 15360),
    "m3.2xlarge": (8, 30720), "m4.large": (2, 8 * GIB), "m4.xlarge": (4, 16 * GIB),
    "m4.2xlarge": (8, 32 * GIB), "c1.medium": (2, 1740), "c1.xlarge": (8, 7168),
    "c3.large": (2, 3840), "c3.xlarge": (4, 7680), "c4.large": (2, 3840),
    "c4.xlarge": (4, 7680), "r3.large": (2, 15616), "r4.large": (2, 15616),
}
DEFAULT_DISK_GIB = 8
# EC2's family.size names, and the free names Nova flavors have (a name is also the flavor's
# ID in URLs: no spaces or slashes)
_TYPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOST_DRIVERS = HYPERVISOR_DRIVERS  # what an instance type may ask for


class Catalog:
    def __init__(self, db: Database, region: str) -> None:
        self.db = db
        self.region = region

    def seed(self) -> None:
        with self.db.session() as s:
            have = set(s.scalars(select(InstanceType.name)))
            for name, (vcpus, memory) in BUILTIN_TYPES.items():
                if name not in have:
                    s.add(InstanceType(name=name, vcpus=vcpus, memory_mib=memory,
                                       disk_gib=DEFAULT_DISK_GIB, builtin=True))

    def instance_types(self) -> dict[str, InstanceTypeRecord]:
        """Read every time: admins add types from another process."""
        with self.db.read() as s:
            return {t.name: InstanceTypeRecord.of(t) for t in s.scalars(select(InstanceType))}

    def instance_type(self, name: str, s: Session | None = None) -> InstanceTypeRecord:
        if s is None:
            with self.db.read() as s:
                return self.instance_type(name, s)
        found = s.get(InstanceType, name)
        if found is None:
            raise invalid(f"The instance type '{name}' is not supported in this region.")
        return InstanceTypeRecord.of(found)

    def create_instance_type(self, name: str, vcpus: int, memory_mib: int,
                             disk_gib: int, driver: str | None = None) -> InstanceTypeRecord:
        """An admin's instance type; with `driver`, only hosts of that driver run it."""
        if not _TYPE_NAME.match(name):
            raise invalid(f"Invalid instance type name '{name}': use up to 64 letters, digits, "
                          "'.', '-' and '_' (e.g. x1.big or gpu-large).")
        if vcpus < 1 or memory_mib < 64 or disk_gib < 1:
            raise invalid("An instance type needs at least 1 vCPU, 64 MiB and 1 GiB of disk.")
        if driver is not None and driver not in HOST_DRIVERS:
            raise invalid(f"Unknown driver '{driver}' (choose from {', '.join(HOST_DRIVERS)}).")
        with self.db.session() as s:
            if s.get(InstanceType, name):
                raise Conflict("InvalidParameterValue", f"Instance type '{name}' exists.")
            itype = InstanceType(name=name, vcpus=vcpus, memory_mib=memory_mib,
                                 disk_gib=disk_gib, builtin=False, driver=driver)
            s.add(itype)
            return InstanceTypeRecord.of(itype)

    def delete_instance_type(self, name: str) -> None:
        with self.db.session() as s:
            itype = s.get(InstanceType, name)
            if itype is None:
                raise NotFound("InvalidParameterValue", f"No instance type '{name}'.")
            s.delete(itype)

    def availability_zones(self, s: Session | None = None) -> list[str]:
        if s is None:
            with self.db.read() as s:
                return self.availability_zones(s)
        zones = sorted(set(s.scalars(select(Host.availability_zone))))
        return zones or [self.default_zone]

    @property
    def default_zone(self) -> str:
        return f"{self.region}a"
