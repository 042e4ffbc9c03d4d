"""Burst targets: remote EC2-compatible clouds that take the instances local hosts cannot.

An admin adds a target (its secret sealed with the same SecretBox as access keys), says which
projects may use it and which remote AMI holds each local image. Each target is a Host row
in its own availability zone, so a burst instance is an ordinary instance whose host is the
target; the burst agent (overcast.agent.burst) makes the remote side match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.cloud.compute.records import InstanceTypeRecord
from overcast.db import Database, utcnow
from overcast.db.models import Host, Image, Instance, InstanceType, Project
from overcast.db.models_burst import (
    BurstCloudId,
    BurstImage,
    BurstInstanceType,
    BurstProject,
    BurstTarget,
)
from overcast.drivers.base import HostCapacity
from overcast.errors import Conflict, NotFound, invalid
from overcast.identity.secrets import SecretBox
from overcast.ids import new_hex
from overcast.lifecycle import HOLDS_CPU, State
from overcast.scheduler import HostSnapshot

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_AMI = re.compile(r"^ami-[0-9a-zA-Z]{1,32}$")
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
UNLIMITED = 1 << 30


@dataclass(frozen=True)
class NewTarget:
    name: str
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    max_instances: int | None = None
    max_vcpus: int | None = None
    zone: str | None = None


@dataclass(frozen=True)
class TargetUsage:
    target: BurstTarget
    instances: int
    vcpus: int
    projects: list[str]
    images: dict[str, str]
    types: dict[str, str]


def _check(new: NewTarget) -> None:
    if not _NAME.match(new.name):
        raise invalid(f"Invalid burst target name '{new.name}': use a-z, 0-9 and '-'.")
    if not re.match(r"^https?://[^\s/]+", new.endpoint):
        raise invalid(f"Invalid endpoint '{new.endpoint}': give an http(s) URL.")
    if not new.region or not new.access_key_id or not new.secret_access_key:
        raise invalid("A burst target needs a region, an access key and a secret key.")
    for label, value in (("max-instances", new.max_instances), ("max-vcpus", new.max_vcpus)):
        if value is not None and value < 0:
            raise invalid(f"{label} cannot be negative.")


KEEP = object()  # TargetChange: leave this setting as it is


@dataclass(frozen=True)
class TargetChange:
    """What `overcast burst set` changes; KEEP leaves a limit, None lifts it."""

    max_instances: int | None | object = KEEP
    max_vcpus: int | None | object = KEEP
    access_key_id: str | None = None
    secret_access_key: str | None = None


class Burst:
    def __init__(self, db: Database, secrets: SecretBox, region: str) -> None:
        self.db, self.secrets, self.region = db, secrets, region

    # the cloud's own ID ------------------------------------------------------------------
    def cloud_id(self) -> str:
        """Made once per cloud; remote instances carry it in a tag."""
        with self.db.session() as s:
            found = s.scalar(select(BurstCloudId.id).order_by(BurstCloudId.created_at))
            if found:
                return found
        try:
            with self.db.session() as s:
                s.add(BurstCloudId(id=f"oc-{new_hex(24)}", created_at=utcnow()))
        except IntegrityError:
            pass
        with self.db.session() as s:
            return str(s.scalar(select(BurstCloudId.id).order_by(BurstCloudId.created_at)))

    # admin -------------------------------------------------------------------------------
    def add(self, new: NewTarget) -> BurstTarget:
        _check(new)
        zone = new.zone or f"{self.region}-burst-{new.name}"
        now = utcnow()
        with self.db.session() as s:
            if s.scalar(select(BurstTarget).where(BurstTarget.name == new.name)):
                raise Conflict("InvalidParameterValue", f"Burst target '{new.name}' exists.")
            if s.scalar(select(Host.id).where(Host.availability_zone == zone)):
                raise Conflict("InvalidParameterValue", f"Zone '{zone}' is in use.")
            host = Host(id=new_hex(), name=f"burst-{new.name}", driver="ec2",
                        availability_zone=zone, vcpus=new.max_vcpus or UNLIMITED,
                        memory_mib=UNLIMITED, disk_gib=UNLIMITED, enabled=True,
                        last_seen=NEVER)
            s.add(host)
            s.flush()
            target = BurstTarget(
                id=new_hex(), name=new.name, endpoint=new.endpoint.rstrip("/"),
                region=new.region, access_key_id=new.access_key_id,
                secret_encrypted=self.secrets.seal(new.secret_access_key),
                max_instances=new.max_instances, max_vcpus=new.max_vcpus, zone=zone,
                host_id=host.id, created_at=now, last_error="", error_count=0)
            s.add(target)
        return target

    def _target(self, s: Session, name: str) -> BurstTarget:
        target = s.scalar(select(BurstTarget).where(BurstTarget.name == name))
        if target is None:
            raise NotFound("InvalidParameterValue", f"No burst target named '{name}'.")
        return target

    def get(self, name: str) -> BurstTarget:
        with self.db.session() as s:
            return self._target(s, name)

    def targets(self) -> list[BurstTarget]:
        with self.db.session() as s:
            return list(s.scalars(select(BurstTarget).order_by(BurstTarget.name)))

    def secret(self, target: BurstTarget) -> str:
        return self.secrets.open(target.secret_encrypted)

    def remove(self, name: str) -> None:
        """Refused while instances (running or stopped) are there."""
        with self.db.session() as s:
            target = self._target(s, name)
            live = s.scalar(select(func.count()).select_from(Instance).where(
                Instance.host_id == target.host_id, Instance.state != State.TERMINATED))
            if live:
                raise Conflict("DependencyViolation",
                               f"Burst target '{name}' still has {live} instance(s); "
                               "terminate them first.")
            s.execute(update(Instance).where(Instance.host_id == target.host_id)
                      .values(host_id=None))
            for table in (BurstProject, BurstImage, BurstInstanceType):
                s.execute(delete(table).where(table.target_id == target.id))
            s.delete(target)
            s.flush()
            s.execute(delete(Host).where(Host.id == target.host_id))

    def update(self, name: str, change: TargetChange) -> BurstTarget:
        """New limits or credentials (a rotated key) for a target; its running agent picks
        them up within seconds. Limits count from now: instances already there stay."""
        for label, value in (("max-instances", change.max_instances),
                             ("max-vcpus", change.max_vcpus)):
            if isinstance(value, int) and value < 0:
                raise invalid(f"{label} cannot be negative.")
        if (change.access_key_id is None) != (change.secret_access_key is None):
            raise invalid("Give a new access key and its secret key together.")
        with self.db.session() as s:
            target = self._target(s, name)
            if change.max_instances is not KEEP:
                target.max_instances = change.max_instances  # type: ignore[assignment]
            if change.max_vcpus is not KEEP:
                target.max_vcpus = change.max_vcpus  # type: ignore[assignment]
                host = s.get(Host, target.host_id)
                if host is not None:
                    host.vcpus = change.max_vcpus or UNLIMITED  # type: ignore[assignment]
            if change.access_key_id and change.secret_access_key:
                target.access_key_id = change.access_key_id
                target.secret_encrypted = self.secrets.seal(change.secret_access_key)
            return target

    def allow(self, name: str, project_name: str, allowed: bool = True) -> None:
        with self.db.session() as s:
            target = self._target(s, name)
            project = s.scalar(select(Project).where(Project.name == project_name))
            if project is None:
                raise NotFound("InvalidParameterValue", f"No project named '{project_name}'.")
            row = s.get(BurstProject, (target.id, project.id))
            if allowed and row is None:
                s.add(BurstProject(target_id=target.id, project_id=project.id))
            elif not allowed and row is not None:
                s.delete(row)

    def map_image(self, name: str, local_image_id: str, remote_image_id: str) -> None:
        if not _AMI.match(remote_image_id):
            raise invalid(f"Invalid remote image ID '{remote_image_id}'.")
        with self.db.session() as s:
            target = self._target(s, name)
            if s.get(Image, local_image_id) is None:
                raise NotFound("InvalidAMIID.NotFound", f"No local image '{local_image_id}'.")
            s.merge(BurstImage(target_id=target.id, local_image_id=local_image_id,
                               remote_image_id=remote_image_id))

    def map_type(self, name: str, local_type: str, remote_type: str) -> None:
        with self.db.session() as s:
            target = self._target(s, name)
            if s.get(InstanceType, local_type) is None:
                raise NotFound("InvalidParameterValue", f"No instance type '{local_type}'.")
            s.merge(BurstInstanceType(target_id=target.id, local_type=local_type,
                                      remote_type=remote_type))

    def usage(self) -> list[TargetUsage]:
        with self.db.session() as s:
            found = []
            for target in s.scalars(select(BurstTarget).order_by(BurstTarget.name)):
                count, vcpus = self._used(s, target)
                projects = sorted(s.scalars(select(Project.name).join(
                    BurstProject, BurstProject.project_id == Project.id).where(
                    BurstProject.target_id == target.id)))
                images = {m.local_image_id: m.remote_image_id for m in s.scalars(
                    select(BurstImage).where(BurstImage.target_id == target.id))}
                types = {m.local_type: m.remote_type for m in s.scalars(
                    select(BurstInstanceType).where(BurstInstanceType.target_id == target.id))}
                found.append(TargetUsage(target, count, vcpus, projects, images, types))
        return found

    def placed(self, limit: int = 20) -> dict[str, list[tuple[str, str, str, str]]]:
        """What runs on each target, newest first, at most `limit` each: target ID ->
        (instance ID, project name, state, instance type), for the cloud admin's overview."""
        found: dict[str, list[tuple[str, str, str, str]]] = {}
        with self.db.read() as s:
            for target in s.scalars(select(BurstTarget)):
                rows = s.execute(select(Instance.id, Project.name, Instance.state,
                                        Instance.instance_type)
                                 .join(Project, Project.id == Instance.project_id)
                                 .where(Instance.host_id == target.host_id,
                                        Instance.state != State.TERMINATED)
                                 .order_by(Instance.launch_time.desc()).limit(limit))
                found[target.id] = [(i, p, str(st), t) for i, p, st, t in rows]
        return found

    # placement -----------------------------------------------------------------------------
    @staticmethod
    def _used(s: Session, target: BurstTarget) -> tuple[int, int]:
        """(instances that exist there, vCPUs they hold)."""
        rows = list(s.execute(select(Instance.state, Instance.vcpus).where(
            Instance.host_id == target.host_id, Instance.state != State.TERMINATED)))
        return len(rows), sum(v for state, v in rows if state in HOLDS_CPU)

    def hidden_zones(self, project_id: str) -> set[str]:
        """The zones of targets this project may not use: it is not told they exist."""
        with self.db.session() as s:
            allowed = set(s.scalars(select(BurstProject.target_id).where(
                BurstProject.project_id == project_id)))
            return {t.zone for t in s.scalars(select(BurstTarget)) if t.id not in allowed}

    def place(self, s: Session, project_id: str, image_id: str, itype: InstanceTypeRecord,
              count: int, zone: str | None) -> list[HostSnapshot]:
        """Up to `count` places on the targets this project may use that hold the image and
        have room, those that answer their agent first, then by name; one entry per
        instance."""
        query = select(BurstTarget).join(BurstProject, BurstProject.target_id == BurstTarget.id)\
            .where(BurstProject.project_id == project_id).order_by(BurstTarget.name)
        targets = sorted(s.scalars(query), key=lambda t: t.error_count > 0)
        if zone is not None:
            targets = [t for t in targets if t.zone == zone]
            if not targets and zone in {t.zone for t in s.scalars(select(BurstTarget))}:
                raise invalid(f"Invalid availability zone: [{zone}]")
        placed: list[HostSnapshot] = []
        for target in targets:
            if len(placed) >= count or s.get(BurstImage, (target.id, image_id)) is None:
                continue
            instances, vcpus = self._used(s, target)
            room = count - len(placed)
            if target.max_instances is not None:
                room = min(room, target.max_instances - instances)
            if target.max_vcpus is not None:
                room = min(room, (target.max_vcpus - vcpus) // max(itype.vcpus, 1))
            snapshot = HostSnapshot(target.host_id, f"burst-{target.name}", target.zone,
                                    target.max_vcpus or UNLIMITED, UNLIMITED, UNLIMITED,
                                    driver="ec2")
            placed.extend([snapshot] * max(room, 0))
        return placed

    # the burst agent's side ------------------------------------------------------------------
    def heartbeat(self, target_id: str, capacity: HostCapacity) -> str:
        """Refresh the target's Host row (never re-make it: a removed target stays gone)."""
        with self.db.session() as s:
            target = s.get(BurstTarget, target_id)
            if target is None:
                return ""
            s.execute(update(Host).where(Host.id == target.host_id).values(
                vcpus=capacity.vcpus, memory_mib=capacity.memory_mib,
                disk_gib=capacity.disk_gib, last_seen=utcnow()))
            return target.host_id

    def record_contact(self, target_id: str, error: str | None) -> None:
        with self.db.session() as s:
            target = s.get(BurstTarget, target_id)
            if target is None:
                return
            if error is None:
                target.last_contact, target.error_count = utcnow(), 0
            else:
                target.last_error, target.last_error_at = error[:2000], utcnow()
                target.error_count += 1

    def remote_image(self, target_id: str, image_id: str) -> str | None:
        with self.db.session() as s:
            found = s.get(BurstImage, (target_id, image_id))
            return found.remote_image_id if found else None

    def remote_type(self, target_id: str, instance_type: str) -> str:
        with self.db.session() as s:
            found = s.get(BurstInstanceType, (target_id, instance_type))
            return found.remote_type if found else instance_type
