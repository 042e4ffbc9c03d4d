"""The storage backend protocol: make, grow and remove a volume's disk on this host."""

from __future__ import annotations

from typing import Protocol


class StorageBackend(Protocol):
    name: str

    def create(self, volume_id: str, size_gib: int) -> str:
        """Make the volume's blank disk of `size_gib`; return where the compute driver finds
        it (a file path for `local`). No-op (the same answer) if it exists."""

    def grow(self, volume_id: str, size_gib: int) -> None:
        """Grow a disk no running VM uses to `size_gib`. No-op if it is that large."""

    def delete(self, volume_id: str) -> None:
        """Remove the volume's disk. No-op if it is gone."""

    def exists(self, volume_id: str) -> bool: ...
