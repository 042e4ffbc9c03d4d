"""A cloud made before the built-in image changed boots the new build from its next start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from overcast.cloud.images.builtin import ensure_builtin_image
from overcast.cloud.images.images import ImageFiles
from overcast.images.builtin import BUILTIN_NAME, builtin_dir
from tests.conftest import in_process_cloud

pytestmark = pytest.mark.skipif(not os.path.exists("/bin/busybox"),
                                reason="needs the test image's ingredients")


def test_an_older_build_is_replaced_and_kept_on_disk(tmp_path: Path) -> None:
    cloud = in_process_cloud(tmp_path / "data").cloud
    out = builtin_dir(cloud.settings.data_dir)
    out.mkdir(parents=True)
    old = out.resolve() / "disk-0000000000000000.qcow2"
    old.write_bytes(b"an older build")
    cloud.images.register_public(BUILTIN_NAME, ImageFiles(disk_path=str(old)))
    ensure_builtin_image(cloud.images, cloud.settings)
    manifest = json.loads((out / "image.json").read_text())
    assert cloud.images.cloud_image_disk(BUILTIN_NAME) == manifest["disk_path"] != str(old)
    assert old.exists()  # instances made before are backed by it
    ensure_builtin_image(cloud.images, cloud.settings)  # up to date: nothing changes
    assert cloud.images.cloud_image_disk(BUILTIN_NAME) == manifest["disk_path"]


def test_an_image_put_elsewhere_by_hand_is_left_alone(tmp_path: Path) -> None:
    cloud = in_process_cloud(tmp_path / "data").cloud
    mine = tmp_path / "my-disk.qcow2"
    mine.write_bytes(b"mine")
    cloud.images.register_public(BUILTIN_NAME, ImageFiles(disk_path=str(mine)))
    ensure_builtin_image(cloud.images, cloud.settings)
    assert cloud.images.cloud_image_disk(BUILTIN_NAME) == str(mine)
    assert not (builtin_dir(cloud.settings.data_dir) / "image.json").exists()
