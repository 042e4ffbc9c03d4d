"""Finding a project's EBS snapshots by ID (for the snapshot calls and for CreateVolume
--snapshot-id)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.db.models_volumes import VolumeSnapshot
from overcast.errors import InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed
from overcast.lifecycle import SnapshotState

SHOWN = [str(SnapshotState.PENDING), str(SnapshotState.COMPLETED), str(SnapshotState.ERROR)]


def check_snapshot_ids(ids: Sequence[str]) -> None:
    for snapshot_id in ids:
        if not is_well_formed(snapshot_id, "snap"):
            raise InvalidParameter("InvalidSnapshotID.Malformed",
                                   f'Invalid id: "{snapshot_id[:64]}" (expecting "snap-...")')


def snapshot_not_found(snapshot_id: str) -> NotFound:
    return NotFound("InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist.")


def find_snapshot(s: Session, ctx: Context, snapshot_id: str,
                  lock: bool = False) -> VolumeSnapshot:
    check_snapshot_ids([snapshot_id])
    query = select(VolumeSnapshot).where(VolumeSnapshot.id == snapshot_id,
                                         VolumeSnapshot.project_id == ctx.project_id,
                                         VolumeSnapshot.state.in_(SHOWN))
    row = s.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise snapshot_not_found(snapshot_id)
    return row
