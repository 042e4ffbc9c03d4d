"""EC2 images: location, root device, deregistration, launch permissions

Revision ID: 0003_ec2_images
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_ec2_images"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("image_location", sa.Text(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("root_device_name", sa.String(length=64), nullable=False,
                                   server_default="/dev/xvda"))
        batch.add_column(sa.Column("deregistered_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "image_launch_permissions",
        sa.Column("image_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("image_id", "account_id"),
    )
    op.create_index("ix_image_launch_permissions_account_id", "image_launch_permissions",
                    ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_image_launch_permissions_account_id", "image_launch_permissions")
    op.drop_table("image_launch_permissions")
    with op.batch_alter_table("images") as batch:
        batch.drop_column("deregistered_at")
        batch.drop_column("root_device_name")
        batch.drop_column("image_location")
