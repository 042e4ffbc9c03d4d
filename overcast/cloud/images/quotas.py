"""Per-project image quotas: how many images a project holds (in any state but deleted, so
images being made or uploaded count) and their sizes together (an upload's size counts as it
grows, so parallel uploads see each other)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from overcast.config import Settings
from overcast.db.models import Image, Project
from overcast.errors import QuotaExceeded
from overcast.identity.records import ProjectRecord

GIB = 1024**3
CODE = "ResourceLimitExceeded"  # EC2's; the Image API answers it with 413
_LOCKED = select(Project).where(Project.id == bindparam("project")).with_for_update()
_USAGE = select(func.count(), func.coalesce(func.sum(Image.size_bytes), 0)).where(
    Image.project_id == bindparam("project"), Image.deregistered_at.is_(None),
    Image.id != bindparam("besides"))


@dataclass(frozen=True)
class ImageLimits:
    images: int
    image_bytes: int


def image_limits(project: Project | ProjectRecord, settings: Settings) -> ImageLimits:
    """A project's own limits, else the cloud's defaults."""
    return ImageLimits(
        settings.default_max_images if project.max_images is None else project.max_images,
        int(settings.default_max_image_gib * GIB) if project.max_image_bytes is None
        else project.max_image_bytes)


class ImageQuotas:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _usage(self, s: Session, project_id: str, besides: str = "") -> tuple[ImageLimits,
                                                                              int, int]:
        project = s.scalar(_LOCKED, {"project": project_id})  # one change at a time
        if project is None:
            return ImageLimits(0, 0), 0, 0
        count, size = s.execute(_USAGE, {"project": project_id, "besides": besides}).one()
        return image_limits(project, self.settings), int(count), int(size)

    def usage(self, s: Session, project_id: str) -> tuple[ImageLimits, int, int]:
        """A project's limits, its images and their bytes (read only, no lock)."""
        project = s.get(Project, project_id)
        if project is None:
            return ImageLimits(0, 0), 0, 0
        count, size = s.execute(_USAGE, {"project": project_id, "besides": ""}).one()
        return image_limits(project, self.settings), int(count), int(size)

    def check_new(self, s: Session, project_id: str | None, size: int = 0) -> None:
        """Raise unless the project may add one more image of `size` bytes."""
        if project_id is None:  # the cloud's own images
            return
        limits, count, used = self._usage(s, project_id)
        if count + 1 > limits.images:
            raise QuotaExceeded(CODE, f"You have reached the limit of {limits.images} images "
                                f"for this project ({count} exist).")
        if used + size > limits.image_bytes:
            raise QuotaExceeded(CODE, _over_bytes(limits, used, size))

    def check_size(self, s: Session, project_id: str | None, image_id: str,
                   size: int) -> None:
        """Raise unless `image_id` may hold `size` bytes beside the project's other images."""
        if project_id is None:
            return
        limits, _count, used = self._usage(s, project_id, besides=image_id)
        if used + size > limits.image_bytes:
            raise QuotaExceeded(CODE, _over_bytes(limits, used, size))


def _over_bytes(limits: ImageLimits, used: int, size: int) -> str:
    return (f"The image data exceeds the project's image storage quota of "
            f"{limits.image_bytes} bytes: {used} are used, {size} more were asked for "
            f"({max(limits.image_bytes - used, 0)} remain).")
