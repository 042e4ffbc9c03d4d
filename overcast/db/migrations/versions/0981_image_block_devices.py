"""Images keep their data volumes' block-device mappings (CreateImage of an instance with
data volumes, RegisterImage with snapshot mappings), as JSON

Revision ID: 0981_image_block_devices
Revises: 0961_routes
"""

import sqlalchemy as sa
from alembic import op

revision = "0981_image_block_devices"
down_revision = "0961_routes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("block_device_mappings", sa.Text(), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_column("block_device_mappings")
