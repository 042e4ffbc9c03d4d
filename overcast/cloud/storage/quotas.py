"""Per-project volume quotas: how many volumes a project holds (in any state but deleted,
so volumes being made count) and their sizes together, in GiB."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.config import Settings
from overcast.db.models import Project
from overcast.db.models_volumes import Volume
from overcast.errors import QuotaExceeded
from overcast.identity.records import ProjectRecord
from overcast.lifecycle import VolumeState

CODE = "VolumeLimitExceeded"  # EC2's


@dataclass(frozen=True)
class VolumeLimits:
    volumes: int
    gib: int


def volume_limits(project: Project | ProjectRecord, settings: Settings) -> VolumeLimits:
    """A project's own limits, else the cloud's defaults."""
    return VolumeLimits(
        settings.default_max_volumes if project.max_volumes is None else project.max_volumes,
        settings.default_max_volume_gib if project.max_volume_gib is None
        else project.max_volume_gib)


class VolumeQuotas:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @staticmethod
    def _used(s: Session, project_id: str, besides: str) -> tuple[int, int]:
        count, gib = s.execute(select(func.count(), func.coalesce(func.sum(Volume.size_gib), 0))
                               .where(Volume.project_id == project_id,
                                      Volume.state != VolumeState.DELETED,
                                      Volume.id != besides)).one()
        return int(count), int(gib)

    def _locked_limits(self, s: Session, project_id: str) -> VolumeLimits:
        project = s.scalar(select(Project).where(Project.id == project_id)
                           .with_for_update())  # one change of a project's volumes at a time
        return VolumeLimits(0, 0) if project is None else volume_limits(project, self.settings)

    def check_new(self, s: Session, project_id: str, size_gib: int) -> None:
        """Raise unless the project may add one more volume of `size_gib`."""
        limits = self._locked_limits(s, project_id)
        count, used = self._used(s, project_id, "")
        if count + 1 > limits.volumes:
            raise QuotaExceeded(CODE, f"You have reached the limit of {limits.volumes} "
                                f"volumes for this project ({count} exist).")
        if used + size_gib > limits.gib:
            raise QuotaExceeded(CODE, _over(limits, used, size_gib))

    def check_many(self, s: Session, project_id: str, count: int, size_gib: int) -> None:
        """Raise unless the project may add `count` volumes of `size_gib` together (the
        volumes of one launch's block-device mappings)."""
        if count == 0:
            return
        limits = self._locked_limits(s, project_id)
        have, used = self._used(s, project_id, "")
        if have + count > limits.volumes:
            raise QuotaExceeded(CODE, f"You have reached the limit of {limits.volumes} "
                                f"volumes for this project ({have} exist, {count} more were "
                                "asked for).")
        if used + size_gib > limits.gib:
            raise QuotaExceeded(CODE, _over(limits, used, size_gib))

    def check_size(self, s: Session, project_id: str, volume_id: str, size_gib: int) -> None:
        """Raise unless `volume_id` may grow to `size_gib` beside the project's others."""
        limits = self._locked_limits(s, project_id)
        _count, used = self._used(s, project_id, volume_id)
        if used + size_gib > limits.gib:
            raise QuotaExceeded(CODE, _over(limits, used, size_gib))


def _over(limits: VolumeLimits, used: int, size_gib: int) -> str:
    return (f"The volume storage quota of {limits.gib} GiB would be exceeded: {used} GiB are "
            f"used, {size_gib} GiB more were asked for "
            f"({max(limits.gib - used, 0)} GiB remain).")
