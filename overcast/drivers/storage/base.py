"""The storage backend protocol: make, grow, copy and remove volumes' disks on this host."""

from __future__ import annotations

from typing import Protocol


class StorageBackend(Protocol):
    name: str

    def create(self, volume_id: str, size_gib: int, source: str | None = None) -> str:
        """Make the volume's disk of `size_gib`, blank or holding the snapshot at `source`;
        return where the compute driver finds it (a file path for `local`). No-op (the same
        answer) if it exists."""

    def grow(self, volume_id: str, size_gib: int) -> None:
        """Grow a disk no running VM uses to `size_gib`. No-op if it is that large."""

    def delete(self, volume_id: str) -> None:
        """Remove the volume's disk. No-op if it is gone."""

    def exists(self, volume_id: str) -> bool: ...

    def snapshot_path(self, snapshot_id: str) -> str:
        """Where the snapshot is kept (written there by the backend or a driver's job)."""

    def snapshot(self, volume_id: str, snapshot_id: str) -> str:
        """Copy a disk no running VM writes to its snapshot; return the snapshot's path."""

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove the snapshot. No-op if it is gone."""
