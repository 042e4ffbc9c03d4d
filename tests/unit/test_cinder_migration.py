"""Migration 0975 gives every existing volume and snapshot a distinct UUID (the Cinder face's
ID for it) and volumes a description column (NULL for the old ones, read as ''), so rows made
before it show through Cinder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from overcast.db.engine import Database
from tests.conftest import _fresh_database
from tests.unit.test_role_migration import _upgrade

BEFORE = "0921_volumes"


def test_existing_volumes_and_snapshots_get_uuids(tmp_path: Path) -> None:
    db = Database(_fresh_database() or f"sqlite:///{tmp_path / 'o.db'}")
    _upgrade(db, BEFORE)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, account_id, created_at) "
                          "VALUES ('p1', 'home', '111111111111', :t)"), {"t": now})
        for vid in ("vol-0a", "vol-0b"):
            conn.execute(text(
                "INSERT INTO volumes (id, project_id, availability_zone, size_gib, volume_type, "
                "state, state_reason, snapshot_id, encrypted, backend, backing_path, "
                "provisioned_bytes, created_at, updated_at) VALUES (:v, 'p1', 'z', 1, 'gp2', "
                "'available', '', '', false, 'local', '', 0, :t, :t)"), {"v": vid, "t": now})
        conn.execute(text(
            "INSERT INTO volume_snapshots (id, project_id, volume_id, volume_size, description, "
            "state, state_message, backing_path, created_at) VALUES ('snap-0a', 'p1', "
            "'vol-0a', 1, '', 'completed', '', '', :t)"), {"t": now})
    db.migrate()
    with db.engine.connect() as conn:
        volumes = list(conn.execute(text("SELECT uuid, description FROM volumes")))
        snapshots = list(conn.execute(text("SELECT uuid FROM volume_snapshots")))
    uuids = [row[0] for row in [*volumes, *snapshots]]
    assert len(set(uuids)) == 3 and all(uuid.UUID(u) for u in uuids)
    assert [row[1] for row in volumes] == [None, None]
    db.dispose()
