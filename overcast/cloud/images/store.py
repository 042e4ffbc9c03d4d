"""The image store's housekeeping: uploads that a dead process left behind are undone, and
the files of deleted images go once nothing uses them.

An upload writes into `.uploading-<image ID>-…` in the store and holds an exclusive flock on
it until it ends; the lock dies with its process, so an unlocked temporary file is an upload
nobody finishes. Instances' disks are overlays backed by their image's file, so a deleted
image's file stays while an instance that is not yet terminated uses the image."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select, update

from overcast.db import Database
from overcast.db.models import Image, Instance
from overcast.db.models_openstack import GlanceImage
from overcast.images.importer import store_dir
from overcast.lifecycle import State

log = logging.getLogger("overcast.images")
UPLOAD_PREFIX = ".uploading-"
_STUCK = select(GlanceImage.image_id).join(Image, Image.id == GlanceImage.image_id).where(
    GlanceImage.status == "saving", Image.source_instance_id.is_(None))
_FILES = select(Image.id, Image.disk_path, Image.kernel_path, Image.ramdisk_path,
                Image.deregistered_at.is_not(None))
_IN_USE = select(Instance.image_id).where(Instance.state != State.TERMINATED).distinct()


def _upload_of(name: str) -> str:
    """The image ID in a temporary file's name (`.uploading-ami-…-random`)."""
    return name.removeprefix(UPLOAD_PREFIX).rsplit("-", 1)[0]


def _held(path: Path) -> bool:
    """Whether a live upload holds the file's lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True  # renamed into place or removed by its upload meanwhile: not ours
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class ImageStore:
    def __init__(self, db: Database, data_dir: Path | None) -> None:
        self.db = db
        self.data_dir = data_dir

    @property
    def path(self) -> Path | None:
        return store_dir(self.data_dir) if self.data_dir is not None else None

    @contextmanager
    def spool(self, image_id: str) -> Iterator[tuple[int, Path]]:
        """A new temporary file for an upload of `image_id`, locked while the block runs;
        removed on an exception unless renamed away."""
        assert self.path is not None
        self.path.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.path, prefix=f"{UPLOAD_PREFIX}{image_id}-")
        path = Path(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd, path
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)

    def recover_uploads(self) -> int:
        """Undo uploads nobody finishes: their temporary files go and their images, stuck in
        `saving`, are `queued` again. Safe while other uploads run. Returns how many."""
        if self.path is None or not self.path.is_dir():
            return 0
        with self.db.session() as s:  # first the stuck-looking images, then the files: an
            stuck = set(s.scalars(_STUCK))  # upload locks its file before it marks `saving`
        live = set()
        for temp in self.path.glob(f"{UPLOAD_PREFIX}*"):
            if _held(temp):
                live.add(_upload_of(temp.name))
            else:
                log.info("removing %s, left by an upload that did not finish", temp.name)
                temp.unlink(missing_ok=True)
        dead = stuck - live
        if dead:
            with self.db.session() as s:
                s.execute(update(GlanceImage).where(GlanceImage.image_id.in_(dead),
                                                    GlanceImage.status == "saving")
                          .values(status="queued"))
                s.execute(update(Image).where(Image.id.in_(dead)).values(size_bytes=0))
            log.info("images %s: their uploads died; queued again", ", ".join(sorted(dead)))
        return len(dead)

    def collect(self) -> list[Path]:
        """Remove the store's files of deleted images that no image still registered and no
        instance not yet terminated uses; return what went."""
        if self.path is None:
            return []
        with self.db.read() as s:
            rows = s.execute(_FILES).all()
            used = set(s.scalars(_IN_USE))
        keep: set[str] = set()
        drop: set[str] = set()
        for image_id, disk, kernel, ramdisk, deleted in rows:
            files = {p for p in (disk, kernel, ramdisk) if p}
            (drop if deleted and image_id not in used else keep).update(files)
        store = self.path.resolve()
        removed = []
        for name in sorted(drop - keep):
            path = Path(name)
            if path.parent.resolve() == store and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
                log.info("removed %s: its image is deleted and nothing uses it", path.name)
        return removed
