"""The image registered on the first start, so that run-instances works out of the box."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from overcast.cloud.images import ImageFiles
from overcast.cloud.service import Cloud

log = logging.getLogger("overcast.images")
BUILTIN_NAME = "overcast-testimage"


def _files_from_manifest(manifest: Path) -> tuple[ImageFiles, str]:
    data = json.loads(manifest.read_text())
    paths = [data["kernel_path"], data["ramdisk_path"], data["disk_path"]]
    size = sum(Path(p).stat().st_size for p in paths)
    files = ImageFiles(disk_path=data["disk_path"], disk_format=data["disk_format"],
                       kernel_path=data["kernel_path"], ramdisk_path=data["ramdisk_path"],
                       kernel_cmdline=data["kernel_cmdline"], size_bytes=size)
    return files, data.get("ssh_user", "root")


def ensure_builtin_image(cloud: Cloud) -> None:
    """Build (when the host can) and register the test image, once per cloud."""
    if cloud.images.count():
        return
    from overcast.images.testimage import ImageBuildError, ensure_test_image

    try:
        manifest = ensure_test_image(cloud.settings.data_dir / "images" / "builtin")
        files, user = _files_from_manifest(manifest)
    except (ImageBuildError, OSError) as exc:
        if cloud.settings.driver != "fake":
            raise SystemExit(f"error: cannot build the built-in image: {exc}") from exc
        log.warning("built-in image not built (%s); registering it without files for the "
                    "fake driver", exc)
        files, user = ImageFiles(disk_path=None), "root"
    cloud.images.register_public(
        BUILTIN_NAME, files, "Overcast's built-in test image: Debian cloud kernel, busybox, "
        "dropbear", default_user=user)
