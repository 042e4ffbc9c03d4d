"""the user who launched each instance (Nova's server user_id)

Revision ID: 0007_instance_user
Revises: 0006_network_interfaces
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_instance_user"
down_revision = "0006_network_interfaces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("user_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("user_id")
