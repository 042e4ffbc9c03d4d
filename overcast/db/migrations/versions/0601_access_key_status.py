"""Access keys that can be deactivated, found by user; home-project roles made real
assignments (a user without an explicit role on the home project had an implicit one)

Revision ID: 0601_access_key_status
Revises: 0104_openstack_image_owner
"""

import sqlalchemy as sa
from alembic import op

revision = "0601_access_key_status"
down_revision = "0104_openstack_image_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_keys") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False,
                                   server_default="Active"))
    op.create_index("ix_access_keys_user_id", "access_keys", ["user_id"])
    users = sa.table("users", sa.column("id"), sa.column("project_id"), sa.column("is_admin"))
    assignments = sa.table("os_role_assignments", sa.column("user_id"),
                           sa.column("project_id"), sa.column("role"))
    explicit = sa.select(assignments.c.user_id).where(
        assignments.c.user_id == users.c.id, assignments.c.project_id == users.c.project_id)
    role = sa.case((users.c.is_admin == sa.true(), "admin"), else_="member")
    op.execute(assignments.insert().from_select(
        ["user_id", "project_id", "role"],
        sa.select(users.c.id, users.c.project_id, role).where(~sa.exists(explicit))))


def downgrade() -> None:
    # the written home-project assignments stay: they say what the implicit ones said
    op.drop_index("ix_access_keys_user_id", "access_keys")
    with op.batch_alter_table("access_keys") as batch:
        batch.drop_column("status")
