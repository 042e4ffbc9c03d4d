"""The image probe: what qemu-img says and what our own qcow2 header reading says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from overcast.images.importer import in_store, local_path
from overcast.images.probe import UnsafeImage, check_qcow2_header, probe


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def test_accepts_raw_and_qcow2(tmp_path: Path) -> None:
    qemu_img("create", "-q", "-f", "qcow2", str(tmp_path / "a.qcow2"), "32M")
    qemu_img("create", "-q", "-f", "raw", str(tmp_path / "a.raw"), "8M")
    assert probe(tmp_path / "a.qcow2").format == "qcow2"
    info = probe(tmp_path / "a.raw")
    assert (info.format, info.virtual_size) == ("raw", 8 * 1024**2)


def test_header_check_alone_sees_backing_and_data_files(tmp_path: Path) -> None:
    base, over, data = tmp_path / "b.qcow2", tmp_path / "o.qcow2", tmp_path / "d.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(base), "32M")
    qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(over))
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={tmp_path / 'd.raw'}",
             str(data), "32M")
    check_qcow2_header(str(base))
    with pytest.raises(UnsafeImage, match="backing file"):
        check_qcow2_header(str(over))
    with pytest.raises(UnsafeImage, match="external data file"):
        check_qcow2_header(str(data))


def test_refuses_a_raw_file_that_claims_to_be_qcow2(tmp_path: Path) -> None:
    disguised = tmp_path / "disguised.raw"
    disguised.write_bytes(b"QFI\xfb" + b"\0" * 4096)
    with pytest.raises(UnsafeImage):
        probe(disguised)


def test_refuses_devices_directories_and_missing_files(tmp_path: Path) -> None:
    for path in ("/dev/zero", str(tmp_path), str(tmp_path / "missing")):
        with pytest.raises(UnsafeImage):
            probe(path)


def test_locations(tmp_path: Path) -> None:
    assert local_path("file:///srv/img%20a.qcow2") == Path("/srv/img a.qcow2")
    assert local_path("/srv/../etc/x") == Path("/etc/x")
    for bad in ("relative.qcow2", "file://host/x", "file:///x?y=1"):
        with pytest.raises(UnsafeImage):
            local_path(bad)
    store = tmp_path / "images" / "store"
    store.mkdir(parents=True)
    (store / "ok.qcow2").write_bytes(b"x")
    (store / "link.qcow2").symlink_to("/etc/passwd")
    assert in_store(tmp_path, "ok.qcow2") == store / "ok.qcow2"
    for bad in ("../secret.key", "link.qcow2", ".hidden", "a/b", "missing.raw"):
        with pytest.raises(UnsafeImage):
            in_store(tmp_path, bad)
