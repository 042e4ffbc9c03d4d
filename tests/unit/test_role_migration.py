"""Migration 0601 turns the implicit home-project roles into real assignments and leaves
users who had an explicit one as they were; access keys become Active."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from overcast.db.engine import MIGRATIONS, Database
from tests.conftest import _fresh_database

BEFORE = "0104_openstack_image_owner"


def _upgrade(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_home_roles_become_assignments(tmp_path: Path) -> None:
    db = Database(_fresh_database() or f"sqlite:///{tmp_path / 'o.db'}")
    _upgrade(db, BEFORE)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, account_id, created_at) "
                          "VALUES ('p1', 'home', '111111111111', :t)"), {"t": now})
        for user, admin in (("u-admin", True), ("u-member", False), ("u-reader", False)):
            conn.execute(text("INSERT INTO users (id, name, project_id, is_admin, created_at) "
                              "VALUES (:u, :u, 'p1', :a, :t)"), {"u": user, "a": admin,
                                                                 "t": now})
        conn.execute(text("INSERT INTO os_role_assignments VALUES ('u-reader', 'p1', "
                          "'reader')"))
        conn.execute(text("INSERT INTO access_keys (access_key_id, secret_encrypted, user_id, "
                          "project_id, created_at) VALUES ('AKIA1', :s, 'u-member', 'p1', "
                          ":t)"), {"s": b"x", "t": now})
    db.migrate()
    with db.engine.connect() as conn:
        found = set(conn.execute(text("SELECT user_id, project_id, role "
                                      "FROM os_role_assignments")))
        status = conn.execute(text("SELECT status FROM access_keys")).scalar()
    assert found == {("u-admin", "p1", "admin"), ("u-member", "p1", "member"),
                     ("u-reader", "p1", "reader")}
    assert status == "Active"
    db.dispose()
