"""The config drive ISO: what a guest (Linux through Rock Ridge, Windows through Joliet) reads."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pycdlib
import pytest

from overcast.metadata.configdrive import ConfigDriveError, build

FILES = {
    "openstack/latest/meta_data.json": json.dumps(
        {"uuid": "5d3c", "public_keys": {"k1": "ssh-ed25519 AAAAC3Nz k1"}}).encode(),
    "openstack/latest/user_data": b"#!/bin/sh\necho hello\n",
    "openstack/latest/network_data.json": b'{"links": [], "networks": [], "services": []}',
    "openstack/2012-08-10/meta_data.json": b"{}",
    "ec2/latest/meta-data.json": b'{"instance-id": "i-0123"}',
}


def read_back(iso_file: Path, path: str, facility: str) -> bytes:
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_file))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, **{facility: "/" + path})
        return out.getvalue()
    finally:
        iso.close()


def test_files_readable_by_rock_ridge_and_joliet_names(tmp_path: Path) -> None:
    iso = tmp_path / "config-drive.iso"
    build(iso, FILES)
    for path, data in FILES.items():
        assert read_back(iso, path, "rr_path") == data
        assert read_back(iso, path, "joliet_path") == data
    assert [p.name for p in tmp_path.iterdir()] == ["config-drive.iso"]  # no temp file left


@pytest.mark.skipif(shutil.which("blkid") is None, reason="needs blkid (util-linux)")
def test_label_is_config_2_as_guests_look_it_up(tmp_path: Path) -> None:
    iso = tmp_path / "cd.iso"
    build(iso, FILES)
    probe = subprocess.run(["blkid", "-p", "-o", "export", str(iso)], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert "LABEL=config-2" in probe and "TYPE=iso9660" in probe


@pytest.mark.skipif(shutil.which("isoinfo") is None, reason="needs isoinfo (genisoimage)")
def test_rock_ridge_listing_shows_real_names(tmp_path: Path) -> None:
    iso = tmp_path / "cd.iso"
    build(iso, FILES)
    listing = subprocess.run(["isoinfo", "-R", "-f", "-i", str(iso)], capture_output=True,
                             text=True, check=True).stdout.split()
    assert sorted(p for p in listing if "." in p or p.endswith("user_data")) == sorted(
        "/" + p for p in FILES)


def test_names_that_clash_in_iso9660_stay_distinct(tmp_path: Path) -> None:
    files = {"dir/meta-data.json": b"dash", "dir/meta_data.json": b"underscore",
             "dir/META_DATA.JSON": b"upper"}
    iso = tmp_path / "cd.iso"
    build(iso, files)
    for path, data in files.items():
        assert read_back(iso, path, "rr_path") == data


def test_empty_drive_is_valid(tmp_path: Path) -> None:
    build(tmp_path / "cd.iso", {})
    assert (tmp_path / "cd.iso").stat().st_size > 0


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "", "a/./b", "x" * 65])
def test_bad_paths_are_refused_and_nothing_written(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigDriveError):
        build(tmp_path / "cd.iso", {bad: b"x"})
    assert list(tmp_path.iterdir()) == []
