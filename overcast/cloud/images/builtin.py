"""The image registered on the first start, so that run-instances works out of the box."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from overcast.cloud.images.images import ImageFiles, Images
from overcast.config import Settings
from overcast.images.builtin import BUILTIN_NAME, build_test_image, builtin_dir

log = logging.getLogger("overcast.images")


def _files_from_manifest(manifest: Path) -> tuple[ImageFiles, str]:
    data = json.loads(manifest.read_text())
    files = ImageFiles(disk_path=data["disk_path"], disk_format=data["disk_format"],
                       kernel_path=data.get("kernel_path"),
                       ramdisk_path=data.get("ramdisk_path"),
                       kernel_cmdline=data.get("kernel_cmdline") or "",
                       size_bytes=Path(data["disk_path"]).stat().st_size)
    return files, data.get("ssh_user", "root")


def ensure_builtin_image(images: Images, settings: Settings) -> None:
    """Build (when the host can) and register the test image, once per cloud; on later starts,
    rebuild it when its builder or ingredients changed and launch the new build from then on."""
    if images.count():
        _refresh_builtin_image(images, settings)
        return
    from overcast.images.testimage import ImageBuildError

    try:
        manifest = build_test_image(builtin_dir(settings.data_dir))
        files, user = _files_from_manifest(manifest)
    except (ImageBuildError, OSError) as exc:
        if settings.driver != "fake":
            raise SystemExit(f"error: cannot build the built-in image: {exc}") from exc
        log.warning("built-in image not built (%s); registering it without files for the "
                    "fake driver", exc)
        files, user = ImageFiles(disk_path=None), "root"
    images.register_public(
        BUILTIN_NAME, files, "Overcast's built-in test image: a disk booting SYSLINUX, the "
        "Debian cloud kernel, busybox and dropbear", default_user=user)


def _refresh_builtin_image(images: Images, settings: Settings) -> None:
    """Point the registered built-in image at the current build if it is an older one.

    Only an image built here is refreshed (not one registered without files, nor files put
    there by hand); an older disk stays, for the instances backed by it.
    """
    out = builtin_dir(settings.data_dir)
    registered = images.cloud_image_disk(BUILTIN_NAME)
    if registered is None or Path(registered).parent != out.resolve():
        return
    from overcast.images.testimage import ImageBuildError

    try:
        files, _ = _files_from_manifest(build_test_image(out))
    except (ImageBuildError, OSError) as exc:
        log.warning("built-in image not rebuilt (%s); instances keep launching %s", exc,
                    registered)
        return
    if files.disk_path != registered:
        log.info("built-in image rebuilt: new instances boot %s", files.disk_path)
        images.replace_cloud_image_files(BUILTIN_NAME, files)
