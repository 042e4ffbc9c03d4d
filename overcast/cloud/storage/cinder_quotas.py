"""Cinder's quota sets and absolute limits over the projects' volume quotas (a count and a
total of GiB; snapshots and backups are not limited here)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from overcast.cloud.storage.quotas import VolumeLimits, volume_limits
from overcast.cloud.storage.snapshot_lookup import SHOWN
from overcast.config import Settings
from overcast.db import Database
from overcast.db.models import Project
from overcast.db.models_volumes import Volume, VolumeSnapshot
from overcast.errors import NotFound, invalid
from overcast.lifecycle import VolumeState


@dataclass(frozen=True)
class VolumeUsage:
    limits: VolumeLimits
    volumes: int
    gib: int
    snapshots: int


class CinderQuotas:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings

    def defaults(self) -> VolumeLimits:
        return VolumeLimits(self.settings.default_max_volumes,
                            self.settings.default_max_volume_gib)

    def usage(self, project_id: str) -> VolumeUsage:
        with self.db.read() as s:
            project = s.get(Project, project_id)
            if project is None:
                raise NotFound("ProjectNotFound", f"Project {project_id} could not be found.")
            count, gib = s.execute(
                select(func.count(), func.coalesce(func.sum(Volume.size_gib), 0)).where(
                    Volume.project_id == project_id, Volume.state != VolumeState.DELETED)).one()
            snapshots = s.scalar(select(func.count()).select_from(VolumeSnapshot).where(
                VolumeSnapshot.project_id == project_id, VolumeSnapshot.state.in_(SHOWN)))
            return VolumeUsage(volume_limits(project, self.settings), int(count), int(gib),
                               int(snapshots or 0))

    def set(self, project_id: str, volumes: int | None, gib: int | None) -> VolumeLimits:
        """An admin's change of a project's limits (-1: Cinder's unlimited, kept as a very
        large number)."""
        for value in (volumes, gib):
            if value is not None and value < -1:
                raise invalid(f"Quota limit {value} must be -1 or greater.")
        with self.db.session() as s:
            project = s.get(Project, project_id)
            if project is None:
                raise NotFound("ProjectNotFound", f"Project {project_id} could not be found.")
            if volumes is not None:
                project.max_volumes = UNLIMITED if volumes == -1 else volumes
            if gib is not None:
                project.max_volume_gib = UNLIMITED if gib == -1 else gib
            return volume_limits(project, self.settings)

    def reset(self, project_id: str) -> None:
        """Back to the cloud's defaults."""
        with self.db.session() as s:
            project = s.get(Project, project_id)
            if project is None:
                raise NotFound("ProjectNotFound", f"Project {project_id} could not be found.")
            project.max_volumes = project.max_volume_gib = None


UNLIMITED = 2**31 - 1
