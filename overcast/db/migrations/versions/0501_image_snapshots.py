"""images made from instances (EC2 CreateImage, Nova createImage)

Revision ID: 0501_image_snapshots
Revises: 0003_ec2_images
"""

import sqlalchemy as sa
from alembic import op

revision = "0501_image_snapshots"
down_revision = "0003_ec2_images"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("source_instance_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("state_reason", sa.Text(), nullable=True))
        batch.create_index("ix_images_source_instance_id", ["source_instance_id"])


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_index("ix_images_source_instance_id")
        batch.drop_column("state_reason")
        batch.drop_column("source_instance_id")
