"""OpenStack faces: Glance metadata-definition namespaces

Revision ID: 0103_openstack_metadefs
Revises: 0102_openstack_image_members
"""

import sqlalchemy as sa
from alembic import op

revision = "0103_openstack_metadefs"
down_revision = "0102_openstack_image_members"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "os_metadef_namespaces",
        sa.Column("namespace", sa.String(80), primary_key=True),
        sa.Column("project_id", sa.String(32),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_os_metadef_namespaces_project_id", "os_metadef_namespaces",
                    ["project_id"])


def downgrade() -> None:
    op.drop_table("os_metadef_namespaces")
