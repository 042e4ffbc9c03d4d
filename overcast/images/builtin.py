"""The image registered on the first start, so that run-instances works out of the box."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from overcast.cloud.images import ImageFiles
from overcast.cloud.service import Cloud

log = logging.getLogger("overcast.images")
BUILTIN_NAME = "overcast-testimage"


def builtin_dir(data_dir: Path) -> Path:
    return data_dir / "images" / "builtin"


def build_test_image(out_dir: Path, quiet: bool = False) -> Path:
    """Build the test image unless it is up to date, with a progress bar on a terminal.

    Returns the manifest's path. Raises ImageBuildError when the host lacks an ingredient.
    """
    from overcast.images.testimage import ensure_test_image

    with tqdm(total=1, desc="test image", unit="step", file=sys.stderr,
              disable=True if quiet else None, leave=False) as bar:

        def progress(done: int, total: int, what: str) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_description(f"test image: {what}")

        return ensure_test_image(out_dir, progress)


def _files_from_manifest(manifest: Path) -> tuple[ImageFiles, str]:
    data = json.loads(manifest.read_text())
    files = ImageFiles(disk_path=data["disk_path"], disk_format=data["disk_format"],
                       kernel_path=data.get("kernel_path"),
                       ramdisk_path=data.get("ramdisk_path"),
                       kernel_cmdline=data.get("kernel_cmdline") or "",
                       size_bytes=Path(data["disk_path"]).stat().st_size)
    return files, data.get("ssh_user", "root")


def ensure_builtin_image(cloud: Cloud) -> None:
    """Build (when the host can) and register the test image, once per cloud; on later starts,
    rebuild it when its builder or ingredients changed and launch the new build from then on."""
    if cloud.images.count():
        _refresh_builtin_image(cloud)
        return
    from overcast.images.testimage import ImageBuildError

    try:
        manifest = build_test_image(builtin_dir(cloud.settings.data_dir))
        files, user = _files_from_manifest(manifest)
    except (ImageBuildError, OSError) as exc:
        if cloud.settings.driver != "fake":
            raise SystemExit(f"error: cannot build the built-in image: {exc}") from exc
        log.warning("built-in image not built (%s); registering it without files for the "
                    "fake driver", exc)
        files, user = ImageFiles(disk_path=None), "root"
    cloud.images.register_public(
        BUILTIN_NAME, files, "Overcast's built-in test image: a disk booting SYSLINUX, the "
        "Debian cloud kernel, busybox and dropbear", default_user=user)


def _refresh_builtin_image(cloud: Cloud) -> None:
    """Point the registered built-in image at the current build if it is an older one.

    Only an image built here is refreshed (not one registered without files, nor files put
    there by hand); an older disk stays, for the instances backed by it.
    """
    out = builtin_dir(cloud.settings.data_dir)
    registered = cloud.images.cloud_image_disk(BUILTIN_NAME)
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
        cloud.images.replace_cloud_image_files(BUILTIN_NAME, files)
