"""OpenStack config drives: an ISO 9660 image labelled `config-2` holding the metadata files.

    build(Path("config-drive.iso"), {
        "openstack/latest/meta_data.json": b"{...}",
        "openstack/latest/user_data": b"#!/bin/sh ...",
        "ec2/latest/meta-data.json": b"{...}",
    })

Guests find the drive by its label (cloud-init's ConfigDrive source, cloudbase-init, the
built-in test image). Linux reads the real file names from the Rock Ridge entries, Windows
from the Joliet ones; the plain ISO 9660 names are upper-case stand-ins made unique per
directory, as genisoimage would make them. Drivers (qemu, hyperv) attach the file read-only.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pycdlib

VOLUME_LABEL = "config-2"
ISO_NAME_MAX = 30  # file names at interchange level 3 (name, dot and extension together)
ISO_DIR_MAX = 31
JOLIET_MAX = 64
_NOT_D_CHAR = re.compile(r"[^A-Z0-9_]")


class ConfigDriveError(ValueError):
    """The files cannot be laid out on a config drive (a bad path)."""


def build(out_path: Path, files: dict[str, bytes]) -> None:
    """Write the config drive holding `files` (path inside the drive -> content) to out_path.

    The file appears complete or not at all: it is written beside out_path and renamed.
    """
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, sys_ident="LINUX", vol_ident=VOLUME_LABEL,
            app_ident_str="OVERCAST", joliet=3, rock_ridge="1.09")
    names = _IsoNames()
    for path in sorted(files):
        parts = _split(path)
        for depth in range(1, len(parts)):
            names.add_directory(iso, parts[:depth])
        data = files[path]
        iso.add_fp(io.BytesIO(data), len(data), iso_path=names.file_path(parts),
                   rr_name=parts[-1], joliet_path="/" + "/".join(parts))
    out_path = Path(out_path)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        iso.write(str(tmp))
        os.replace(tmp, out_path)
    finally:
        iso.close()
        tmp.unlink(missing_ok=True)


def _split(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("/"))
    if any(p in ("", ".", "..") for p in parts):
        raise ConfigDriveError(f"config drive path {path!r} must be relative, without ..")
    for part in parts:
        if len(part) > JOLIET_MAX or "\0" in part or "\\" in part:
            raise ConfigDriveError(f"config drive path {path!r} has a bad component {part!r}")
    if len(parts) > 7:  # ISO 9660 allows eight directory levels including the root
        raise ConfigDriveError(f"config drive path {path!r} is nested too deeply")
    return parts


class _IsoNames:
    """Upper-case ISO 9660 names for the real ones, unique within each directory."""

    def __init__(self) -> None:
        self._dirs: dict[tuple[str, ...], str] = {(): ""}
        self._taken: dict[str, set[str]] = {}

    def add_directory(self, iso: pycdlib.PyCdlib, parts: tuple[str, ...]) -> None:
        if parts in self._dirs:
            return
        parent = self._dirs[parts[:-1]]
        name = self._unique(parent, _stem(parts[-1], ISO_DIR_MAX), "")
        self._dirs[parts] = f"{parent}/{name}"
        iso.add_directory(iso_path=self._dirs[parts], rr_name=parts[-1],
                          joliet_path="/" + "/".join(parts))

    def file_path(self, parts: tuple[str, ...]) -> str:
        parent = self._dirs[parts[:-1]]
        base, dot, ext = parts[-1].rpartition(".")
        if not dot or not base:
            base, ext = parts[-1], ""
        ext = _stem(ext, 8) if ext else ""
        stem = _stem(base, ISO_NAME_MAX - 1 - len(ext))
        return f"{parent}/{self._unique(parent, stem, ext)};1"

    def _unique(self, parent: str, stem: str, ext: str) -> str:
        taken = self._taken.setdefault(parent, set())
        suffix = f".{ext}" if ext else ""
        candidate, n = stem + suffix, 1
        while candidate in taken:
            tag = f"_{n}"
            candidate = stem[: max(1, len(stem) - len(tag))] + tag + suffix
            n += 1
        taken.add(candidate)
        return candidate


def _stem(name: str, limit: int) -> str:
    cleaned = _NOT_D_CHAR.sub("_", name.upper())
    return (cleaned or "_")[:limit]
