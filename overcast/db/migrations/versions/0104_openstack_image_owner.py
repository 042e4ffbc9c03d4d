"""OpenStack faces: Glance's free-form image owner

Revision ID: 0104_openstack_image_owner
Revises: 0103_openstack_metadefs
"""

import sqlalchemy as sa
from alembic import op

revision = "0104_openstack_image_owner"
down_revision = "0103_openstack_metadefs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("os_image_attributes", sa.Column("owner", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_column("os_image_attributes", "owner")
