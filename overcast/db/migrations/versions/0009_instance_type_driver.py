"""an instance type may ask for the hosts of one driver (hyperv, qemu)

Revision ID: 0009_instance_type_driver
Revises: 0008_usage_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_instance_type_driver"
down_revision = "0008_usage_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance_types") as batch:
        batch.add_column(sa.Column("driver", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instance_types") as batch:
        batch.drop_column("driver")
