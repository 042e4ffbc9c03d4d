"""config drive wanted by an image or an instance

Revision ID: 0401_config_drive
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0401_config_drive"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("images", "instances"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("config_drive", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    for table in ("images", "instances"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("config_drive")
