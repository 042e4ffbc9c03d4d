"""OpenStack faces: image members (who an image is shared with, and their answer)

Revision ID: 0102_openstack_image_members
Revises: 0101_openstack
"""

import sqlalchemy as sa
from alembic import op

revision = "0102_openstack_image_members"
down_revision = "0101_openstack"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "os_image_members",
        sa.Column("image_id", sa.String(32), sa.ForeignKey("images.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("project_id", sa.String(32),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_os_image_members_project_id", "os_image_members", ["project_id"])


def downgrade() -> None:
    op.drop_table("os_image_members")
